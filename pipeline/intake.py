"""Intake: find the collection's image files, hash them, and decode them small.

Decoding goes through libvips' ``thumbnail``, which shrinks on load (JPEG DCT scaling, SVG
rendered at the target size, streaming for PNG/TIFF) and applies EXIF orientation, so a
20,000 px scan costs little memory and time.
"""
from __future__ import annotations

import glob
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, TypeVar

import numpy as np

from . import UserError
from .cache import file_digest, read_json, write_json

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".tif", ".tiff", ".webp", ".gif",
                  ".svg", ".svgz", ".heic", ".heif", ".avif", ".bmp", ".jp2", ".mpo"}
JUNK_NAMES = {"thumbs.db", "desktop.ini", ".ds_store", "icon\r"}
T = TypeVar("T")
R = TypeVar("R")


@dataclass
class Found:
    """The image files of a collection, relative to ``root``, sorted."""
    root: Path
    files: list[str]
    ignored: list[str] = field(default_factory=list)     # junk and hidden files, skipped quietly
    refused: dict[str, str] = field(default_factory=dict)  # path -> reason (e.g. symlink escapes)


def _is_junk(name: str) -> bool:
    return name.startswith(".") or name.lower() in JUNK_NAMES


def find_images(source: str | Path) -> Found:
    """List image files under a folder (recursively) or matching a glob pattern."""
    src = str(source)
    if os.path.isdir(src):
        root = Path(src).resolve()
        candidates = [Path(d) / n for d, _, names in os.walk(root, followlinks=False) for n in names]
    else:
        candidates = [Path(p).absolute() for p in glob.glob(src, recursive=True) if os.path.isfile(p)]
        if not candidates:
            raise UserError(f"no files match {src!r}: give an image folder or a glob such as 'photos/*.jpg'")
        root = Path(os.path.commonpath([p.parent for p in candidates])).resolve()
    found = Found(root, [])
    for path in candidates:
        rel = path.absolute().relative_to(root) if path.is_absolute() else path
        rel_s = rel.as_posix()
        if any(_is_junk(part) for part in rel.parts):
            found.ignored.append(rel_s)
        elif path.suffix.lower() not in IMAGE_SUFFIXES:
            found.ignored.append(rel_s)
        elif not path.resolve().is_relative_to(root):
            found.refused[rel_s] = "symbolic link pointing outside the image folder (not followed)"
        else:
            found.files.append(rel_s)
    found.files.sort()
    return found


def hash_files(root: Path, files: list[str], index_path: Path) -> dict[str, str]:
    """Content hash of each file; files whose size and mtime are unchanged reuse the last hash."""
    index: dict[str, list] = read_json(index_path, {}) or {}
    out: dict[str, str] = {}
    changed = False
    for rel in files:
        st = os.stat(root / rel)
        old = index.get(rel)
        if old and old[0] == st.st_size and old[1] == st.st_mtime_ns:
            out[rel] = old[2]
            continue
        try:
            out[rel] = file_digest(root / rel)
        except OSError:
            continue  # unreadable: reported when decoding
        index[rel] = [st.st_size, st.st_mtime_ns, out[rel]]
        changed = True
    if changed or len(index) != len(out):
        write_json(index_path, {k: index[k] for k in out})
    return out


def parse_colour(text: str) -> list[int]:
    """'#rrggbb', 'white', 'black' or 'r,g,b' to an RGB triple."""
    named = {"white": "#ffffff", "black": "#000000"}
    t = named.get(text.strip().lower(), text.strip())
    try:
        if t.startswith("#") and len(t) == 7:
            return [int(t[i:i + 2], 16) for i in (1, 3, 5)]
        rgb = [int(v) for v in t.split(",")]
        if len(rgb) == 3 and all(0 <= v <= 255 for v in rgb):
            return rgb
    except ValueError:
        pass
    raise UserError(f"cannot read colour {text!r}: use #rrggbb, r,g,b, white or black")


def decode(path: Path, width: int, height: int, fit: str, background: list[int]):
    """Decode an image to an sRGB 8-bit 3-band pyvips image of at most width x height.

    fit: 'contain' keeps the aspect ratio inside the box; 'fill' crops to fill the box exactly;
    'force' stretches to the box (the CNN input).
    """
    import pyvips
    size = "force" if fit == "force" else "both"
    crop = "centre" if fit == "fill" else "none"
    im = pyvips.Image.thumbnail(str(path), width, height=height, size=size, crop=crop)
    if im.interpretation not in ("srgb", "b-w") or im.format != "uchar":
        im = im.colourspace("srgb")
    if im.hasalpha():
        im = im.flatten(background=background)
    if im.bands == 1:
        im = im.bandjoin([im, im])
    elif im.bands > 3:
        im = im.extract_band(0, n=3)
    return im.cast("uchar")


def to_array(im) -> np.ndarray:
    """A pyvips image as an (h, w, bands) uint8 array."""
    return np.ndarray(buffer=im.write_to_memory(), dtype=np.uint8, shape=(im.height, im.width, im.bands))


def cell_image(path: Path, cell: tuple[int, int], fit: str, background: list[int]):
    """The mosaic cell of an image: exactly cell[0] x cell[1], letterboxed on the background."""
    im = decode(path, cell[0], cell[1], fit, background)
    if (im.width, im.height) != tuple(cell):
        im = im.gravity("centre", cell[0], cell[1], extend="background", background=background)
    return im


def parallel_map(fn: Callable[[T], R], items: Iterable[T], workers: int | None = None) -> Iterable[R]:
    """Map on threads, in order; libvips and TensorFlow release the GIL, so threads scale."""
    with ThreadPoolExecutor(workers or os.cpu_count() or 2) as pool:
        yield from pool.map(fn, items)
