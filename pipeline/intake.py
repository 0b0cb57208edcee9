"""Intake: find the collection's image files, hash them, and decode them small.

Decoding goes through libvips' ``thumbnail``, which shrinks on load (JPEG DCT scaling, SVG
rendered at the target size, streaming for PNG/TIFF) and applies EXIF orientation, so a
20,000 px scan costs little memory and time.
"""
from __future__ import annotations

import glob
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, TypeVar

import numpy as np

from . import UserError
from .cache import file_digest, read_json, write_json

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".tif", ".tiff", ".webp", ".gif",
                  ".svg", ".svgz", ".heic", ".heif", ".avif", ".bmp", ".jp2", ".mpo"}
JUNK_NAMES = {"thumbs.db", "ehthumbs.db", "desktop.ini", ".ds_store", "icon\r", "__macosx", "@eadir",
              "$recycle.bin", "system volume information"}
WHOLE_DECODE_PX = 16_000_000  # above this, images decoded whole go one at a time
_ONE_WHOLE = threading.Semaphore(1)
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
    walked = os.path.isdir(src)  # a walk never enters linked folders: only linked files can escape
    if walked:
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
        elif (path.is_symlink() or not walked) and not path.resolve().is_relative_to(root):
            found.refused[rel_s] = "symbolic link pointing outside the image folder (not followed)"
        elif not path.is_file():  # a FIFO or device named .jpg would block the reader; a dead link
            found.refused[rel_s] = "not a regular file (a broken link, a pipe or a device)"
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
        try:
            st = os.stat(root / rel)
            old = index.get(rel)
            if old and old[0] == st.st_size and old[1] == st.st_mtime_ns:
                out[rel] = old[2]
                continue
            out[rel] = file_digest(root / rel)
        except OSError:
            continue  # unreadable or gone: the build reports it as skipped
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


def _header(path: Path):
    """The file's header as a lazy pyvips image (no pixels decoded), or None if libvips can't read it."""
    import pyvips
    try:
        return pyvips.Image.new_from_source(pyvips.Source.new_from_file(str(path)), "")
    except pyvips.Error:
        return None


def image_size(path: Path) -> tuple[int, int]:
    """Width and height from the file's header, without decoding pixels."""
    head = _header(path)
    if head is not None:
        return head.width, head.height
    from PIL import Image
    with Image.open(path) as im:  # lazy: reads the header only
        return im.size


def _held_whole(path: Path) -> bool:
    """Progressive JPEGs and interlaced PNGs cannot be streamed: libvips decodes them whole
    (about 3 bytes a pixel), so large ones are decoded one at a time."""
    try:
        with open(path, "rb") as f:
            if not f.read(4).startswith((b"\xff\xd8", b"\x89PNG")):  # JPEG and PNG only
                return False
    except OSError:
        return False
    head = _header(path)
    return (head is not None and head.width * head.height > WHOLE_DECODE_PX
            and head.get_typeof("interlaced") != 0 and bool(head.get("interlaced")))


def size_refusal(path: Path, max_megapixels: float) -> str | None:
    """Why an image is refused as too large to decode (a decompression bomb), or None.
    SVG is drawn at the size asked for, whatever size it declares: never refused."""
    head = _header(path)
    if head is not None and head.get("vips-loader").startswith("svgload"):
        return None
    try:
        w, h = (head.width, head.height) if head is not None else image_size(path)
    except Exception:
        return None  # unreadable header: decoding reports why
    if w * h <= max_megapixels * 1e6:
        return None
    return (f"image is {w:,} x {h:,} px ({w * h / 1e6:,.0f} megapixels), over the limit of "
            f"{max_megapixels:,g} megapixels (a decompression bomb?); raise it with --max-megapixels")


def decode(path: Path, width: int, height: int, fit: str, background: list[int], fail_on: str = "none"):
    """Decode an image to an sRGB 8-bit 3-band pyvips image of at most width x height.

    fit: 'contain' keeps the aspect ratio inside the box; 'fill' crops to fill the box exactly;
    'force' stretches to the box (the CNN input). fail_on: 'none' decodes what it can of a
    damaged file; 'error' raises on damage. Files libvips cannot read go through Pillow.
    """
    if _held_whole(path):
        with _ONE_WHOLE:  # evaluated here, inside the lock; the result is small
            return _decode(path, width, height, fit, background, fail_on).copy_memory()
    return _decode(path, width, height, fit, background, fail_on)


