"""IIIF in: read Presentation 2.x / 3.0 Manifests and Collections as a collection to build.

Each canvas's image becomes an item: its image is fetched at a bounded size (from the image
service, else the static resource) into the cache, and its label, summary, metadata pairs,
navDate, rights, requiredStatement and homepage become a metadata row. The result is an image
folder and a metadata CSV in the cache, which the build then reads like ``--images`` and
``--metadata``, or beside them (see ``localise``).

Everything read is untrusted: only http(s) URLs are fetched (and local files named on the
command line are read), documents and images are size-limited, HTML in values is reduced to
text, and a canvas that fails is skipped and reported by id with its reason. Fetching is polite:
at most ``per_host`` requests at once per host, timeouts, retries with exponential backoff,
``Retry-After`` honoured; every image and image-service description is cached by URL, so an
interrupted run resumes where it stopped.
"""
from __future__ import annotations

import csv
import dataclasses
import email.utils
import io
import os
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from tqdm import tqdm

from . import UserError, __version__
from .cache import key, link_or_copy, read_json, write_bytes, write_json
from .dates import year_of
from .intake import BESIDE
from .metadata import Table, _filename_column, read_table

FETCH_PX = 1024                # images are fetched at most this large (longest side), where the server scales
MAX_JSON_BYTES = 32 << 20      # a manifest larger than this is refused
MAX_IMAGE_BYTES = 64 << 20     # an image file larger than this is refused
MAX_DEPTH = 5                  # collections nested deeper are not followed
MAX_MANIFESTS = 10_000         # manifests read per run, over all sources
MAX_TEXT = 10_000              # characters kept of one value
PER_HOST = 4                   # requests at once to one host
USER_AGENT = f"Salon/{__version__} (IIIF harvester; static site generator)"
_IMAGE_MAGIC = {b"\xff\xd8\xff": ".jpg", b"\x89PNG": ".png", b"GIF8": ".gif", b"II*\x00": ".tif",
                b"MM\x00*": ".tif", b"\x00\x00\x00\x0cjP": ".jp2", b"\xffO\xffQ": ".jp2"}
_SLUG = re.compile(r"[^A-Za-z0-9_-]+")
_TAG = re.compile(r"</?[A-Za-z][^>]*>")
_LEVEL = re.compile(r"level([012])")


class FetchError(Exception):
    """Why a URL could not be fetched (the message is the reason shown to the user)."""


# ------------------------------------------------------------------ text from untrusted values

