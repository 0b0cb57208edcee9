"""IIIF out: each item's image service and Presentation 3.0 Manifest, and a Collection of all.

Written into the site at build time (cheap: the pyramids are hard links into the cache), so a
new ``--base-url`` rewrites only ids. The JSON is made and validated by ``iiif-prezi3``: every
object is checked against the Presentation 3.0 model as it is built.

Layout (docs/site-format.md):
  iiif/collection.json                 Collection of every item's Manifest
  iiif/<key>/manifest.json             the item's Manifest (one Canvas)
  iiif/<key>/info.json                 its Image API 3.0 level-0 service (id: <base>iiif/<key>)
  iiif/<key>/{region}/{size}/0/default.jpg   tiles and whole-image sizes
"""
from __future__ import annotations

import html
import itertools
import os
import re
import urllib.parse
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict
from multiprocessing import get_context
from pathlib import Path, PurePosixPath

from tqdm import tqdm

from . import UserError
from .cache import json_text, key, link_or_copy, read_json, write_bytes
from .dates import year_of
from .decode import image_size
from .metadata import Record
from .parallel import parallel_map
from .terminal import plain

DEFAULT_BASE_URL = "http://127.0.0.1:8080/"  # where `npm start` serves the site
# rights: only these vocabularies are allowed by Presentation 3.0 (and its registered extensions)
_RIGHTS = re.compile(r"^https?://(creativecommons\.org/(licenses|publicdomain)/|rightsstatements\.org/(vocab|page)/)"
                     r"[A-Za-z0-9._/-]*$", re.I)
_SUMMARY = re.compile(r"^(description|summary|caption|abstract)$", re.I)
_SLUG = re.compile(r"[^A-Za-z0-9_-]+")


def base_url(given: str | None) -> str:
    """The published address of the site (http or https), ending in '/'."""
    url = (given or DEFAULT_BASE_URL).strip()
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise UserError(f"--base-url {given!r}: give the http(s) address where the site will be "
                        f"published, such as https://example.org/collection/")
    return url if url.endswith("/") else url + "/"


def item_key(rel: str) -> str:
    """The item's folder under iiif/: readable (from the file name), unique (a hash of the path)
    and safe in any URL."""
    slug = _SLUG.sub("-", PurePosixPath(rel).stem).strip("-")[:40] or "item"
    return f"{slug}-{key(rel)[:8]}"


def rights_uri(value: str) -> str | None:
    """A Creative Commons or RightsStatements.org URI in the form IIIF uses (http, /vocab/)."""
    v = value.strip()
    if not _RIGHTS.match(v):
        return None
    v = re.sub(r"^https://", "http://", v, flags=re.I)
    return v.replace("rightsstatements.org/page/", "rightsstatements.org/vocab/")


def as_text_value(text: str) -> str:
    """A plain-text value that IIIF clients would take for HTML (it starts with '<' and ends
    with '>') is wrapped in an escaped <span>, so it shows as the text it is."""
    t = text.strip()
    return f"<span>{html.escape(t)}</span>" if t.startswith("<") and t.endswith(">") else t


def attach(c, digests: dict[str, str], pyr, base_url_given: str | None) -> None:
    """Plan the IIIF files of the site.Collection ``c`` (``pyr``: the pyramids stage's result,
    None when --full-res 0) and say in each item's JSON where they are, for the viewer."""
    base = base_url(base_url_given)
    folders, paths, items, longest = [], [], [], []
    for rel in c.ids:
        k = item_key(rel)
        d = digests[rel]
        size = pyr.sizes.get(d) if pyr else None
        folders.append(pyr.folders[d] if size else None)
        paths.append(pyr.paths[d] if size else [])
        items.append({"manifest": f"iiif/{k}/manifest.json",
                      "image": {"info": f"iiif/{k}/info.json", "width": size[0], "height": size[1]}
                      if size else None})
        longest.append(max(size) if size else 0)
    c.iiif = {"site": {"collection": "iiif/collection.json", "base_url": base, "full": longest},
              "items": items, "folders": folders, "paths": paths, "base": base, "given": bool(base_url_given),
              "pyramids": pyr}


