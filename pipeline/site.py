"""Site: render the viewer and write the collection's data files into a site folder."""
from __future__ import annotations

import glob
import itertools
import json
import os
import shutil
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import UserError, __version__, regions, textindex
from .cache import json_text, link_or_copy, write_bytes, write_json
from .columns import Columns
from .dates import year_range
from .metadata import Record
from .rules import FOLD_MAP

PROJECT = Path(__file__).resolve().parent.parent
TEMPLATES = PROJECT / "templates"
OPENSEADRAGON = PROJECT / "node_modules" / "openseadragon" / "build" / "openseadragon"
MINISEARCH = PROJECT / "node_modules" / "minisearch"  # text search (assets/js/textsearch.js)
NODE_MODULES = PROJECT / "node_modules"


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
    fit: str = "contain"            # how each cell shows its image (--resize): contain | fill
    image_search: dict | None = None  # the exported files' description (pipeline/image_search.py)
    projection: str = "tsne"        # what made xy: tsne | umap
    layouts: dict | None = None     # timeline, geo, custom layouts (pipeline/layouts.py)
    iiif: dict | None = None          # {"site": for collection.json, "items": one dict per item} (pipeline/iiif_out.py)
    regions: dict | None = None       # named regions of the map (pipeline/regions.py)


def fold(text: str) -> str:
    """Search folding, the rule in rules.json that the page applies to queries too: NFKD,
    lower-case, the special letters mapped (ß -> ss, ł -> l, ...), every combining mark removed."""
    lowered = unicodedata.normalize("NFKD", text).lower().translate(FOLD_MAP)
    return "".join(c for c in lowered if not unicodedata.category(c).startswith("M"))


def link_tree(src: Path, dst: Path) -> None:
    """Mirror a folder with hard links (copies where links are impossible)."""
    shutil.copytree(src, dst, copy_function=link_or_copy, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("vips-properties.xml"))



def _thumb_name(preview: Path) -> str:
    return f"thumbs/{preview.name}"


def collection_json(c: Collection, chunk: int, cols: Columns) -> dict:
    """data/collection.json: per-item arrays are references to ``cols``' files (pipeline/columns.py),
    named by position, never by CSV column."""
    n = len(c.ids)
    facets, years, year_ranges = {}, {}, {}
    for f_i, f in enumerate(c.fields):
        vals = [r.values[f_i] if f_i < len(r.values) else "" for r in c.records]
        if f["kind"] == "category":
            values = sorted({v for v in vals if v})
            code = {v: i for i, v in enumerate(values)}
            facets[f["key"]] = {"values": values, "codes": cols.add(f"facet-{f_i}", [code.get(v, -1) for v in vals],
                                                                    "int32")}
        elif f["kind"] == "year":  # one parse (pipeline/dates.py) for the filter, the timeline and the panel
            ranges = [year_range(v) for v in vals]
            years[f["key"]] = cols.add(f"year-{f_i}", [r.year if r else None for r in ranges], "float32")
            year_ranges[f["key"]] = cols.add(f"year-ranges-{f_i}", {str(i): [r.earliest, r.latest]
                                                                   for i, r in enumerate(ranges)
                                                                   if r and r.earliest != r.latest}, "json")
    iiif = c.iiif["site"] if c.iiif else None
    if iiif:
        iiif = {**iiif, "full": cols.add("iiif-full", iiif["full"], "int32")}
    return {
        "schema": 2, "id": c.id, "title": c.title, "description": c.description,
        "credit": c.credit, "credit_url": c.credit_url, "count": n,
        "grid": {"cols": c.cols, "rows": c.rows, "cell": list(c.cell), "fit": c.fit},
        "dzi": "tiles/mosaic.dzi", "chunk_size": chunk, "fields": c.fields,
        "items": {"cell": cols.add("cell", c.cells, "int32"),
                  "title": cols.add("title", [r.title for r in c.records], "json"),
                  "xy": cols.add("xy", c.xy.reshape(-1), "uint16")},
        "facets": facets, "years": years, "year_ranges": year_ranges, "projection": c.projection,
        "layouts": _layout_columns(c.layouts or {}, cols), "search": "data/search.json",
        "image_search": c.image_search, "text_index": textindex.FILE,
        "regions": regions.FILE if c.regions else None, "iiif": iiif,
    }


