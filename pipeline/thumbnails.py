"""Thumbnails: each image's mosaic cell, preview and CNN input, from one decode, cached by content.

One decode per image (decode.decode_set, or small_set for small plain files) feeds all three: each
new image's CNN input goes straight to the model (a ``sink``: features.Stream), and the features
stage reads what it still needs from here (``cnn_input``) instead of decoding the original again.

Damaged files: a strict decode first; if libvips reports damage (a truncated JPEG, say), the
file is decoded again leniently and included with a warning when some picture came out, or
skipped when nothing did. The outcome of a failed or damaged file is cached by content hash
(and libvips version), so a rerun does not decode it again. Any failure while inspecting or
decoding one file skips that file; files over a fixed limit of decode.py are refused at once.
"""
from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from .cache import read_json, write_json
from .decode import DECODER_VERSION, DEFAULT_MAX_MEGAPIXELS, Refused, TooLarge, decode_set, letterbox, small_set, to_array
from .intake import colour_hex
from .parallel import Turns, parallel_map
from .report import disk_problem

_DECODES = Turns()  # libvips keeps one error buffer for all threads (see _attempt)
_LOST = "the decoder gave no reason"
Sink = Callable[[str, np.ndarray], None]  # (digest, CNN input): features.Stream.feed


@dataclass(frozen=True)
class ThumbSpec:
    cell: tuple[int, int]      # mosaic cell size in px
    fit: str                   # 'contain' or 'fill'
    preview: int               # longest side of the preview, px
    background: tuple[int, int, int]
    cnn: int = 0               # the model's square input size; 0: no CNN input is made


    @property
    def folder(self) -> str:
        return f"{self.cell[0]}x{self.cell[1]}-{self.fit}-{self.preview}-{colour_hex(self.background)}-d{DECODER_VERSION}"


@dataclass
class Outcome:
    failed: dict[str, str] = field(default_factory=dict)    # relpath -> why it was skipped
    warnings: dict[str, str] = field(default_factory=dict)  # relpath -> why it is included but damaged


def thumbnail_paths(cache: Path, spec: ThumbSpec, digest: str) -> tuple[Path, Path]:
    base = cache / "thumbs" / spec.folder / digest[:2]
    return base / f"{digest}.cell.jpg", base / f"{digest}.jpg"


CNN_INPUT_VERSION = 3  # in the features cache's key: 2 = derived from the thumbnails' decode, lossless PNG;
# 3: small images (decode.small_set) made by Pillow, and not stored: remade from the file


def cnn_input_path(cache: Path, size: int, background, digest: str) -> Path:
    bg = colour_hex(background)
    return cache / "cnn-input" / f"{size}-{bg}-v{CNN_INPUT_VERSION}-d{DECODER_VERSION}" / digest[:2] / f"{digest}.png"


def _cnn_png(im) -> bytes:
    """The CNN input as stored: lossless, so the build's vectors are those of the pixels the
    page's search by image reproduces (a JPEG round trip cost up to 0.02 of cosine on line art)."""
    return im.pngsave_buffer(compression=1, strip=True)


def _png_array(data: bytes) -> np.ndarray:
    import pyvips
    return to_array(pyvips.Image.new_from_buffer(data, "", access="sequential"))


def cnn_input(root: Path, rel: str, digest: str, cache: Path | None, size: int, background) -> np.ndarray:
    """The (size, size, 3) model input of an image: the thumbnail stage's file when it made one,
    else made the same way now (one decode, the same PNG): either way the same input. A small
    image's input is not stored (the stream took it at its decode; remade from the file here, it
    is the same pixels, cheaper than a PNG's encode, write and read)."""
    path = cnn_input_path(cache, size, background, digest) if cache is not None else None
    try:
        data = path.read_bytes() if path is not None else None
    except OSError:
        data = None
    if data is None and (small := small_set(root / rel, {"cnn": (size, size, "force")}, list(background))):
        return small["cnn"]
    if data is None:
        im = decode_set(root / rel, {"cnn": (size, size, "force")}, list(background))["cnn"]
        data = _cnn_png(im)
    return _png_array(data)


def _note_path(cache: Path, spec: ThumbSpec, digest: str) -> Path:
    return thumbnail_paths(cache, spec, digest)[0].with_suffix(".note.json")


def _vips_version() -> str:
    import pyvips
    return ".".join(str(pyvips.version(i)) for i in range(3))


_made_dirs: set[str] = set()


