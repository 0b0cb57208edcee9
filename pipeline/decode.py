"""Decoding: every collection, --exclude and query image is read here, small, and bounded.

Rasters go through libvips' ``thumbnail``, which shrinks on load (JPEG DCT scaling, streaming
for PNG/TIFF) and applies EXIF orientation, so a 20,000 px scan costs little memory and time.
Images that libvips must hold whole (progressive JPEG, interlaced PNG, GIF, HEIF, the Pillow
fallback) are decoded one at a time when large.

Everything is untrusted. In this process libvips may only load the raster formats below (its
other loaders, such as the ``.v`` format, matrix text and SVG, are blocked), and the Pillow
fallback opens only the formats libvips lacks. SVG is drawn by librsvg in a separate process,
from its bytes (no base path, so it cannot read other files), with limits on its size, memory
and CPU time; the limits are in each refusal and in docs/input-handling.md.
"""
from __future__ import annotations

import atexit
import binascii
import math
import os
import re
import select
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from pathlib import Path
from urllib.parse import unquote_to_bytes

import numpy as np
import pyvips

WHOLE_DECODE_PX = 16_000_000  # above this, images decoded whole go one at a time
STREAMED = ("jpegload", "pngload", "tiffload", "webpload")  # libvips shrinks these while reading
VIPS_LOADERS = ("VipsForeignLoadJpeg", "VipsForeignLoadPng", "VipsForeignLoadNsgif",
                "VipsForeignLoadTiff", "VipsForeignLoadWebp", "VipsForeignLoadHeif")
# what the Pillow fallback exists for: 8-bit CIELAB TIFF, and .bmp / .jp2, which libvips lacks
PILLOW_FORMATS = ("TIFF", "BMP", "JPEG2000")
SVG_MAX_BYTES = 16 << 20   # SVG text, after decompression for .svgz
SVG_SECONDS = 10           # CPU seconds to draw one SVG (a pathological filter chain takes minutes)
SVG_MEMORY_MB = 384        # address space of a process drawing SVG (a plain one needs ~130)
SVG_AT_ONCE = 3            # SVG drawing processes: at most 1.15 GB between them
SVG_NESTING = 3            # levels of SVG embedded in SVG whose images are counted
DECODER_VERSION = 4  # in the thumbnail cache's key: pictures an older decoder made are remade
# 3: cell, preview and CNN input derived from one decode (decode_set); 4: small images by Pillow
# Small plain PNG/JPEG files are decoded and resampled by Pillow (small_set): for them libvips'
# per-operation set-up, not pixels, is the cost (~1 ms per resize or save on a 40 px image:
# bench/README.md, issue 16). Plain: 8-bit RGB/grey/palette, with or without alpha, no ICC
# profile, no EXIF turn, one frame; anything else, and anything Pillow fails on, goes to libvips.
SMALL_PX = 512 * 512
SMALL_FORMATS = ("PNG", "JPEG")
SMALL_MODES = ("RGB", "RGBA", "L", "LA", "P", "1")
DEFAULT_MAX_MEGAPIXELS = 1000.0  # 1 gigapixel: posters scanned at 600 dpi pass, bombs do not

pyvips.block_untrusted_set(True)
pyvips.operation_block_set("VipsForeignLoad", True)
for _name in VIPS_LOADERS:
    pyvips.operation_block_set(_name, False)
pyvips.cache_set_max(0)  # each decode is used once; cached ones would hold their memory

_ONE_WHOLE = threading.Semaphore(1)
_SVG_SLOTS = threading.Semaphore(SVG_AT_ONCE)


class Refused(Exception):
    """A file the decoder will not draw, or stopped drawing; the message is the whole reason."""


class DecodeError(Exception):
    """The SVG renderer's own error (a damaged or invalid SVG)."""


class TooLarge(Refused):
    """Refused under --max-megapixels: the outcome depends on the flag, so it is not cached."""


# ---- what a file is ------------------------------------------------------------------------