def _layout_columns(layouts: dict, cols: Columns) -> dict:
    """Each layout's positions (and a map's places) as columns: integer cells or, for --layout, fractions."""
    out = {}
    for k, (name, spec) in enumerate(layouts.items()):
        spec = dict(spec)
        whole = all(float(v).is_integer() for v in spec["pos"])
        spec["pos"] = cols.add(f"layout-{k}", spec["pos"], "int32" if whole else "float32")
        if "places" in spec:
            spec["places"] = cols.add(f"layout-{k}-places", spec["places"], "json")
        out[name] = spec
    return out


def item_json(c: Collection, i: int) -> dict:
    return {"id": c.ids[i], "url": c.records[i].url, "thumb": _thumb_name(c.previews[i]),
            "values": c.records[i].values,
            "similar": [[int(j), round(float(s), 3)] for j, s in zip(c.similar[i], c.scores[i]) if j >= 0],
            **(c.iiif["items"][i] if c.iiif else {})}


def search_text(c: Collection) -> list[str]:
    text_fields = [i for i, f in enumerate(c.fields) if f["kind"] in ("text", "category", "year")]
    return [fold(" ".join([r.title, *(r.values[i] for i in text_fields if i < len(r.values))]))
            for r in c.records]


def write(c: Collection, tiles_dir: Path, out: Path, chunk: int = 1000) -> None:
    """Write the complete site into ``out`` (an empty or missing folder)."""
    import jinja2
    if not OPENSEADRAGON.is_dir() or not (MINISEARCH / "dist" / "es" / "index.js").is_file():
        raise UserError("OpenSeadragon or MiniSearch is missing: run `npm install` in the project folder")
    out.mkdir(parents=True, exist_ok=True)
    link_tree(tiles_dir, out / "tiles")
    (out / "thumbs").mkdir(exist_ok=True)
    for p in set(c.previews):
        link_or_copy(str(p), str(out / _thumb_name(p)))
    shutil.copytree(TEMPLATES / "assets", out / "assets", dirs_exist_ok=True)
    shutil.copytree(OPENSEADRAGON, out / "assets" / "openseadragon", dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("*.map", "openseadragon.js"))
    (out / "assets" / "minisearch").mkdir(exist_ok=True)
    for src, name in ((MINISEARCH / "dist" / "es" / "index.js", "index.js"), (MINISEARCH / "LICENSE.txt", "LICENSE.txt")):
        shutil.copyfile(src, out / "assets" / "minisearch" / name)
    if any(spec.get("kind") == "geo" for spec in (c.layouts or {}).values()):
        vendor_world(out / "assets" / "world")
    data = out / "data"
    cols = Columns()
    write_json(data / "collection.json", collection_json(c, chunk, cols))
    cols.write(out)
    write_json(data / "search.json", search_text(c))
    textindex.write(out, c.fields, c.records)
    if c.regions:
        regions.write(out, c.regions)
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