class _Texts:
    """Language maps in the one language of the build (--lang, else 'none')."""

    def __init__(self, lang: str | None):
        self.lang = lang or "none"

    def map(self, *values: str) -> dict[str, list[str]]:
        return {self.lang: [as_text_value(v) for v in values]}

    def pair(self, label: str, value: str, markup: bool = False):
        """A label/value pair; ``markup``: the value is HTML we made (escaped), kept as HTML."""
        from iiif_prezi3 import KeyValueString
        return KeyValueString(label=self.map(label), value={self.lang: [value]} if markup else self.map(value))


def _image_body(service: str, info: dict):
    """The painting body: the largest whole image the level-0 service has, with the service."""
    from iiif_prezi3 import AnnotationBody, ServiceV3
    w, h = info["width"], info["height"]
    sizes = [(s["width"], s["height"]) for s in info.get("sizes", [])]
    size = "max" if (w, h) in sizes else "{},{}".format(*max(sizes)) if sizes else "max"
    bw, bh = (w, h) if size == "max" else max(sizes)
    return AnnotationBody(id=f"{service}/full/{size}/0/default.jpg", type="Image", format="image/jpeg",
                          width=bw, height=bh,
                          service=[ServiceV3(id=service, type="ImageService3", profile="level0")])


def _preview_body(url: str, size: tuple[int, int]):
    from iiif_prezi3 import AnnotationBody
    return AnnotationBody(id=url, type="Image", format="image/jpeg", width=size[0], height=size[1])


def manifest(base: str, k: str, record: Record, fields: list[dict], thumb: str, body, size: tuple[int, int],
             texts: _Texts, credit: str, credit_url: str) -> str:
    """One item's Manifest as JSON-LD text (validated by iiif-prezi3 as it is built)."""
    from iiif_prezi3 import Annotation, AnnotationBody, AnnotationPage, Canvas, Homepage, Manifest
    root = f"{base}iiif/{k}"
    values = [(f, record.values[i] if i < len(record.values) else "") for i, f in enumerate(fields)]
    canvas = Canvas(id=f"{root}/canvas/1", width=size[0], height=size[1], items=[AnnotationPage(
        id=f"{root}/page/1", items=[Annotation(id=f"{root}/annotation/1", motivation="painting", body=body,
                                               target=f"{root}/canvas/1")])])
    extra: dict = {}
    summary = next((v for f, v in values if v and _SUMMARY.match(f["key"])), None)
    if summary:
        extra["summary"] = texts.map(summary)
    year = next((y for f, v in values if f["kind"] == "year" and v and (y := year_of(v))), None)
    if year:
        extra["navDate"] = f"{year:04d}-01-01T00:00:00Z"
    rights = next((r for _, v in values if v and (r := rights_uri(v))), None)
    if rights:
        extra["rights"] = rights
    if credit:
        if credit_url:  # the IIIF-allowed HTML subset: a link
            link = f'<a href="{html.escape(credit_url)}">{html.escape(credit)}</a>'
            extra["requiredStatement"] = texts.pair("Attribution", link, markup=True)
        else:
            extra["requiredStatement"] = texts.pair("Attribution", credit)
    if record.url:
        extra["homepage"] = [Homepage(id=urllib.parse.urljoin(base, record.url), type="Text",
                                      label=texts.map(record.title), format="text/html")]
    m = Manifest(id=f"{root}/manifest.json", label=texts.map(record.title),
                 metadata=[texts.pair(f["label"], v) for f, v in values if v] or None,
                 thumbnail=[AnnotationBody(id=thumb, type="Image", format="image/jpeg")],
                 items=[canvas], **extra)
    return m.jsonld()


COLLECTION_PAGE = 10_000  # Manifests one Collection file lists; more: a Collection of such Collections