class _TextOnly(HTMLParser):
    """Collects the text of an HTML fragment; block breaks become spaces, scripts vanish."""
    BREAKS = {"br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self.hidden += 1
        elif tag in self.BREAKS:
            self.parts.append(" ")

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self.hidden = max(0, self.hidden - 1)
        elif tag in self.BREAKS:
            self.parts.append(" ")

    def handle_data(self, data):
        if not self.hidden:
            self.parts.append(data)


def plain_text(value: Any) -> str:
    """A value as one line of plain text: HTML reduced to its text, control characters and
    runs of spaces collapsed, at most MAX_TEXT characters."""
    text = value if isinstance(value, str) else "" if value is None else str(value)
    if _TAG.search(text):
        parser = _TextOnly()
        parser.feed(text[:MAX_TEXT * 4])
        parser.close()
        text = "".join(parser.parts)
    text = "".join(" " if ord(c) < 32 or 127 <= ord(c) < 160 else c for c in text)
    return " ".join(text.split())[:MAX_TEXT]


def _list(x: Any) -> list:
    return x if isinstance(x, list) else [] if x is None else [x]


def _dict(x: Any) -> dict:
    return x if isinstance(x, dict) else {}


def _lang_choice(keys: list[str], lang: str | None) -> str:
    """--lang, else 'none', else the first: a language tag matches its regional forms too."""
    low = [k.lower() for k in keys]
    if lang:
        want = lang.lower()
        for i, k in enumerate(low):
            if k == want or k.split("-")[0] == want.split("-")[0]:
                return keys[i]
    for none in ("none", "@none"):
        if none in low:
            return keys[low.index(none)]
    return keys[0]


def pick(value: Any, lang: str | None) -> str:
    """The text of a label or value: a v3 language map, a v2 string, {"@value", "@language"}
    or a list of those, in the chosen language; several values joined by '; '."""
    if isinstance(value, dict) and "@value" not in value:  # v3 language map
        keys = [k for k in value if isinstance(k, str)]
        if not keys:
            return ""
        return "; ".join(t for v in _list(value[_lang_choice(keys, lang)])[:100] if (t := plain_text(v)))
    items = _list(value)
    tagged = [v for v in items if isinstance(v, dict) and "@value" in v]
    if tagged:
        langs = [str(v.get("@language") or "none") for v in tagged]
        chosen = _lang_choice(langs, lang)
        items = [v["@value"] for v, tag in zip(tagged, langs) if tag == chosen]
    return "; ".join(t for v in items[:100] if isinstance(v, (str, int, float)) and (t := plain_text(v)))


# ------------------------------------------------------------------ polite fetching

class _HttpOnlyRedirects(urllib.request.HTTPRedirectHandler):
    """Follow redirects to http(s) only (urllib would follow ftp too)."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        if urllib.parse.urlsplit(newurl).scheme.lower() not in ("http", "https"):
            raise urllib.error.HTTPError(newurl, code, "redirect to a non-http(s) URL refused", headers, fp)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def is_http(url: Any) -> bool:
    return isinstance(url, str) and urllib.parse.urlsplit(url).scheme.lower() in ("http", "https") \
        and bool(urllib.parse.urlsplit(url).netloc)


class Fetcher:
    """HTTP GET with per-host limits, retries and a cache by URL.

    ``rewrite`` maps a URL to the one actually requested (tests serve remote hosts locally);
    the cache and every check use the original URL."""

    def __init__(self, cache: Path, per_host: int = PER_HOST, timeout: float = 30.0, retries: int = 4,
                 backoff: float = 1.0, max_wait: float = 120.0, rewrite: Callable[[str], str] | None = None):
        self.folder = cache / "iiif" / "http"
        self.per_host, self.timeout, self.retries = per_host, timeout, retries
        self.backoff, self.max_wait, self.rewrite = backoff, max_wait, rewrite
        self._hosts: dict[str, threading.BoundedSemaphore] = {}
        self._lock = threading.Lock()
        self._opener = urllib.request.build_opener(_HttpOnlyRedirects)

    def _slot(self, url: str) -> threading.BoundedSemaphore:
        host = urllib.parse.urlsplit(url).netloc.lower()
        with self._lock:
            return self._hosts.setdefault(host, threading.BoundedSemaphore(self.per_host))

    def get(self, url: str, limit: int) -> bytes:
        """The body of ``url`` (at most ``limit`` bytes), retrying what may pass."""
        if not is_http(url):
            raise FetchError(f"not an http(s) URL: {url[:200]!r}")
        target = self.rewrite(url) if self.rewrite else url
        for attempt in range(self.retries + 1):
            wait = self.backoff * 2 ** attempt
            try:
                with self._slot(url):
                    return self._once(target, limit)
            except urllib.error.HTTPError as e:
                if e.code not in (408, 425, 429, 500, 502, 503, 504) or attempt == self.retries:
                    raise FetchError(f"HTTP {e.code} {e.reason}"[:200]) from None
                wait = max(wait, _retry_after(e.headers.get("Retry-After")) or 0)
                if wait > self.max_wait:
                    raise FetchError(f"HTTP {e.code}: the server asks to wait {wait:.0f} s "
                                     f"(more than {self.max_wait:.0f} s)") from None
            except (urllib.error.URLError, OSError) as e:  # connection refused, reset, timed out
                if attempt == self.retries:
                    reason = getattr(e, "reason", None) or e
                    raise FetchError(f"cannot fetch: {reason}"[:200]) from None
            time.sleep(wait)
        raise FetchError("cannot fetch")  # not reached

    def _once(self, url: str, limit: int) -> bytes:
        accept = "application/ld+json, application/json, image/*;q=0.9, */*;q=0.5"
        req = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, "Accept": accept})
        with self._opener.open(req, timeout=self.timeout) as resp:
            size = resp.headers.get("Content-Length")
            if size and size.isdigit() and int(size) > limit:
                raise FetchError(f"too large: {int(size):,} bytes (limit {limit:,})")
            data = resp.read(limit + 1)
        if len(data) > limit:
            raise FetchError(f"too large: over {limit:,} bytes")
        return data

    def _path(self, url: str, suffix: str) -> Path:
        k = key(url)
        return self.folder / k[:2] / f"{k}{suffix}"

    def json(self, url: str, fresh: bool = False) -> Any:
        """A JSON document. Cached by URL; ``fresh`` fetches again (manifests may change) and
        falls back to the cached copy when the fetch fails."""
        path = self._path(url, ".json")
        if not fresh and path.is_file():
            return read_json(path)
        try:
            data = self.get(url, MAX_JSON_BYTES)
        except FetchError:
            if path.is_file():
                return read_json(path)
            raise
        doc = parse_json(data)
        write_bytes(path, data)
        return doc

    def image(self, url: str) -> Path:
        """An image file, cached by URL; refused unless its bytes are an image."""
        done = self._path(url, ".done.json")
        note = read_json(done)
        if note and (self.folder / note["file"]).is_file():
            return self.folder / note["file"]
        data = self.get(url, MAX_IMAGE_BYTES)
        suffix = next((s for magic, s in _IMAGE_MAGIC.items() if data.startswith(magic)), None)
        if suffix is None and data[8:12] == b"WEBP":
            suffix = ".webp"
        if suffix is None:
            kind = "HTML or text" if data.lstrip()[:1] in (b"<", b"{") else "unknown content"
            raise FetchError(f"not an image ({kind})")
        path = self._path(url, suffix)
        write_bytes(path, data)
        write_json(done, {"url": url, "file": path.relative_to(self.folder).as_posix()})
        return path


def _retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (seconds or an HTTP date)."""
    if not value:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    try:
        return max(0.0, email.utils.parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def parse_json(data: bytes) -> Any:
    import json
    try:
        return json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise FetchError(f"not JSON ({str(e)[:80] or 'nested too deeply'})") from None


# ------------------------------------------------------------------ reading manifests

@dataclass
class ImageRef:
    """Where a canvas's image may be had: an image service and/or a static file."""
    service: str | None = None      # service base URL (without /info.json)
    version: int = 3
    level: int = 0
    static: str | None = None       # the painting body's own URL
    refused: str | None = None      # the body's URL when it is no http(s) URL (file:, data:, …)


@dataclass
class CanvasItem:
    id: str                         # canvas id (reported when it fails)
    manifest: str                   # the manifest's id
    image: ImageRef
    title: str
    pairs: dict[str, str]           # metadata label -> value
    derived: dict[str, str]         # summary, date, rights, attribution (+ its label), homepage


@dataclass
class Parsed:
    kind: str                       # Manifest | Collection | unknown
    canvases: list[CanvasItem] = field(default_factory=list)
    references: list[str] = field(default_factory=list)   # collection members to fetch
    embedded: list[dict] = field(default_factory=list)    # collection members given inline
    label: str = ""
    summary: str = ""
    credit: str = ""
    warnings: list[str] = field(default_factory=list)


def _type(obj: dict) -> str:
    t = obj.get("type") or obj.get("@type") or ""
    t = t if isinstance(t, str) else ""
    return t.split(":")[-1]


def _id(obj: Any) -> str:
    if isinstance(obj, str):
        return obj
    obj = _dict(obj)
    v = obj.get("id") or obj.get("@id") or ""
    return v if isinstance(v, str) else ""


def _service(body: dict) -> tuple[str | None, int, int]:
    """The image service of a v2 or v3 body: (base URL, API version, compliance level)."""
    for s in _list(body.get("service")):
        s = _dict(s)
        stype = str(s.get("type") or s.get("@type") or "")
        profile = " ".join(str(p) for p in _list(s.get("profile")) if isinstance(p, str))
        context = " ".join(str(c) for c in _list(s.get("@context")) if isinstance(c, str))
        if "ImageService" not in stype and "iiif.io/api/image" not in profile + context:
            continue
        sid = _id(s)
        if not is_http(sid):
            continue
        version = 3 if stype == "ImageService3" or "image/3" in context else 2
        level = _LEVEL.search(profile)
        return sid.rstrip("/"), version, int(level.group(1)) if level else 0
    return None, 3, 0


def _image_of(body: Any, depth: int = 0) -> ImageRef | None:
    """The image of a painting body (Image, a Choice's first image, a SpecificResource's source)."""
    if depth > 4:
        return None
    for b in _list(body)[:100]:
        b = _dict(b)
        t = _type(b)
        if t in ("Choice", "oa:Choice"):
            found = _image_of(b.get("items") or [b.get("default"), *_list(b.get("item"))], depth + 1)
        elif t == "SpecificResource":
            found = _image_of(b.get("source"), depth + 1)
        elif t in ("Image", "dctypes:Image") or str(b.get("format", "")).startswith("image/"):
            service, version, level = _service(b)
            static = _id(b) if is_http(_id(b)) else None
            found = ImageRef(service, version, level, static) if service or static \
                else ImageRef(refused=_id(b) or "(none)")
        else:
            found = None
        if found:
            return found
    return None


def _canvas_image(canvas: dict) -> ImageRef | None:
    if "images" in canvas:  # v2
        for anno in _list(canvas.get("images")):
            found = _image_of(_dict(anno).get("resource"))
            if found:
                return found
        return None
    for page in _list(canvas.get("items")):
        for anno in _list(_dict(page).get("items")):
            anno = _dict(anno)
            if "painting" not in [str(m).split(":")[-1] for m in _list(anno.get("motivation"))]:
                continue
            found = _image_of(anno.get("body"))
            if found:
                return found
    return None


def _fields(doc: dict, lang: str | None) -> tuple[dict[str, str], dict[str, str]]:
    """(metadata pairs, derived values: summary, date, rights, requiredStatement, homepage)."""
    pairs: dict[str, str] = {}
    for entry in _list(doc.get("metadata"))[:500]:
        entry = _dict(entry)
        label, value = pick(entry.get("label"), lang), pick(entry.get("value"), lang)
        if label and value and label not in pairs:
            pairs[label] = value
    derived: dict[str, str] = {}
    summary = pick(doc.get("summary", doc.get("description")), lang)
    if summary:
        derived["summary"] = summary
    nav = doc.get("navDate")
    if isinstance(nav, str) and year_of(nav):
        derived["date"] = nav[:10] if not nav[4:10] == "-01-01" else nav[:4]  # a year alone, when that is all it says
    rights = next((r for r in _list(doc.get("rights", doc.get("license"))) if is_http(_id(r))), None)
    if rights:
        derived["rights"] = _id(rights)
    statement = _dict(doc.get("requiredStatement"))
    if statement:
        derived["attribution"] = pick(statement.get("value"), lang)
        derived["attribution label"] = pick(statement.get("label"), lang) or "Attribution"
    elif doc.get("attribution"):
        derived["attribution"] = pick(doc.get("attribution"), lang)
    homepage = next((_id(h) for h in _list(doc.get("homepage", doc.get("related"))) if is_http(_id(h))), None)
    if homepage:
        derived["homepage"] = homepage
    return pairs, {k: v for k, v in derived.items() if v}


def parse(doc: Any, lang: str | None = None, canvases: str = "first") -> Parsed:
    """What one document holds: a Manifest's image canvases as items, or a Collection's members.
    Never raises on odd content: what cannot be read is left out with a warning."""
    doc = _dict(doc)
    kind = _type(doc)
    out = Parsed(kind=kind if kind in ("Manifest", "Collection") else "unknown")
    out.label = pick(doc.get("label"), lang)
    out.summary = pick(doc.get("summary", doc.get("description")), lang)
    if kind == "Collection":
        members = [*_list(doc.get("items")), *_list(doc.get("collections")), *_list(doc.get("manifests")),
                   *_list(doc.get("members"))]
        for m in members:
            m = _dict(m)
            if _type(m) in ("Manifest", "Collection") and ("items" in m or "sequences" in m):
                out.embedded.append(m)
            elif is_http(_id(m)):
                out.references.append(_id(m))
            elif m:
                out.warnings.append(f"collection member {_id(m)[:100]!r} is not an http(s) URL")
        return out
    if kind != "Manifest":
        out.warnings.append(f"{_id(doc)[:100] or 'a document'}: not a IIIF Manifest or Collection "
                            f"(type {str(doc.get('type') or doc.get('@type'))[:40]!r})")
        return out
    pairs, derived = _fields(doc, lang)
    out.credit = derived.get("attribution", "")
    all_canvases = [c for s in _list(doc.get("sequences"))[:1] for c in _list(_dict(s).get("canvases"))] \
        if "sequences" in doc else _list(doc.get("items"))
    found = [(c, img) for c in map(_dict, all_canvases) if (img := _canvas_image(c))]
    if not found:
        out.warnings.append(f"{_id(doc)[:200]}: no canvas with an image")
    chosen = found[:1] if canvases == "first" else found
    for n, (canvas, img) in enumerate(chosen, 1):
        title = out.label or pick(canvas.get("label"), lang) or _id(canvas)
        if len(chosen) > 1:
            title = f"{title}: {pick(canvas.get('label'), lang) or f'image {n}'}"
        c_pairs, c_derived = _fields(canvas, lang)
        out.canvases.append(CanvasItem(_id(canvas) or f"{_id(doc)}#canvas{n}", _id(doc), img, title,
                                       {**c_pairs, **pairs}, {**c_derived, **derived}))
    return out


# ------------------------------------------------------------------ choosing the image URL

def image_urls(ref: ImageRef, fetcher: Fetcher, px: int = FETCH_PX) -> list[str]:
    """URLs to try, best first: a size the service can make (or lists), then the static file."""
    urls: list[str] = []
    if ref.service:
        try:
            info = _dict(fetcher.json(ref.service + "/info.json"))
        except FetchError:
            info = {}
        url = _service_url(ref, info, px)
        if url:
            urls.append(url)
    if ref.static and ref.static not in urls:
        urls.append(ref.static)
    if ref.service and not urls:
        urls.append(f"{ref.service}/full/{'max' if ref.version == 3 else 'full'}/0/default.jpg")
    return urls


def _service_url(ref: ImageRef, info: dict, px: int) -> str | None:
    width, height = info.get("width"), info.get("height")
    if not (isinstance(width, int) and isinstance(height, int) and width > 0 and height > 0):
        return None
    base = ref.service
    context = str(info.get("@context", ""))  # the description's own version, else the manifest's word
    v3 = "image/3" in context if "iiif.io/api/image" in context else ref.version == 3
    profile = " ".join(str(p) for p in _list(info.get("profile")) if isinstance(p, str))
    level = int(m.group(1)) if (m := _LEVEL.search(profile)) else ref.level
    scale = min(1.0, px / max(width, height))
    for limit, side in ((info.get("maxWidth"), width), (info.get("maxHeight"), height)):
        if isinstance(limit, int) and limit > 0:
            scale = min(scale, limit / side)
    if isinstance(info.get("maxArea"), int) and info["maxArea"] > 0:
        scale = min(scale, (info["maxArea"] / (width * height)) ** 0.5)
    full = "max" if v3 else "full"
    if scale >= 1.0:
        return f"{base}/full/{full}/0/default.jpg"
    if level >= 1:
        w, h = max(1, int(width * scale)), max(1, int(height * scale))
        return f"{base}/full/{w},{h}/0/default.jpg" if v3 else f"{base}/full/{w},/0/default.jpg"
    sizes = sorted((s["width"], s["height"]) for s in map(_dict, _list(info.get("sizes")))
                   if isinstance(s.get("width"), int) and isinstance(s.get("height"), int))
    if not sizes:
        return None  # level 0 without listed sizes: the static file, else the full image
    fitting = [s for s in sizes if max(s) <= px]
    w, h = fitting[-1] if fitting else sizes[0]
    return f"{base}/full/{w},{h}/0/default.jpg" if v3 else f"{base}/full/{w},/0/default.jpg"


# ------------------------------------------------------------------ the harvest

@dataclass
class Harvest:
    folder: Path                    # image folder (generated names)
    csv: Path                       # metadata CSV: filename, title, fields…
    table: Table
    failed: dict[str, str] = field(default_factory=dict)    # canvas or source id -> reason
    warnings: list[str] = field(default_factory=list)
    label: str = ""                 # of the first source: the collection's name
    summary: str = ""
    credit: str = ""                # the attribution every item shares, if any
    has_homepage: bool = False


def _read_source(source: str, fetcher: Fetcher) -> Any:
    """A source named on the command line: an http(s) URL or a local file."""
    if is_http(source):
        return fetcher.json(source, fresh=True)
    path = Path(source)
    if not path.is_file():
        raise UserError(f"--iiif {source!r}: not an http(s) URL nor a file")
    if path.stat().st_size > MAX_JSON_BYTES:
        raise UserError(f"--iiif {source}: larger than {MAX_JSON_BYTES >> 20} MB")
    try:
        return parse_json(path.read_bytes())
    except FetchError as e:
        raise UserError(f"--iiif {source}: {e}") from None


def gather(sources: list[str], fetcher: Fetcher, lang: str | None, canvases: str,
           max_depth: int = MAX_DEPTH, max_manifests: int = MAX_MANIFESTS) -> tuple[list[CanvasItem], Harvest]:
    """Read every source and the collections' members (breadth first, members fetched in
    parallel), up to ``max_depth`` levels and ``max_manifests`` manifests."""
    got = Harvest(Path(), Path(), Table([], []))
    items: list[CanvasItem] = []
    seen: set[str] = set(sources)  # each document read once, however often it is named
    level: list[tuple[str, Any]] = []
    for source in sources:
        try:
            level.append((source, _read_source(source, fetcher)))
        except FetchError as e:
            got.failed[source] = f"not read: {e}"
    manifests = 0
    with ThreadPoolExecutor(8) as pool:
        for depth in range(max_depth + 1):
            refs: list[str] = []
            for where, doc in level:
                p = parse(doc, lang, canvases)
                if not got.label and p.label:
                    got.label, got.summary = p.label, p.summary
                got.warnings += p.warnings
                if p.kind == "Manifest":
                    manifests += 1
                    if manifests > max_manifests:
                        got.warnings.append(f"stopped after {max_manifests} manifests")
                        return items, got
                items += p.canvases
                for member in p.embedded:
                    level.append((_id(member) or where, member))
                refs += [r for r in p.references if r not in seen]
                seen.update(p.references)
            if refs and depth == max_depth:
                got.warnings.append(f"{len(refs)} collection members deeper than {max_depth} levels not read")
                break
            level = []
            for ref, doc in zip(refs, pool.map(lambda r: _try(lambda: fetcher.json(r, fresh=True)), refs)):
                if isinstance(doc, FetchError):
                    got.failed[ref] = f"manifest or collection not read: {doc}"
                else:
                    level.append((ref, doc))
            if not level:
                break
    return items, got


def _try(fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except FetchError as e:
        return e


def _fetch(item: CanvasItem, fetcher: Fetcher, px: int) -> Path | str:
    """The canvas's image file, or why none could be had."""
    reasons = []
    for url in image_urls(item.image, fetcher, px):
        try:
            return fetcher.image(url)
        except FetchError as e:
            reasons.append(f"{e} ({url[:120]})")
    if item.image.refused:
        return f"not an http(s) URL: {item.image.refused[:100]!r}"
    return "; ".join(reasons) or "no image URL"


def file_name(item: CanvasItem, suffix: str) -> str:
    slug = _SLUG.sub("-", item.title).strip("-")[:40] or "item"
    return f"{slug}-{key(item.manifest, item.id)[:10]}{suffix}"


def _rows(items: list[tuple[CanvasItem, str]], got: Harvest, share_credit: bool = True) -> Table:
    """The metadata table: metadata pairs as columns, then the derived values that say
    something the pairs do not (a Salon site read back gives its own fields, no more).
    An attribution every item shares becomes the collection's credit (``share_credit``)."""
    credits = {it.derived.get("attribution", "") for it, _ in items}
    shared = credits.pop() if len(credits) == 1 and share_credit else ""
    got.credit = shared
    columns = ["filename", "title"]
    rows = []
    for it, name in items:
        row = {"filename": name, "title": it.title}
        row.update({(f"{k} (IIIF)" if k.lower() in ("filename", "title") else k): v for k, v in it.pairs.items()})
        values = set(it.pairs.values())
        years = {year_of(v) for v in values} - {None}
        for what, v in it.derived.items():
            if what == "attribution label" or (what == "attribution" and v == shared) or v in values:
                continue
            if what == "date" and year_of(v) in years:
                continue
            if what == "rights" and _same_rights(v, values):
                continue
            row.setdefault(it.derived.get("attribution label", "Attribution") if what == "attribution" else what, v)
        for c in row:
            if c not in columns:
                columns.append(c)
        rows.append(row)
    got.has_homepage = "homepage" in columns
    return Table(columns, [{c: r.get(c, "") for c in columns} for r in rows])


def _same_rights(uri: str, values: set[str]) -> bool:
    norm = lambda u: re.sub(r"^https?://", "", u.strip().rstrip("/").lower())  # noqa: E731
    return norm(uri) in {norm(v) for v in values}


def csv_of(folder: Path) -> Path:
    """The metadata CSV of a harvested image folder."""
    return folder.parent / "metadata.csv"


def harvest(sources: list[str], cache: Path, canvases: str = "first", lang: str | None = None,
            fetcher: Fetcher | None = None, px: int = FETCH_PX, workers: int = 8,
            share_credit: bool = True) -> Harvest:
    """Fetch the images of every source's canvases into the cache and make the folder + CSV."""
    fetcher = fetcher or Fetcher(cache)
    items, got = gather(sources, fetcher, lang, canvases)
    set_dir = cache / "iiif" / "sets" / key(sorted(sources), canvases, lang, px)
    got.folder = set_dir / "images"
    got.csv = csv_of(got.folder)
    done: list[tuple[CanvasItem, str]] = []
    names: set[str] = set()
    with ThreadPoolExecutor(workers) as pool:
        results = pool.map(lambda it: _fetch(it, fetcher, px), items)
        for it, res in tqdm(zip(items, results), total=len(items), desc="iiif images", unit="img", leave=False):
            if isinstance(res, str):
                got.failed[it.id] = res
                continue
            name = file_name(it, res.suffix)
            if name in names:  # the same canvas listed twice
                continue
            names.add(name)
            target = got.folder / name
            if not target.exists() or os.stat(target).st_ino != os.stat(res).st_ino:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.unlink(missing_ok=True)
                link_or_copy(res, target)
            done.append((it, name))
    for old in got.folder.glob("*") if got.folder.is_dir() else []:
        if old.name not in names:  # from an earlier run whose sources held more
            old.unlink()
    got.table = _rows(done, got, share_credit)
    _write_csv(got.csv, got.table)
    return got


def _write_csv(path: Path, table: Table) -> None:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=table.columns, lineterminator="\n")
    w.writeheader()
    w.writerows(table.rows)
    write_bytes(path, buf.getvalue().encode("utf-8"))


def localise(s: Any, rep: Any, fetcher: Fetcher | None = None) -> Any:
    """Settings ``s`` with its --iiif sources harvested into an image folder and a CSV in the
    cache. Alone, they stand for --images and --metadata; beside --images, the folder is read
    as ``iiif/`` in the image folder (``beside``) and its rows join the CSV's (``rows_beside``).
    Failures go into the report ``rep``."""
    if s.metadata and not s.images:
        raise UserError("--metadata describes the files of --images; with --iiif alone the fields come "
                        "from the manifests (give --images with its --metadata to add a local folder)")
    got = harvest(list(s.iiif), Path(s.cache), s.iiif_canvases, s.lang, fetcher, share_credit=not s.images)
    rep.skipped.update({f"IIIF {k}": v for k, v in got.failed.items()})
    rep.warnings += [f"IIIF: {w}" for w in got.warnings]
    if not got.table.rows and not s.images:
        raise UserError("\n".join(["no image could be read from the IIIF sources:",
                                   *[f"  {k}: {v}" for k, v in list(got.failed.items())[:20]],
                                   *[f"  {w}" for w in got.warnings[:20]]]))
    url = s.url or ("homepage" if got.has_homepage else None)
    if s.images:  # the collection is the user's: its name, description and credit are not the partner's
        return dataclasses.replace(s, url=url, beside=str(got.folder) if got.table.rows else None)
    return dataclasses.replace(
        s, images=str(got.folder), metadata=str(got.csv), filename_column="filename",
        title=s.title or "title", url=url, name=s.name or got.label or None,
        description=s.description or got.summary, credit=s.credit or got.credit)


def rows_beside(table: Table, beside: str, filename_column: str, title: str | None, url: str | None) -> Table:
    """The CSV's rows, then those of the IIIF items read beside them (their file names under
    ``iiif/``, as intake names them); the columns of both, the CSV's first. The IIIF title and
    homepage go into the column --title / --url names, when that is a column of the CSV."""
    theirs = read_table(csv_of(Path(beside)))
    fn = _filename_column(table.columns, filename_column) if table.columns else filename_column
    rename = {"filename": fn, "title": title if title in table.columns else "title",
              "homepage": url if url in table.columns else "homepage"}
    rows = [{rename.get(c, c): v for c, v in row.items()} for row in theirs.rows]
    for row in rows:
        row[fn] = BESIDE + row[fn]
    columns = list(table.columns) + [c for c in (rename.get(c, c) for c in theirs.columns) if c not in table.columns]
    return Table(columns, [*table.rows, *rows])