def vendor_world(dst: Path) -> None:
    """The places layout's world outline and what draws it (assets/js/geo.js), from npm: world-atlas
    (Natural Earth land, public domain), d3-geo with its d3-array, topojson-client; all ISC."""
    files = {"land-110m.json": "world-atlas/land-110m.json", "d3-array.js": "d3-array/dist/d3-array.min.mjs",
             **{f"LICENSE-{p}": f"{p}/LICENSE" for p in ("world-atlas", "d3-geo", "d3-array", "topojson-client")}}
    if not all((NODE_MODULES / f).is_file() for f in [*files.values(), "d3-geo/dist/d3-geo.min.mjs"]):
        raise UserError("world-atlas, d3-geo or topojson-client is missing: run `npm install` in the project folder")
    (dst / "topojson-client").mkdir(parents=True, exist_ok=True)
    for name, src in files.items():
        shutil.copyfile(NODE_MODULES / src, dst / name)
    for module in (NODE_MODULES / "topojson-client" / "src").glob("*.js"):  # ES modules, relative imports
        shutil.copyfile(module, dst / "topojson-client" / module.name)
    # d3-geo's one bare import made relative: the page has no import map (its CSP allows no inline script)
    geo = (NODE_MODULES / "d3-geo/dist/d3-geo.min.mjs").read_text(encoding="utf-8")
    if geo.count('from"d3-array"') != 1:
        raise UserError("d3-geo's build is not the one Salon pins (package.json): run `npm ci`")
    write_bytes(dst / "d3-geo.js", geo.replace('from"d3-array"', 'from"./d3-array.js"').encode("utf-8"))


# --- Output safety: Salon replaces only a folder it made itself (see docs/threat-model.md) ---

MARKER = ".salon-site"  # in every site Salon writes: what proves Salon may replace the folder


def write_marker(folder: Path) -> None:
    """Mark ``folder`` as a site Salon made (deterministic: no time, no pid). Written in place, not
    through a temporary file: killed mid-write, the folder holds only a partial marker, which
    ``_ours`` still recognises."""
    (folder / MARKER).write_text(json_text({"tool": "salon", "version": __version__,
                                            "note": "written by Salon; a later build may replace this folder"}),
                                 encoding="utf-8")


def is_salon_site(folder: Path) -> bool:
    """True when ``folder`` holds the marker of a site Salon built."""
    marker = folder / MARKER
    try:
        if marker.is_symlink() or not marker.is_file():
            return False
        return json.loads(marker.read_bytes()[:4096]).get("tool") == "salon"
    except (OSError, ValueError, AttributeError):
        return False


def split_images(images: str) -> tuple[Path, str]:
    """--images as (folder, glob pattern below it): a folder and "", or a glob's fixed leading part and the rest."""
    if os.path.isdir(images):
        return Path(os.path.realpath(images)), ""
    parts = Path(images).parts
    fixed = list(itertools.takewhile(lambda part: glob.escape(part) == part, parts))
    return Path(os.path.realpath(Path(*fixed) if fixed else ".")), "/".join(parts[len(fixed):])


def input_folder(images: str) -> Path:
    """The folder named by --images (for a glob, its fixed leading part)."""
    return split_images(images)[0]


_CACHE = "the cache folder"  # the one guarded folder --out may not even lie inside: the cache prunes itself


def check_output(out: Path, images: str, cache: Path, inputs: dict[str, str | None]) -> None:
    """Refuse, before any work, an --out that publishing would wrongly replace: one that is or
    holds what the build reads (``inputs``: label -> path), the current or home folder, or that
    lies inside the cache; or a folder with content Salon did not write."""
    target = Path(os.path.realpath(out))
    guarded = [("the root of the file system", target.anchor), ("the current folder", os.getcwd()),
               ("your home folder", str(Path.home())), ("the image folder", str(input_folder(images))),
               *inputs.items(), (_CACHE, str(cache))]
    problems: list[tuple[int, str]] = []
    for label, path in guarded:
        if not path or not (os.path.exists(path) or label == _CACHE):  # the cache may come later
            continue
        real = Path(os.path.realpath(path))
        if real == target:
            problems.append((0, f"is {label}"))
        elif real.is_relative_to(target):
            problems.append((1, f"contains {label} ({real})"))
        elif label == _CACHE and target.is_relative_to(real):
            problems.append((2, f"is inside {label} ({real})"))
    if problems:
        raise UserError(f"--out {out} {min(problems, key=lambda p: p[0])[1]}. Salon replaces the whole --out folder, so it "
                        f"must be a new or empty folder, or a site Salon built: choose another, e.g. --out site")
    check_replaceable(out)