def _header(path: Path):
    """The file's header as a lazy pyvips image (no pixels decoded), or None if libvips can't read it."""
    try:
        return pyvips.Image.new_from_source(pyvips.Source.new_from_file(str(path)), "")
    except pyvips.Error:
        return None


def _loader(head) -> str:
    """'jpegload', 'pngload' ... from a header; '' when libvips does not say."""
    if head.get_typeof("vips-loader") == 0:
        return ""
    return str(head.get("vips-loader")).removesuffix("_source")


def _looks_like_svg(head: bytes) -> bool:
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    return text.startswith(b"<") and b"<svg" in text.lower()


def _gunzip(data: bytes, limit: int) -> bytes:
    """Decompress gzip data, at most ``limit`` bytes of it (a bomb stops there)."""
    try:
        return zlib.decompressobj(wbits=31).decompress(data, limit)
    except zlib.error as e:
        raise ValueError(f"damaged .svgz ({e})") from e


def is_svg(path: Path) -> bool:
    """Whether the file's content is SVG (or gzipped SVG), whatever its name."""
    try:
        with open(path, "rb") as f:
            head = f.read(65536)
    except OSError:
        return False
    if head.startswith(b"\x1f\x8b"):
        try:
            head = _gunzip(head, 4096)
        except ValueError:
            return False
    return _looks_like_svg(head[:4096])


def svg_text(path: Path) -> bytes:
    """An SVG file's text, decompressed; Refused over SVG_MAX_BYTES."""
    limit_mb = SVG_MAX_BYTES >> 20
    if os.path.getsize(path) > SVG_MAX_BYTES:
        raise Refused(f"SVG file is {os.path.getsize(path) / 2**20:,.1f} MB, over the limit of "
                      f"{limit_mb} MB for SVG")
    data = Path(path).read_bytes()
    if data.startswith(b"\x1f\x8b"):
        data = _gunzip(data, SVG_MAX_BYTES + 1)
        if len(data) > SVG_MAX_BYTES:
            raise Refused(f".svgz expands to more than {limit_mb} MB of SVG, the limit "
                          f"(a decompression bomb?)")
    return data


_DATA_URI = re.compile(rb"data:([^,\"'<>]{0,100}),([^\"'<>)]*)", re.IGNORECASE)


def _embedded_pixels(svg: bytes, depth: int = 0) -> int:
    """Pixels of the raster images an SVG embeds as data: URIs (nested SVGs included), as far as
    their headers tell. A best effort: the drawing process's memory limit is the guarantee."""
    total = 0
    for m in _DATA_URI.finditer(svg):
        data = _payload(m.group(1).lower(), m.group(2))
        if data.startswith(b"\x1f\x8b") or _looks_like_svg(data[:4096]):
            if depth < SVG_NESTING:
                total += _embedded_pixels(_gunzip(data, SVG_MAX_BYTES) if data[:2] == b"\x1f\x8b" else data,
                                          depth + 1)
            continue
        try:  # the header only, by the loaders allowed here
            head = pyvips.Image.new_from_buffer(data, "")
            total += head.width * head.height
        except pyvips.Error:
            pass  # not a raster libvips reads here: the memory limit bounds it
    return total


