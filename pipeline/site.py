"""Site: render the viewer and write the collection's data files into a site folder."""
from __future__ import annotations

import os
import shutil
import unicodedata
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from . import UserError
from .cache import link_or_copy, write_bytes, write_json
from .metadata import Record, year_of

PROJECT = Path(__file__).resolve().parent.parent
TEMPLATES = PROJECT / "templates"
OPENSEADRAGON = PROJECT / "node_modules" / "openseadragon" / "build" / "openseadragon"


@dataclass
class Collection:
    """Everything the site shows, item i in every list being the same item."""
    id: str
    title: str
    description: str
    credit: str
    credit_url: str
    fields: list[dict]
    ids: list[str]                  # image paths relative to the image folder
    records: list[Record]
    previews: list[Path]            # cached preview file of each item
    cells: np.ndarray               # grid cell of each item
    xy: np.ndarray                  # t-SNE position of each item, in [0, 1]
    similar: np.ndarray             # (N, k) neighbour indices, -1 for none
    scores: np.ndarray              # (N, k) cosine similarities
    cols: int
    rows: int
    cell: tuple[int, int]
    image_search: dict | None = None  # the exported files' description (pipeline/image_search.py)


def fold(text: str) -> str:
    """Lower-case and strip accents, so search is case- and accent-insensitive."""
    nfkd = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in nfkd if not unicodedata.combining(c))


def link_tree(src: Path, dst: Path) -> None:
    """Mirror a folder with hard links (copies where links are impossible)."""
    shutil.copytree(src, dst, copy_function=link_or_copy, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("vips-properties.xml"))



def _thumb_name(preview: Path) -> str:
    return f"thumbs/{preview.name}"


def collection_json(c: Collection, chunk: int) -> dict:
    n = len(c.ids)
    facets, years = {}, {}
    for f_i, f in enumerate(c.fields):
        vals = [r.values[f_i] if f_i < len(r.values) else "" for r in c.records]
        if f["kind"] == "category":
            values = sorted({v for v in vals if v})
            code = {v: i for i, v in enumerate(values)}
            facets[f["key"]] = {"values": values, "codes": [code.get(v, -1) for v in vals]}
        elif f["kind"] == "year":
            years[f["key"]] = [year_of(v) for v in vals]
    return {
        "schema": 1, "id": c.id, "title": c.title, "description": c.description,
        "credit": c.credit, "credit_url": c.credit_url, "count": n,
        "grid": {"cols": c.cols, "rows": c.rows, "cell": list(c.cell)},
        "dzi": "tiles/mosaic.dzi", "chunk_size": chunk, "fields": c.fields,
        "items": {"cell": [int(v) for v in c.cells],
                  "title": [r.title for r in c.records],
                  "xy": [round(float(v), 4) for v in c.xy.reshape(-1)]},
        "facets": facets, "years": years, "search": "data/search.json", "image_search": c.image_search,
    }


def item_json(c: Collection, i: int) -> dict:
    return {"id": c.ids[i], "url": c.records[i].url, "thumb": _thumb_name(c.previews[i]),
            "values": c.records[i].values,
            "similar": [[int(j), round(float(s), 3)] for j, s in zip(c.similar[i], c.scores[i]) if j >= 0]}


def search_text(c: Collection) -> list[str]:
    text_fields = [i for i, f in enumerate(c.fields) if f["kind"] in ("text", "category", "year")]
    return [fold(" ".join([r.title, *(r.values[i] for i in text_fields if i < len(r.values))]))
            for r in c.records]


def write(c: Collection, tiles_dir: Path, out: Path, chunk: int = 1000) -> None:
    """Write the complete site into ``out`` (an empty or missing folder)."""
    import jinja2
    if not OPENSEADRAGON.is_dir():
        raise UserError("OpenSeadragon is missing: run `npm install` in the project folder")
    out.mkdir(parents=True, exist_ok=True)
    link_tree(tiles_dir, out / "tiles")
    (out / "thumbs").mkdir(exist_ok=True)
    for p in set(c.previews):
        link_or_copy(str(p), str(out / _thumb_name(p)))
    shutil.copytree(TEMPLATES / "assets", out / "assets", dirs_exist_ok=True)
    shutil.copytree(OPENSEADRAGON, out / "assets" / "openseadragon", dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("*.map", "openseadragon.js"))
    data = out / "data"
    write_json(data / "collection.json", collection_json(c, chunk))
    write_json(data / "search.json", search_text(c))
    for k, start in enumerate(range(0, len(c.ids), chunk)):
        items = [item_json(c, i) for i in range(start, min(start + chunk, len(c.ids)))]
        write_json(data / "items" / f"{k}.json", {"start": start, "items": items})
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                             undefined=jinja2.StrictUndefined)
    html = env.get_template("index.html.j2").render(
        collection={"id": c.id, "title": c.title, "description": c.description, "credit": c.credit,
                    "credit_url": c.credit_url, "count": len(c.ids)},
        image_search=bool(c.image_search))
    write_bytes(out / "index.html", html.encode("utf-8"))


@contextmanager
def staging_dir(out: Path) -> Iterator[Path]:
    """A fresh sibling folder to build the site in; removed if the build fails there."""
    _clean_stale(out)
    staging = out.with_name(f".{out.name}.building-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _clean_stale(out: Path) -> None:
    """Remove what killed builds left beside ``out``; if one died mid-swap, put the old site back."""
    for p in sorted(out.parent.glob(f".{out.name}.*-*")):
        kind, _, pid = p.name[len(out.name) + 2:].rpartition("-")
        if kind not in ("building", "old") or not pid.isdigit() or _alive(int(pid)):
            continue
        if kind == "old" and not out.exists():
            p.rename(out)
        else:
            shutil.rmtree(p, ignore_errors=True)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def publish(staging: Path, out: Path) -> None:
    """Replace ``out`` with the finished ``staging`` folder by two renames, so a visitor sees
    the old site or the new one, never a mix; if the second rename fails, the old comes back."""
    old = out.with_name(f".{out.name}.old-{os.getpid()}")
    if out.exists():
        out.rename(old)
    try:
        staging.rename(out)
    except BaseException:
        if old.exists():
            old.rename(out)
        raise
    shutil.rmtree(old, ignore_errors=True)
