"""Pre-compressed copies of a site's large files: ``FILE.br`` (Brotli) and ``FILE.gz`` (gzip) beside
``FILE``, so a static host that serves them (``npm start``: http-server ``--brotli --gzip``; nginx
``gzip_static``/``brotli_static``; Apache MultiViews) sends a fraction of the bytes, compressed
once, harder than a server compresses on the fly, instead of on every request. The originals stay for hosts that do not.

Brotli's best setting (quality 11) takes 30 s of CPU for the 14 MB WebAssembly runtime, for 14 %
fewer bytes than quality 9 (3.6 s), so files of 1 MB or more get quality 9, smaller ones 11. Each
compressed copy is cached under the SHA-256 of the original's content: a rebuild reuses it.
"""
from __future__ import annotations

import gzip
import hashlib
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from .cache import link_or_copy, write_bytes
from .parallel import parallel_map

MIN_BYTES = 16 * 1024      # smaller files gain little (http-server compresses nothing on the fly)
SUFFIXES = {".onnx", ".wasm", ".bin", ".json", ".mjs", ".js", ".css", ".csv", ".svg", ".html", ".xml"}
SKIP_DIRS = {"tiles", "thumbs"}  # JPEG/PNG/WebP only: not walked
SHALLOW_DIRS = {"iiif": ("*", "collection/*")}  # one small folder an item below: only these files
BIG = 1 << 20             # from this size on, Brotli quality 9 instead of 11
KEEP_RATIO = 0.95          # a copy is written only when it saves at least 5 %


def _brotli(raw: bytes) -> bytes | None:
    try:
        import brotli
    except ImportError:  # pinned in requirements.txt; without it only .gz copies are written
        return None
    return brotli.compress(raw, quality=11 if len(raw) < BIG else 9, lgwin=24)


def _encoders():
    return {".br": _brotli, ".gz": lambda raw: gzip.compress(raw, 9, mtime=0)}


def candidates(site: Path, min_bytes: int = MIN_BYTES) -> list[Path]:
    """The files worth compressing: large, of a compressible type, outside the image folders."""
    found = []
    for top in sorted(site.iterdir()):
        if top.name in SKIP_DIRS or top.is_symlink():
            continue
        files = ([top] if top.is_file() else top.rglob("*") if top.name not in SHALLOW_DIRS
                 else (p for pattern in SHALLOW_DIRS[top.name] for p in top.glob(pattern)))
        found += [p for p in files
                  if p.is_file() and not p.is_symlink() and p.suffix.lower() in SUFFIXES
                  and p.stat().st_size >= min_bytes]
    return sorted(found)


def precompress(site: Path, cache: Path, min_bytes: int = MIN_BYTES) -> dict:
    """Write FILE.br and FILE.gz beside each candidate file of ``site``; return the report's summary:
    how many files, their bytes and their compressed bytes in total, and each file of 1 MB or more.
    Files are compressed on threads: Brotli and zlib release the GIL."""
    total: dict[str, int] = {"files": 0, "bytes": 0, ".br": 0, ".gz": 0}
    large: dict[str, dict[str, int]] = {}
    files = candidates(site, min_bytes)
    for path, sizes in zip(files, parallel_map(lambda p: _copies(p, cache), files)):
        total["files"] += 1
        for k, v in sizes.items():
            total[k] += v
        if sizes["bytes"] >= 1 << 20:
            large[path.relative_to(site).as_posix()] = sizes
    return {**total, "large": large}


@contextmanager
def ahead(site: Path, cache: Path) -> Iterator[None]:
    """Compress the files ``site`` holds now into the cache on threads while the body runs, so
    that compressing (C code, without the GIL) overlaps the Python work still to come; the
    ``precompress`` after it then only links them. Anything that failed here is redone there."""
    pool = ThreadPoolExecutor(os.cpu_count() or 2)
    for path in candidates(site):
        pool.submit(_cached_file, path, cache)
    try:
        yield
    except BaseException:
        pool.shutdown(cancel_futures=True)
        raise
    pool.shutdown()


def _cached_file(path: Path, cache: Path) -> None:
    _cached(path.read_bytes(), cache)


def _cached(raw: bytes, cache: Path) -> dict[str, Path]:
    """The cached compressed copies of ``raw``, made where missing (an empty file: not worth it)."""
    digest = hashlib.sha256(raw).hexdigest()
    found = {}
    for ext, encode in _encoders().items():
        cached = cache / "compressed" / digest[:2] / f"{digest}{ext}"
        if not cached.is_file():
            packed = encode(raw)
            if packed is None:
                continue
            write_bytes(cached, packed if len(packed) <= KEEP_RATIO * len(raw) else b"")
        found[ext] = cached
    return found


def _copies(path: Path, cache: Path) -> dict[str, int]:
    """Link the compressed copies of one file beside it (made once per content); their sizes."""
    raw = path.read_bytes()
    sizes = {"bytes": len(raw)}
    for ext, cached in _cached(raw, cache).items():
        size = cached.stat().st_size
        if size:  # an empty cache entry: compressing did not pay for this content
            link_or_copy(str(cached), str(path.with_name(path.name + ext)))
        sizes[ext] = size or len(raw)  # what a visitor's browser fetches
    return sizes