def _payload(kind: bytes, text: bytes) -> bytes:
    if not kind.endswith(b";base64"):
        return unquote_to_bytes(text)
    text = re.sub(rb"[^A-Za-z0-9+/]", b"", text)
    return binascii.a2b_base64(text[:len(text) // 4 * 4])


def image_size(path: Path) -> tuple[int, int]:
    """Width and height from the file's header, without decoding pixels."""
    head = _header(path)
    if head is not None:
        return head.width, head.height
    if is_svg(path):
        raise ValueError("an SVG has no pixel size: it is drawn at the size asked for")
    from PIL import Image
    with Image.open(path, formats=PILLOW_FORMATS) as im:  # lazy: reads the header only
        return im.size


def size_refusal(path: Path, max_megapixels: float) -> str | None:
    """Why an image is refused as too large to decode (a decompression bomb), or None.
    An SVG is drawn at the size asked for: only the images it embeds count."""
    try:
        if is_svg(path):
            px = _embedded_pixels(svg_text(path))
            if px <= max_megapixels * 1e6:
                return None
            return (f"SVG embeds images of {px / 1e6:,.0f} megapixels, over the limit of "
                    f"{max_megapixels:,g} megapixels; raise it with --max-megapixels")
        w, h = image_size(path)
    except Exception:
        return None  # unreadable: decoding reports why
    return _pixel_refusal(w, h, max_megapixels)


def _pixel_refusal(w: int, h: int, max_megapixels: float) -> str | None:
    if w * h <= max_megapixels * 1e6:
        return None
    return (f"image is {w:,} x {h:,} px ({w * h / 1e6:,.0f} megapixels), over the limit of "
            f"{max_megapixels:,g} megapixels (a decompression bomb?); raise it with --max-megapixels")


def _held_whole(path: Path, head=None) -> bool:
    """Whether decoding holds the whole image in memory (about 3-4 bytes a pixel) and it is large:
    progressive JPEGs, interlaced PNGs, and formats libvips cannot shrink while reading."""
    head = head if head is not None else _header(path)
    if head is None:  # Pillow's fallback: always whole
        try:
            w, h = image_size(path)
        except Exception:
            return False
        return w * h > WHOLE_DECODE_PX
    if head.width * head.height <= WHOLE_DECODE_PX:
        return False
    interlaced = head.get_typeof("interlaced") != 0 and bool(head.get("interlaced"))
    return interlaced or _loader(head) not in STREAMED


# ---- decoding ------------------------------------------------------------------------------

def decode(path: Path, width: int, height: int, fit: str, background: list[int], fail_on: str = "none",
           max_megapixels: float | None = None):
    """Decode an image to an sRGB 8-bit 3-band pyvips image of at most width x height.

    fit: 'contain' keeps the aspect ratio inside the box; 'fill' crops to fill the box exactly;
    'force' stretches to the box (the CNN input). fail_on: 'none' decodes what it can of a
    damaged file; 'error' raises on damage. max_megapixels: refuse larger images (TooLarge);
    None when the caller checked already. Raises Refused for files over a fixed limit.
    """
    if max_megapixels is not None:
        refusal = size_refusal(path, max_megapixels)
        if refusal:
            raise TooLarge(refusal)
    small = small_set(path, {"im": (width, height, fit)}, background, max_megapixels)
    if small is not None:
        return pyvips.Image.new_from_array(small["im"], interpretation="srgb")
    size = "force" if fit == "force" else "both"
    crop = "centre" if fit == "fill" else "none"
    if is_svg(path):
        im = _draw_svg(svg_text(path), width, height, size, crop, fail_on)
    elif _held_whole(path):
        with _ONE_WHOLE:  # evaluated here, inside the lock; the result is small
            return _to_srgb(_raster(path, width, height, size, crop, fail_on), background).copy_memory()
    else:
        im = _raster(path, width, height, size, crop, fail_on)
    return _to_srgb(im, background)


Box = tuple[int, int, str]  # width, height, fit ('contain', 'fill' or 'force'; see decode)


def decode_set(path: Path, boxes: dict[str, Box], background: list[int], fail_on: str = "none",
               max_megapixels: float | None = None) -> dict:
    """Decode an image once and derive every named box from that one decode, in memory: each an
    sRGB 8-bit 3-band pyvips image, as ``decode`` would make it (resampled twice: the first
    decode is at least as large as every box needs, so the difference is a rounding).

    The file is opened and its header read once (decode() reads it three times), which is most
    of the cost for small images. SVG, which has no pixel size to decode once at, is drawn once
    for the 'contain'/'fill' boxes (at the largest) and once per 'force' box."""
    if is_svg(path):
        if max_megapixels is not None and (refusal := size_refusal(path, max_megapixels)):
            raise TooLarge(refusal)
        return _svg_set(svg_text(path), boxes, background, fail_on)
    head = _header(path)
    if head is None:  # Pillow's formats, or no image: decoding says which, in libvips' words
        _raster(path, 1, 1, "both", "none", fail_on)
        w, h = image_size(path)
    else:
        w, h = head.width, head.height
    if max_megapixels is not None and (refusal := _pixel_refusal(w, h, max_megapixels)):
        raise TooLarge(refusal)
    if head is not None and head.get_typeof("orientation") and int(head.get("orientation")) in (5, 6, 7, 8):
        w, h = h, w  # turned by its EXIF orientation while decoding
    mw, mh = _first_size(w, h, boxes.values())
    if _held_whole(path, head):
        with _ONE_WHOLE:
            master = _settle(_raster(path, mw, mh, "both", "none", fail_on), background)
    else:
        master = _settle(_raster(path, mw, mh, "both", "none", fail_on), background)
    return {name: _fit(master, *box) for name, box in boxes.items()}


def small_set(path: Path, boxes: dict[str, Box], background: list[int],
              max_megapixels: float | None = None) -> dict[str, np.ndarray] | None:
    """Every named box of a small plain PNG/JPEG (SMALL_PX, SMALL_MODES) as an (h, w, 3) uint8
    array, each resampled once from the decoded pixels the way libvips' thumbnail does it
    (Lanczos 3 down, bicubic up, pixel centres aligned, alpha flattened on the background);
    None for any other file, or one Pillow cannot decode cleanly: libvips then decides."""
    from PIL import Image
    try:
        with Image.open(path, formats=SMALL_FORMATS) as im:
            w, h = im.size
            if (w * h > SMALL_PX or im.mode not in SMALL_MODES or im.info.get("icc_profile")
                    or getattr(im, "n_frames", 1) != 1 or im.getexif().get(0x0112, 1) != 1
                    or (max_megapixels is not None and _pixel_refusal(w, h, max_megapixels))):
                return None
            im.load()
            flat = _pil_flatten(im, background)
    except Exception:  # damaged, or not PNG/JPEG: libvips' decoder words the reason
        return None
    return {name: np.asarray(_pil_fit(flat, *box)) for name, box in boxes.items()}


def _pil_flatten(im, background: list[int]):
    from PIL import Image
    if im.mode == "P" or (im.mode in ("L", "RGB") and "transparency" in im.info):
        im = im.convert("RGBA")
    if im.mode in ("RGBA", "LA"):
        flat = Image.new("RGB", im.size, tuple(background))
        flat.paste(im.convert("RGBA"), mask=im.getchannel("A"))
        return flat
    return im.convert("RGB")


def _pil_fit(im, width: int, height: int, fit: str):
    """One box from full-size pixels: the output size and crop of libvips' thumbnail_image."""
    w, h = im.size
    if fit == "force":
        size = (width, height)
    else:
        pick = min if fit == "contain" else max
        scale = pick(width / w, height / h)
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
    # as libvips' resize: axes that shrink first (Lanczos 3), then axes that grow (bicubic)
    for axis in sorted((0, 1), key=lambda a: size[a] > im.size[a]):
        if size[axis] != im.size[axis]:
            im = _pil_axis(im, axis, size[axis])
    if fit == "fill" and size != (width, height):
        left, top = (size[0] - width) // 2, (size[1] - height) // 2
        im = im.crop((left, top, left + min(width, size[0]), top + min(height, size[1])))
    return im


_PAD = 4  # edge pixels repeated beyond the border for the bicubic kernel (libvips extends by copy)


def _pil_axis(im, axis: int, n: int):
    """Resample one axis to n pixels. Enlarging, libvips samples output pixel x at input x / s -
    0.5 (Pillow: (x + 0.5) / s - 0.5), so the source window is shifted by -0.5 / s: with it, the
    two agree to 0.06 of a level on average (bench/README.md)."""
    from PIL import Image
    w, h = im.size
    old = im.size[axis]
    if n < old:
        return im.resize((n, h) if axis == 0 else (w, n), Image.Resampling.LANCZOS)
    pad = [(0, 0), (0, 0), (0, 0)]
    pad[1 - axis] = (_PAD, _PAD)  # numpy's first axis is the image's y
    padded = Image.fromarray(np.pad(np.asarray(im), pad, mode="edge"))
    shift = _PAD - 0.5 * old / n
    box = (shift, 0, shift + w, h) if axis == 0 else (0, shift, w, shift + h)
    return padded.resize((n, h) if axis == 0 else (w, n), Image.Resampling.BICUBIC, box=box)


def _first_size(w: int, h: int, boxes) -> tuple[int, int]:
    """The size to decode at: the least that no box enlarges (never above the image's own)."""
    scale = 0.0
    for bw, bh, fit in boxes:
        sx, sy = bw / w, bh / h
        scale = max(scale, min(sx, sy) if fit == "contain" else max(sx, sy))
    scale = min(scale, 1.0)
    return max(1, math.ceil(w * scale)), max(1, math.ceil(h * scale))


def _settle(im, background: list[int]):
    """The first decode in memory as plain sRGB pixels, without its ICC profile (its pixels are
    sRGB already: resampling it again must not convert them again)."""
    im = _to_srgb(im, background).copy(interpretation="srgb")  # grey made 3-band: resampled as colour
    if im.get_typeof("icc-profile-data"):
        im.remove("icc-profile-data")
    return im.copy_memory()


def _fit(master, width: int, height: int, fit: str):
    if (master.width, master.height) == (width, height):
        return master
    return master.thumbnail_image(width, height=height, size="force" if fit == "force" else "both",
                                  crop="centre" if fit == "fill" else "none")


def _svg_set(data: bytes, boxes: dict[str, Box], background: list[int], fail_on: str) -> dict:
    out = {}
    framed = {n: b for n, b in boxes.items() if b[2] != "force"}
    if framed:
        bw, bh = max(b[0] for b in framed.values()), max(b[1] for b in framed.values())
        master = _settle(_draw_svg(data, bw, bh, "both", "none", fail_on), background)
        out.update({n: _fit(master, *b) for n, b in framed.items()})
    for n, (bw, bh, fit) in boxes.items():
        if fit == "force":
            out[n] = _to_srgb(_draw_svg(data, bw, bh, "force", "none", fail_on), background)
    return out


def _to_srgb(im, background: list[int]):
    if im.interpretation not in ("srgb", "b-w") or im.format != "uchar":
        im = im.colourspace("srgb")
    if im.hasalpha():
        im = im.flatten(background=background)
    if im.bands == 1:
        im = im.bandjoin([im, im])
    elif im.bands > 3:
        im = im.extract_band(0, n=3)
    return im.cast("uchar")


def _raster(path: Path, width: int, height: int, size: str, crop: str, fail_on: str):
    try:
        return _vips_thumbnail(path, width, height, size, crop, fail_on)
    except pyvips.Error:
        im = _pillow_thumbnail(path, width, height, size, crop)
        if im is None:
            raise
        return im


def _vips_thumbnail(path: Path, width: int, height: int, size: str, crop: str, fail_on: str):
    # from a source, not a file name: a name ending in [...] would be read as libvips options;
    # thumbnail_source hands fail_on to the loader only in the option string
    if path.suffix.lower() in (".tif", ".tiff"):
        head = pyvips.Image.new_from_source(pyvips.Source.new_from_file(str(path)), "", fail_on=fail_on)
        if head.format in ("float", "double") and head.bands < 3:
            return _float_grey(head, width, height, size, crop)
    return pyvips.Image.thumbnail_source(pyvips.Source.new_from_file(str(path)), width, height=height,
                                         size=size, crop=crop, option_string=f"fail_on={fail_on}")


def _float_grey(head, width: int, height: int, size: str, crop: str):
    """Floating-point grey (scientific TIFFs) holds 0..1 or 0..255: scale by what it holds."""
    small = head.thumbnail_image(width, height=height, size=size, crop=crop)
    peak = small.max()
    scale = 255.0 if 0 < peak <= 1.0 else 1.0
    return (small * scale).cast("uchar").copy(interpretation="b-w")


def _pillow_thumbnail(path: Path, width: int, height: int, size: str, crop: str):
    """Pillow's decoders for what libvips refuses (PILLOW_FORMATS only); None if Pillow fails too."""
    from PIL import Image, ImageCms, ImageOps
    try:
        with Image.open(path, formats=PILLOW_FORMATS) as opened:
            opened.load()
            im = ImageOps.exif_transpose(opened)
            if im.mode == "LAB":
                im = ImageCms.applyTransform(im, ImageCms.buildTransform(
                    ImageCms.createProfile("LAB"), ImageCms.createProfile("sRGB"), "LAB", "RGB")) or im
            rgb = np.asarray(im.convert("RGBA" if "A" in im.getbands() or "transparency" in im.info else "RGB"))
    except Exception:
        return None
    whole = pyvips.Image.new_from_array(np.ascontiguousarray(rgb), interpretation="srgb")
    return whole.thumbnail_image(width, height=height, size=size, crop=crop)


# ---- SVG, drawn in processes of their own --------------------------------------------------
# A few long-lived drawing processes (starting one per SVG costs ~0.1 s, and the demo has 2,465):
# each takes one SVG at a time on stdin and answers with its pixels; its address space is limited,
# and before each SVG its CPU limit is set to what it has used plus SVG_SECONDS. Over a limit
# the process dies, the SVG is refused, and the next SVG gets a fresh process.

_SVG_WORKER = r"""
import math, resource, struct, sys
mem = int(sys.argv[1]) << 20
resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
import pyvips
pyvips.operation_block_set("VipsForeignLoad", True)  # SVG from a buffer, nothing else
pyvips.operation_block_set("VipsForeignLoadSvgBuffer", False)
pyvips.cache_set_max(0)
inp, out = sys.stdin.buffer, sys.stdout.buffer
while head := inp.readline():
    width, height, size, crop, fail_on, seconds, n = head.decode().split()
    data = inp.read(int(n))
    used = resource.getrusage(resource.RUSAGE_SELF)
    resource.setrlimit(resource.RLIMIT_CPU, (math.ceil(used.ru_utime + used.ru_stime) + int(seconds),
                                             resource.RLIM_INFINITY))
    try:
        im = pyvips.Image.thumbnail_buffer(data, int(width), height=int(height), size=size, crop=crop,
                                           fail_on=fail_on).cast("uchar")
        status, reply = b"+", struct.pack("<III", im.width, im.height, im.bands) + im.write_to_memory()
    except pyvips.Error as e:
        status, reply = b"-", str(e).encode()
    out.write(status + struct.pack("<Q", len(reply)) + reply)
    out.flush()
"""
SVG_WORKER_USES = 500  # SVGs drawn by one process before a fresh one takes over (heap growth)


class _SvgWorker:
    def __init__(self) -> None:
        self.err = tempfile.TemporaryFile()
        env = {**os.environ, "VIPS_CONCURRENCY": "1", "MALLOC_ARENA_MAX": "2"}
        self.proc = subprocess.Popen(
            [sys.executable, "-I", "-c", _SVG_WORKER, str(SVG_MEMORY_MB)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.err, env=env)
        self.uses = 0

    def draw(self, data: bytes, job: str) -> bytes:
        """Width, height, bands and 8-bit pixels; DecodeError for a bad SVG; Refused (and the
        process ended) over a limit."""
        self.uses += 1
        assert self.proc.stdin is not None and self.proc.stdout is not None
        deadline = time.monotonic() + SVG_SECONDS * 3 + 10  # wall clock: a backstop for a busy machine
        try:
            self.proc.stdin.write(f"{job} {len(data)}\n".encode() + data)
            self.proc.stdin.flush()
            head = self._read(9, deadline)
            reply = self._read(struct.unpack("<Q", head[1:])[0], deadline)
        except (OSError, EOFError):
            raise self._ended() from None
        if head[:1] == b"-":
            raise DecodeError(reply.decode("utf-8", "replace").strip() or "the SVG renderer failed")
        return reply

    def _read(self, n: int, deadline: float) -> bytes:
        fd, got = self.proc.stdout.fileno(), bytearray()  # type: ignore[union-attr]
        while len(got) < n:
            if not select.select([fd], [], [], max(0.0, deadline - time.monotonic()))[0]:
                self.proc.kill()
                raise EOFError
            chunk = os.read(fd, min(n - len(got), 1 << 20))
            if not chunk:
                raise EOFError
            got += chunk
        return bytes(got)

    def _ended(self) -> Exception:
        """Why the process died (it has: a limit, or a crash)."""
        self.proc.kill()
        rc = self.proc.wait()
        self.err.seek(0)
        err = self.err.read().decode("utf-8", "replace")[-2000:].lower()
        if rc in (-signal.SIGXCPU, -signal.SIGKILL):
            return Refused(f"SVG takes more than {SVG_SECONDS} s of CPU to draw, the limit (filters too heavy?)")
        if "memory" in err or "alloc" in err:
            return Refused(f"SVG needs more than {SVG_MEMORY_MB} MB of memory to draw, the limit "
                           f"(large embedded images?)")
        return Refused(f"the SVG renderer crashed ({signal.Signals(-rc).name if rc < 0 else f'exit {rc}'})")

    def usable(self) -> bool:
        return self.proc.poll() is None and self.uses < SVG_WORKER_USES

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()  # the loop ends at end of input
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.err.close()


_idle: list[_SvgWorker] = []
_idle_lock = threading.Lock()


def _draw_svg(data: bytes, width: int, height: int, size: str, crop: str, fail_on: str):
    """Draw SVG text in a drawing process. It has no file name, so librsvg resolves no relative
    reference (xi:include, image href, CSS): no other file can be read."""
    with _SVG_SLOTS:
        with _idle_lock:
            worker = _idle.pop() if _idle else None
        worker = worker or _SvgWorker()
        try:
            reply = worker.draw(data, f"{width} {height} {size} {crop} {fail_on} {SVG_SECONDS}")
        finally:
            if worker.usable():
                with _idle_lock:
                    _idle.append(worker)
            else:
                worker.close()
    w, h, bands = struct.unpack("<III", reply[:12])
    im = pyvips.Image.new_from_memory(reply[12:], w, h, bands, "uchar")
    return im.copy(interpretation="srgb" if bands >= 3 else "b-w")


@atexit.register
def _close_workers() -> None:
    with _idle_lock:
        while _idle:
            _idle.pop().close()


# ---- results -------------------------------------------------------------------------------

def to_array(im) -> np.ndarray:
    """A pyvips image as an (h, w, bands) uint8 array."""
    return np.ndarray(buffer=im.write_to_memory(), dtype=np.uint8, shape=(im.height, im.width, im.bands))


def cell_image(path: Path, cell: tuple[int, int], fit: str, background: list[int], fail_on: str = "none",
               max_megapixels: float | None = None):
    """The mosaic cell of an image: exactly cell[0] x cell[1], letterboxed on the background."""
    return letterbox(decode(path, cell[0], cell[1], fit, background, fail_on, max_megapixels), cell, background)


def letterbox(im, cell: tuple[int, int], background: list[int]):
    """An image fitted inside a cell, centred on the background to exactly the cell's size."""
    if (im.width, im.height) != tuple(cell):
        im = im.gravity("centre", cell[0], cell[1], extend="background", background=background)
    return im