def check_replaceable(out: Path) -> None:
    """Refuse to replace ``out`` unless it is missing, empty or a site Salon built."""
    if out.is_symlink():
        raise UserError(f"--out {out} is a symbolic link: give the folder itself (Salon replaces it whole)")
    if not out.exists():
        return
    if not out.is_dir():
        raise UserError(f"--out {out} is a file, not a folder: choose a new or empty folder")
    try:
        empty = _empty(out)
    except OSError as e:
        raise UserError(f"--out {out}: cannot read the folder ({e.strerror})") from None
    if not empty and not is_salon_site(out):
        raise UserError(f"--out {out} holds files Salon did not write (it has no {MARKER} file from an "
                        f"earlier build), and publishing replaces the whole folder, so Salon refuses. Choose "
                        f"a new or empty folder, or a site Salon built (a site from a Salon version without "
                        f"the marker: delete it yourself first).")


def _ours(folder: Path) -> bool:
    """A leftover Salon can prove it made: a real folder holding the marker, or one holding
    nothing but a marker file, whole or partly written (a build killed while marking it)."""
    try:
        return not folder.is_symlink() and folder.is_dir() and (is_salon_site(folder) or _only_marker(folder))
    except OSError:
        return False


def _empty(folder: Path) -> bool:
    with os.scandir(folder) as entries:
        return next(entries, None) is None


def _only_marker(folder: Path) -> bool:
    marker = folder / MARKER
    return _empty(folder) or (os.listdir(folder) == [MARKER] and marker.is_file() and not marker.is_symlink())


def _remove(folder: Path) -> None:
    """Delete a folder that ``_ours`` accepted, its marker last: a deletion cut short (the build
    doing it killed) leaves a folder that still proves it is Salon's, so the next build finishes it."""
    if is_salon_site(folder):
        for entry in os.listdir(folder):
            if entry != MARKER:
                path = folder / entry
                if path.is_dir() and not path.is_symlink():
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    path.unlink(missing_ok=True)
        shutil.rmtree(folder, ignore_errors=True)  # the marker, last
        return
    (folder / MARKER).unlink(missing_ok=True)
    os.rmdir(folder)  # fails harmlessly if something else appeared in it since


@contextmanager
def staging_dir(out: Path) -> Iterator[Path]:
    """A fresh sibling folder, marked as Salon's, to build the site in; removed unless published."""
    _clean_stale(out)
    staging = out.with_name(f".{out.name}.building-{os.getpid()}")
    if staging.exists() or staging.is_symlink():
        if not _ours(staging):
            raise UserError(f"{staging} is in the way and Salon did not make it: move it away")
        _remove(staging)
    staging.mkdir(parents=True)
    try:
        write_marker(staging)  # first, so a killed build's leftover is provably ours
        yield staging
    finally:
        if _ours(staging):  # still there: the build failed before publishing it
            _remove(staging)


def _clean_stale(out: Path) -> None:
    """Remove what killed builds left beside ``out``; if one died mid-swap, put the old site back.
    Only folders Salon can prove it made (marker or empty) are touched, never a user's look-alike."""
    for p in sorted(out.parent.glob(f".{glob.escape(out.name)}.*-*")):
        kind, _, pid = p.name[len(out.name) + 2:].rpartition("-")
        if kind not in ("building", "old") or not pid.isdigit() or _alive(int(pid)) or not _ours(p):
            continue
        if kind == "old" and not out.exists() and not out.is_symlink():
            p.rename(out)
        else:
            try:
                _remove(p)
            except OSError:
                pass  # not empty any more: left alone


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
    the old site or the new one, never a mix; if the second rename fails, the old comes back.
    ``out`` is checked again here: files put there during the build are never deleted."""
    check_replaceable(out)
    old = out.with_name(f".{out.name}.old-{os.getpid()}")
    if out.exists():
        out.rename(old)
    try:
        staging.rename(out)
    except BaseException:
        if old.exists():
            old.rename(out)
        raise
    if _ours(old):
        _remove(old)