def _put(path: Path, data: bytes) -> None:
    """Write atomically (a temporary name, then rename), with fewer system calls than
    cache.atomic_path: per-image setup is what small images cost."""
    folder = str(path.parent)
    if folder not in _made_dirs:
        os.makedirs(folder, exist_ok=True)
        _made_dirs.add(folder)
    tmp = f"{folder}/.{path.name}.{os.getpid()}.{threading.get_ident()}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)  # the umask applies
        try:
            os.write(fd, data)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _write(root: Path, cache: Path, spec: ThumbSpec, rel: str, digest: str, fail_on: str,
           max_mpx: float | None, sink: Sink | None = None) -> None:
    """Write the cell, the preview and (large images) the stored CNN input; hand the CNN input to
    ``sink`` when given, from the same decode."""
    cell_path, preview_path = thumbnail_paths(cache, spec, digest)
    bg = list(spec.background)
    boxes = {"cell": (*spec.cell, spec.fit), "preview": (spec.preview, spec.preview, "contain")}
    cnn_box = {"cnn": (spec.cnn, spec.cnn, "force")} if spec.cnn else {}
    small = small_set(root / rel, boxes | (cnn_box if sink else {}), bg, max_mpx) if fail_on == "error" else None
    if small is not None:  # Pillow: a small plain file decodes cleanly (its CNN input is not stored)
        _put(preview_path, _jpeg(small["preview"], 85))
        _put(cell_path, _jpeg(_letterbox(small["cell"], spec.cell, bg), 95))
        if sink and cnn_box:
            sink(digest, small["cnn"])
        return
    ims = decode_set(root / rel, boxes | cnn_box, bg, fail_on, max_mpx)
    # encoded first, written after: a decode failing late leaves no partial set
    out = [(preview_path, ims["preview"].jpegsave_buffer(Q=85, strip=True)),
           (cell_path, letterbox(ims["cell"], spec.cell, bg).jpegsave_buffer(Q=95, strip=True))]
    if spec.cnn:
        out.append((cnn_input_path(cache, spec.cnn, spec.background, digest), _cnn_png(ims["cnn"])))
    for path, data in out:
        _put(path, data)
    if sink and spec.cnn:
        sink(digest, _png_array(out[-1][1]))  # the stored pixels, as cnn_input reads them


def _jpeg(rgb: np.ndarray, quality: int) -> bytes:
    """Pillow's JPEG as libvips' jpegsave writes it: the same libjpeg tables for the quality, and
    chroma subsampled below quality 90 only."""
    import io

    from PIL import Image
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=quality, subsampling=2 if quality < 90 else 0)
    return buf.getvalue()


def _letterbox(rgb: np.ndarray, cell: tuple[int, int], background: list[int]) -> np.ndarray:
    """decode.letterbox for an array: centred on the background, exactly the cell's size."""
    h, w = rgb.shape[:2]
    if (w, h) == tuple(cell):
        return rgb
    out = np.empty((cell[1], cell[0], 3), np.uint8)
    out[:] = background
    x, y = (cell[0] - w) // 2, (cell[1] - h) // 2
    out[y:y + h, x:x + w] = rgb
    return out


def _decode_outcome(root: Path, cache: Path, spec: ThumbSpec, rel: str, digest: str, max_mpx: float,
                    sink: Sink | None = None) -> dict:
    """Decode strictly, then leniently: {} when clean, else {'error'|'warning': text}.
    A clean file (the common case) is decoded once, and only it goes to ``sink`` (a damaged
    file's features are made by the features stage). TooLarge is raised: it is not cached."""
    try:
        return _try_decode(root, cache, spec, rel, digest, max_mpx, sink)
    except TooLarge:
        raise
    except Refused as e:  # over a fixed limit: final, no lenient retry
        return {"error": str(e)}
    except Exception as e:  # whatever inspecting the file raised: this file only
        return {"error": _reason(_not_disk(e))}


def _try_decode(root: Path, cache: Path, spec: ThumbSpec, rel: str, digest: str, max_mpx: float,
                sink: Sink | None) -> dict:
    if (root / rel).stat().st_size == 0:
        return {"error": "empty file (0 bytes)"}
    damage = _attempt(root, cache, spec, rel, digest, "error", max_mpx, sink)
    if damage is None:
        return {}
    failure = _attempt(root, cache, spec, rel, digest, "none", None)
    if failure is not None:
        return {"error": failure}
    with _DECODES.together():  # libvips work too: kept out of another file's retry alone
        blank = _is_blank(thumbnail_paths(cache, spec, digest)[1])
    if blank:
        for p in thumbnail_paths(cache, spec, digest):
            p.unlink(missing_ok=True)
        return {"error": f"damaged file, no picture could be decoded ({_detail(damage)})"}
    return {"warning": f"damaged file ({_detail(damage)}); included the part that could be decoded"}