Ref = tuple[str, str, str | None]  # (id, label, thumbnail url: None for a Collection)


def collection(cid: str, title: str, description: str, credit: str, texts: _Texts, refs: Sequence[Ref]) -> str:
    """A Collection listing ``refs``: (manifest id, label, thumbnail url) each, or (collection
    id, label, None) for a Collection of Collections."""
    from iiif_prezi3 import AnnotationBody, Collection, CollectionRef, ManifestRef
    extra: dict = {}
    if description:
        extra["summary"] = texts.map(description)
    if credit:
        extra["requiredStatement"] = texts.pair("Attribution", credit)
    c = Collection(id=cid, label=texts.map(title), items=[
        ManifestRef(id=rid, type="Manifest", label=texts.map(label),
                    thumbnail=[AnnotationBody(id=thumb, type="Image", format="image/jpeg")])
        if thumb else CollectionRef(id=rid, type="Collection", label=texts.map(label))
        for rid, label, thumb in refs], **extra)
    return c.jsonld()


def write_collections(out: Path, base: str, c, texts: _Texts, refs: Sequence[Ref]) -> None:
    """iiif/collection.json: every Manifest, or above COLLECTION_PAGE of them, a Collection of
    Collections of up to COLLECTION_PAGE each (iiif/collection/N.json), so that no client has to
    load one file listing a million items."""
    top = f"{base}iiif/collection.json"
    if len(refs) > COLLECTION_PAGE:
        pages: list[Ref] = []
        for n, s in enumerate(range(0, len(refs), COLLECTION_PAGE)):
            part = refs[s:s + COLLECTION_PAGE]
            label = f"{c.title}: {s + 1:,}-{s + len(part):,}"
            cid = f"{base}iiif/collection/{n}.json"
            write_bytes(out / "iiif" / "collection" / f"{n}.json",
                        collection(cid, label, "", c.credit, texts, part).encode("utf-8"))
            pages.append((cid, label, None))
        refs = pages
    write_bytes(out / "iiif" / "collection.json",
                collection(top, c.title, c.description, c.credit, texts, refs).encode("utf-8"))


def link_service(src: Path, dst: Path, service_id: str, paths: list[str]) -> dict:
    """Link a cached pyramid's tiles (``paths``, from its note) into the new site folder and
    write its info.json with the published id. The fewest file-system calls: at 10,000 items
    the folders and links are most of the site stage. Plain writes: the folder is unpublished."""
    dirs = {dst} | {dst / p for path in paths for p in PurePosixPath(path).parents if p.name}
    for d in sorted(dirs, key=lambda d: len(d.parts)):
        d.mkdir()
    for path in paths:
        link_or_copy(src / path, dst / path)
    info = read_json(src / "info.json")
    info["id"] = service_id
    (dst / "info.json").write_text(json_text(info, compact=False), encoding="utf-8")
    return info


