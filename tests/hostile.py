"""Hostile image files, made with Pillow (and pyvips for the huge ones), for the robustness tests.

Each maker writes one file of a kind real collections contain and returns its path.
"""
from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

ORIENT_INVERSE = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
                  4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
                  6: Image.Transpose.ROTATE_90, 7: Image.Transpose.TRANSVERSE,
                  8: Image.Transpose.ROTATE_270}


def photo(w: int = 240, h: int = 160, seed: int = 0) -> Image.Image:
    """A photo-like RGB image: smooth gradients plus noise, so JPEG has real work to do."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    rgb = np.stack([x * 255 / max(w - 1, 1), y * 255 / max(h - 1, 1), (x + y) * 127 / max(w + h - 2, 1)], -1)
    rgb += rng.normal(0, 12, rgb.shape)
    return Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8))


def quadrants(size: int = 120) -> Image.Image:
    """Red, green / blue, yellow quadrants: any flip or rotation shows."""
    im = Image.new("RGB", (size, size))
    half = size // 2
    for (x, y), c in zip([(0, 0), (half, 0), (0, half), (half, half)],
                         ["red", "lime", "blue", "yellow"]):
        im.paste(Image.new("RGB", (half, half), c), (x, y))
    return im


def placeholder(w: int = 300, h: int = 200) -> Image.Image:
    """An archive's "image not available" picture: grey card, dark bar, dark disc."""
    from PIL import ImageDraw
    im = Image.new("RGB", (300, 200), (200, 200, 200))
    ImageDraw.Draw(im).rectangle((60, 60, 240, 140), fill=(90, 90, 90))
    ImageDraw.Draw(im).ellipse((120, 20, 180, 80), fill=(30, 30, 30))
    return im.resize((w, h))


def jpeg_bytes(im: Image.Image, **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "JPEG", **kw)
    return buf.getvalue()


def png_bytes(im: Image.Image, **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "PNG", **kw)
    return buf.getvalue()


def _sos(data: bytes) -> int:
    return data.index(b"\xff\xda")


def truncated_jpeg(path: Path) -> Path:
    """The first 60 % of a JPEG: the top of the picture decodes, the rest is lost."""
    data = jpeg_bytes(photo(seed=1), quality=90)
    path.write_bytes(data[:int(len(data) * 0.6)])
    return path


def garbage_middle_jpeg(path: Path) -> Path:
    data = bytearray(jpeg_bytes(photo(seed=2), quality=90))
    mid = (_sos(data) + len(data)) // 2
    data[mid:mid + 400] = np.random.default_rng(2).integers(0, 255, 400, dtype=np.uint8).tobytes()
    path.write_bytes(bytes(data))
    return path


def header_only_jpeg(path: Path) -> Path:
    """Markers up to the start of scan, and not one byte of image data."""
    data = jpeg_bytes(photo(seed=3))
    path.write_bytes(data[:_sos(data) + 14])
    return path


def huge_png_header(path: Path, w: int = 100_000, h: int = 100_000) -> Path:
    """A decompression bomb: a valid PNG header announcing w x h px, and a little zlib data."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * (1 + 3 * w) * 64, 9)  # 64 rows of black; the rest is implied
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b""))
    return path


def oriented_jpeg(path: Path, orientation: int) -> Path:
    """quadrants() stored so that EXIF ``orientation`` displays it upright."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    quadrants().transpose(ORIENT_INVERSE[orientation]).save(path, quality=95, exif=exif.tobytes())
    return path


def frames(colours: list[str], size=(60, 40)) -> list[Image.Image]:
    return [Image.new("RGB", size, c) for c in colours]


def animated(path: Path, fmt: str) -> Path:
    """A three-frame animation whose first frame is red."""
    first, *rest = frames(["red", "lime", "blue"])
    first.save(path, fmt, save_all=True, append_images=rest, duration=100, loop=0)
    return path


def multipage_tiff(path: Path) -> Path:
    return animated(path, "TIFF")


def mpo(path: Path) -> Path:
    left, right = frames(["red", "blue"], (80, 60))
    left.save(path, "MPO", save_all=True, append_images=[right])
    return path