def _decode(path: Path, width: int, height: int, fit: str, background: list[int], fail_on: str):
    import pyvips
    pyvips.cache_set_max(0)  # each decode is used once; cached ones would hold their memory
    size = "force" if fit == "force" else "both"
    crop = "centre" if fit == "fill" else "none"
    try:
        im = _vips_thumbnail(path, width, height, size, crop, fail_on)
    except pyvips.Error:
        im = _pillow_thumbnail(path, width, height, size, crop)
        if im is None:
            raise
    if im.interpretation not in ("srgb", "b-w") or im.format != "uchar":
        im = im.colourspace("srgb")
    if im.hasalpha():
        im = im.flatten(background=background)
    if im.bands == 1:
        im = im.bandjoin([im, im])
    elif im.bands > 3:
        im = im.extract_band(0, n=3)
    return im.cast("uchar")


def _vips_thumbnail(path: Path, width: int, height: int, size: str, crop: str, fail_on: str):
    import pyvips
    if path.suffix.lower() in (".tif", ".tiff"):
        head = pyvips.Image.new_from_source(pyvips.Source.new_from_file(str(path)), "", fail_on=fail_on)
        if head.format in ("float", "double") and head.bands < 3:
            return _float_grey(head, width, height, size, crop)
    return pyvips.Image.thumbnail(str(path), width, height=height, size=size, crop=crop, fail_on=fail_on)


def _float_grey(head, width: int, height: int, size: str, crop: str):
    """Floating-point grey (scientific TIFFs) holds 0..1 or 0..255: scale by what it holds."""
    small = head.thumbnail_image(width, height=height, size=size, crop=crop)
    peak = small.max()
    scale = 255.0 if 0 < peak <= 1.0 else 1.0
    return (small * scale).cast("uchar").copy(interpretation="b-w")


def _pillow_thumbnail(path: Path, width: int, height: int, size: str, crop: str):
    """Pillow's decoders for what libvips refuses (8-bit CIELAB TIFF); None if Pillow fails too."""
    import pyvips
    from PIL import Image, ImageCms, ImageOps
    try:
        with Image.open(path) as im:
            im.load()
            im = ImageOps.exif_transpose(im)
            if im.mode == "LAB":
                im = ImageCms.applyTransform(im, ImageCms.buildTransform(
                    ImageCms.createProfile("LAB"), ImageCms.createProfile("sRGB"), "LAB", "RGB"))
            rgb = np.asarray(im.convert("RGBA" if "A" in im.getbands() or "transparency" in im.info else "RGB"))
    except Exception:
        return None
    whole = pyvips.Image.new_from_array(np.ascontiguousarray(rgb), interpretation="srgb")
    return whole.thumbnail_image(width, height=height, size=size, crop=crop)


def to_array(im) -> np.ndarray:
    """A pyvips image as an (h, w, bands) uint8 array."""
    return np.ndarray(buffer=im.write_to_memory(), dtype=np.uint8, shape=(im.height, im.width, im.bands))


def cell_image(path: Path, cell: tuple[int, int], fit: str, background: list[int], fail_on: str = "none"):
    """The mosaic cell of an image: exactly cell[0] x cell[1], letterboxed on the background."""
    im = decode(path, cell[0], cell[1], fit, background, fail_on)
    if (im.width, im.height) != tuple(cell):
        im = im.gravity("centre", cell[0], cell[1], extend="background", background=background)
    return im


def parallel_map(fn: Callable[[T], R], items: Iterable[T], workers: int | None = None) -> Iterable[R]:
    """Map on threads, in order; libvips and TensorFlow release the GIL, so threads scale."""
    with ThreadPoolExecutor(workers or os.cpu_count() or 2) as pool:
        yield from pool.map(fn, items)