def _attempt(root: Path, cache: Path, spec: ThumbSpec, rel: str, digest: str, fail_on: str,
             max_mpx: float | None, sink: Sink | None = None) -> str | None:
    """Write the thumbnails; None on success, else why not. libvips keeps one error buffer for
    all threads, so a failure's message may be another thread's, or lost: a failure is tried
    again with no other decode running, and the reason given is that try's."""
    reason = None
    for turn in (_DECODES.together, _DECODES.alone):
        try:
            with turn():
                _write(root, cache, spec, rel, digest, fail_on, max_mpx, sink)
            return None
        except Refused:
            raise
        except Exception as e:
            reason = _reason(_not_disk(e))
    return reason


def _detail(reason: str) -> str:
    return reason.removeprefix("cannot decode: ")


def _is_blank(preview: Path) -> bool:
    """A lenient decode of a file with no picture data comes out one flat grey (give or take
    resampling ripples): under 1 % of its pixels stray from the mean."""
    import pyvips
    grey = pyvips.Image.new_from_file(str(preview)).colourspace("b-w")[0]
    stray = (grey - grey.avg()).abs() > 12  # 255 where true
    return stray.avg() < 255 * 0.01


def _make(root: Path, cache: Path, spec: ThumbSpec, rel: str, digest: str, max_mpx: float,
          sink: Sink | None = None) -> dict:
    """Write one image's cell and preview unless cached; return its outcome (see _decode_outcome).

    The size limit guards decoding, so images already decoded are not checked again."""
    note_path = _note_path(cache, spec, digest)
    note = read_json(note_path)
    made = all(p.exists() for p in thumbnail_paths(cache, spec, digest))
    if note and note.get("vips") == _vips_version() and ("error" in note or made):
        return {k: v for k, v in note.items() if k != "vips"}
    if made and not note:
        return {}
    try:
        outcome = _decode_outcome(root, cache, spec, rel, digest, max_mpx, sink)
    except TooLarge as e:  # depends on --max-megapixels: not noted
        return {"error": str(e)}
    if outcome:
        write_json(note_path, {**outcome, "vips": _vips_version()})
    return outcome


def _not_disk(e: Exception) -> Exception:
    """A full disk is not the image's fault: it ends the build instead of skipping the file."""
    if disk_problem(e):
        raise e
    return e


def _reason(e: Exception) -> str:
    text = [line.strip() for line in str(e).strip().splitlines() if line.strip()]
    if any(("not a known file format" in line or "not in a known format" in line) for line in text):
        return "not an image: the content is in no format libvips or Pillow can read"
    detail = next((line for line in text if not line.startswith(("unable to call", "unable to copy to memory",
                                                                       "VipsForeignLoad:"))),
                  None)
    return f"cannot decode: {detail}"[:300] if detail else f"cannot decode: {_LOST}"


def _done(folder: str, digest: str) -> bool:
    """Both thumbnails made, nothing noted: a rebuild's common case, checked with plain strings
    because 100,000 pathlib round trips cost seconds."""
    base = f"{folder}/{digest[:2]}/{digest}"
    return (os.path.exists(f"{base}.cell.jpg") and os.path.exists(f"{base}.jpg")
            and not os.path.exists(f"{base}.cell.note.json"))


def make_thumbnails(root: Path, digests: dict[str, str], cache: Path, spec: ThumbSpec,
                    max_megapixels: float = DEFAULT_MAX_MEGAPIXELS, sink: Sink | None = None) -> Outcome:
    """Make missing thumbnails for ``{relpath: digest}``; return failures and damage warnings.
    Each newly decoded image's CNN input goes to ``sink`` (features.Stream.feed), if given."""
    folder = f"{cache}/thumbs/{spec.folder}"
    first: dict[str, str] = {}  # digest -> the first file with that content: each content made once
    for rel, digest in digests.items():
        if digest not in first and not _done(folder, digest):
            first[digest] = rel
    results = parallel_map(lambda d: _make(root, cache, spec, first[d], d, max_megapixels, sink), first)
    outcome = dict(tqdm(zip(first, results), total=len(first), desc="thumbnails", unit="img", leave=False))
    out = Outcome()
    for rel, digest in digests.items():
        result = outcome.get(digest, {})
        if "error" in result:
            out.failed[rel] = result["error"]
        elif "warning" in result:
            out.warnings[rel] = result["warning"]
    return out