def big_image(path: Path, w: int, h: int, **save) -> Path:
    """A w x h image written by libvips in strips (never whole in memory): a gradient."""
    import pyvips
    x = pyvips.Image.xyz(w, h)
    grad = (x[0] * (255 / w)).cast("uchar")
    im = grad.bandjoin([(x[1] * (255 / h)).cast("uchar"), grad])
    im.write_to_file(str(path), **save)
    return path


def make_collection(root: Path) -> dict[str, str]:
    """A folder mixing good images with every hostile case; returns {relpath: expected outcome}.

    Outcomes: 'ok', 'warn' (included with a warning), or a word the skip reason must contain.
    """
    root.mkdir(parents=True, exist_ok=True)
    out: dict[str, str] = {}

    def put(name: str, outcome: str, data: bytes | None = None, im: Image.Image | None = None, **kw) -> Path:
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        if data is not None:
            p.write_bytes(data)
        elif im is not None:
            im.save(p, **kw)
        out[name] = outcome
        return p

    for i in range(6):
        put(f"good/photo{i}.jpg", "ok", im=photo(seed=10 + i), quality=90)
    truncated_jpeg(put("truncated.jpg", "warn", b""))
    garbage_middle_jpeg(put("garbage middle.jpg", "ok", b""))  # libjpeg resynchronises: no error
    header_only_jpeg(put("header-only.jpg", "decode", b""))
    put("empty.jpg", "empty", b"")
    put("notes.jpg", "not an image", b"Just some text, saved with the wrong name.\n")
    put("png named.jpg", "ok", png_bytes(photo(seed=4)))
    put("cmyk.jpg", "ok", im=photo(seed=5).convert("CMYK"), quality=90)
    put("lab.tif", "ok", im=photo(seed=6).convert("LAB"))
    put("float32.tif", "ok", im=photo(seed=7).convert("F"))
    put("gray16.tif", "ok", im=Image.fromarray(np.asarray(photo(seed=8).convert("L"), np.uint16) * 257))
    put("gray16.png", "ok", im=Image.fromarray(np.asarray(photo(seed=9).convert("L"), np.uint16) * 257))
    big_image(put("rgb16.png", "ok", b""), 90, 60, bitdepth=16)
    pal = photo(seed=11).convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    put("palette-trns.png", "ok", im=pal, transparency=0)
    rgba = Image.new("RGBA", (100, 100), (0, 0, 0, 0))
    rgba.paste(Image.new("RGBA", (10, 10), (255, 0, 0, 255)), (45, 45))
    put("mostly-transparent.png", "ok", im=rgba)
    for o in range(2, 9):
        oriented_jpeg(put(f"exif/orientation-{o}.jpg", "ok", b""), o)
    animated(put("animated.gif", "ok", b""), "GIF")
    animated(put("animated.png", "ok", b""), "PNG")
    animated(put("animated.webp", "ok", b""), "WEBP")
    multipage_tiff(put("multipage.tif", "ok", b""))
    mpo(put("stereo.mpo", "ok", b""))
    huge_png_header(put("bomb.png", "megapixels", b""))
    put("drawing.svg", "ok", b'<svg xmlns="http://www.w3.org/2000/svg" width="40" height="30">'
                             b'<rect width="40" height="30" fill="#c00"/></svg>')
    put("one-pixel.png", "ok", im=Image.new("RGB", (1, 1), "purple"))
    put("three-by-two.png", "ok", im=Image.new("RGB", (3, 2), "orange"))
    put("strip.jpg", "ok", im=photo(1000, 40, seed=12), quality=85)
    put("names/with space [1].JPG", "ok", im=photo(seed=13), quality=80)
    put("names/café Ärger.Jpeg", "ok", im=photo(seed=14), quality=80)
    put("names/party 🎉.PnG", "ok", im=photo(seed=15))
    put("duplicate-a.jpg", "ok", (root / "good/photo0.jpg").read_bytes())
    put("not available.png", "ok", im=placeholder())
    return out


JUNK = ["Thumbs.db", ".DS_Store", "._photo0.jpg", "desktop.ini", ".hidden/x.jpg",
        "__MACOSX/good/._photo1.jpg", "readme.txt"]


def add_junk(root: Path) -> None:
    for name in JUNK:
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"\x00\x05\x16\x07 junk")