def write(out: Path, c, lang: str | None = None, cache: Path | None = None) -> dict:
    """Write iiif/ into the site folder ``out`` as planned by ``attach``: each item's image
    service (linked from its cached pyramid; without one, its preview is the image), Manifest,
    and the Collection. Returns what the report says about them. Manifests are cached under
    ``cache`` by everything they are made of, so a rebuild remakes only those that changed."""
    texts, base, folders, paths = _Texts(lang), c.iiif["base"], c.iiif["folders"], c.iiif["paths"]
    keys = [item_key(rel) for rel in c.ids]
    (out / "iiif").mkdir(parents=True, exist_ok=True)
    infos = [folders[i] and link_service(folders[i], out / "iiif" / keys[i], f"{base}iiif/{keys[i]}", paths[i])
             for i in range(len(keys))]
    sizes = list(parallel_map(lambda i: (infos[i]["width"], infos[i]["height"]) if infos[i]
                              else image_size(c.previews[i]), range(len(keys))))  # headers read on threads
    refs: list[Ref] = []
    kept: list[Path] = []
    todo: list[tuple] = []  # the Manifests to make: (where, key, record, thumbnail, service info, size)
    for i, (k, info, size) in enumerate(zip(keys, infos, sizes)):
        thumb = f"{base}thumbs/{c.previews[i].name}"
        mkey = key(MANIFEST_VERSION, base, k, asdict(c.records[i]), c.fields, thumb, info or str(c.previews[i]),
                   size, lang, c.credit, c.credit_url)
        kept.append(cache / "manifests" / mkey[:2] / f"{mkey}.json" if cache else out / "iiif" / k / "manifest.json")
        if not kept[-1].exists():  # made (and validated) only when something it is made of changed
            todo.append((str(kept[-1]), k, c.records[i], thumb, info, size))
        refs.append((f"{base}iiif/{k}/manifest.json", c.records[i].title, thumb))
    _make_manifests(todo, (base, c.fields, lang, c.credit, c.credit_url))
    for k, path in zip(keys, kept):
        if path != out / "iiif" / k / "manifest.json":
            (out / "iiif" / k).mkdir(parents=True, exist_ok=True)
            link_or_copy(path, out / "iiif" / k / "manifest.json")
    write_collections(out, base, c, texts, refs)
    return _report(c.iiif, len(refs))


MANIFEST_VERSION = 1  # in the manifests' cache key: raise it when manifest() changes what it writes
MANIFEST_POOL_MIN = 5_000  # fewer are made in this process: starting the pool costs ~1 s (0.5 ms a Manifest)
MANIFEST_CHUNK = 1_000     # Manifests per pool task


def _make_manifests(todo: list[tuple], common: tuple) -> None:
    """Make and write the Manifests ``todo``; many of them on a process pool (iiif-prezi3 is pure
    Python: 0.5 ms each, 8 minutes of one core at a million items). Spawned, not forked: the
    compressors' threads are running."""
    chunks = [todo[s:s + MANIFEST_CHUNK] for s in range(0, len(todo), MANIFEST_CHUNK)]
    workers = min(os.cpu_count() or 1, len(chunks))
    if len(todo) < MANIFEST_POOL_MIN or workers < 2:
        for chunk in chunks:
            _make_chunk(common, chunk)
        return
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
        for _ in tqdm(pool.map(_make_chunk, itertools.repeat(common), chunks), total=len(chunks),
                      desc="manifests", unit="chunk", leave=False):
            pass


def _make_chunk(common: tuple, chunk: list[tuple]) -> None:
    base, fields, lang, credit, credit_url = common
    texts = _Texts(lang)
    for where, k, record, thumb, info, size in chunk:
        body = _image_body(info["id"], info) if info else _preview_body(thumb, size)
        text = manifest(base, k, record, fields, thumb, body, size, texts, credit, credit_url)
        write_bytes(Path(where), text.encode("utf-8"))


def _report(plan: dict, manifests: int) -> dict:
    pyr = plan["pyramids"]
    services = sum(f is not None for f in plan["folders"])
    out = {"manifests": manifests, "services": services, "base_url": plan["base"]}
    lines = []
    if pyr is not None:
        out.update(pyramids_made=pyr.made, pyramids_bytes=pyr.bytes, pyramids_files=pyr.files,
                   pyramids_failed=pyr.failed)
        lines.append(f"Full resolution: {services} of {manifests} items, {pyr.bytes / 1e6:,.1f} MB in "
                     f"{pyr.files:,} files ({pyr.made} cut by this build).")
        lines += [f"  - no full-resolution view for {plain(rel)}: {plain(why)}"
                  for rel, why in list(pyr.failed.items())[:20]]
    lines.append(f"IIIF: {manifests} manifests and iiif/collection.json, ids under {plan['base']}"
                 + ("" if plan["given"] else " (the preview address: set --base-url URL to the address "
                                             "where the site will be published)"))
    out["summary"] = lines
    return out
