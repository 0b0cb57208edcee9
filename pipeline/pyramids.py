"""Full resolution: each item's own tile pyramid, a IIIF Image API 3.0 level-0 static service.

libvips ``dzsave`` (layout ``iiif3``) writes ``info.json`` and the tiles named as IIIF image
requests (``{region}/{size}/0/default.jpg``), so any static host serves them. A pyramid is made
from the original image, its longest side capped (``--full-res``), and cached by content: the
image's digest plus every setting that changes a pixel or a file name. The ``id`` inside the
cached ``info.json`` is a placeholder; the site stage writes the published one (pipeline/iiif_out.py),
so a new base URL costs no pyramid.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from .cache import read_json, write_json
from .decode import decode, image_size, is_svg
from .intake import colour_hex
from .parallel import parallel_map
from .report import disk_problem

DEFAULT_CAP = 4096        # px on the longest side: VIKUS Viewer's largest size
VECTOR_PX = 1024          # SVG rendered at this size (measured: bench/pyramids.py, docs/iiif.md)
TILE = 512                # tile side: 4x fewer files than 256, the common size of IIIF servers
QUALITY = 85
IN_MEMORY_PX = 16_800_000  # images up to 4096 x 4096 are decoded once into memory: dzsave reads
                           # regions out of order, which a lazy decode would redo
LAYOUT_VERSION = 1        # bump when the files written change
PLACEHOLDER_ID = "https://salon.invalid/iiif"  # replaced in the site by the published address
SERVICE_FILES = ("info.json", "salon.json")  # at a pyramid's top: written per site, not linked from the cache

# decode(path, longest_side) -> sRGB 8-bit 3-band pyvips image, alpha flattened, never upscaled
# beyond what is asked; the caller chooses the size (vectors: any size; rasters: at most theirs)
Decoder = Callable[[Path, int], Any]  # returns a pyvips image


@dataclass(frozen=True)
class PyramidSpec:
    cap: int | None = DEFAULT_CAP      # None: the original size (--full-res max)
    tile: int = TILE
    quality: int = QUALITY
    vector: int = VECTOR_PX
    background: tuple[int, int, int] = (255, 255, 255)

    @property
    def folder(self) -> str:
        bg = colour_hex(self.background)
        return f"{self.cap or 'max'}-t{self.tile}-q{self.quality}-v{self.vector}-{bg}-l{LAYOUT_VERSION}"


@dataclass
class Pyramids:
    """What the stage made: per digest, the cached folder and its full size; failures by file."""
    folders: dict[str, Path] = field(default_factory=dict)       # digest -> cached pyramid folder
    sizes: dict[str, tuple[int, int]] = field(default_factory=dict)  # digest -> (width, height)
    paths: dict[str, list[str]] = field(default_factory=dict)    # digest -> its tiles (relative paths)
    failed: dict[str, str] = field(default_factory=dict)         # relpath -> why it has none
    made: int = 0                                                # pyramids cut by this run
    bytes: int = 0                                               # disk size of all of them
    files: int = 0


def parse_cap(text: str) -> int | None:
    """--full-res: a number of px (0 turns pyramids off) or 'max' (None: the original size)."""
    t = str(text).strip().lower()
    if t == "max":
        return None
    if t.isdigit() and (int(t) == 0 or int(t) >= 64):
        return int(t)
    raise ValueError(f"--full-res takes a longest side in px (64 or more), 0 (off) or max; got {text!r}")


def pyramid_dir(cache: Path, spec: PyramidSpec, digest: str) -> Path:
    return cache / "pyramids" / spec.folder / digest[:2] / digest


def target_px(path: Path, spec: PyramidSpec) -> int:
    """Longest side to render: vectors at the measured size, rasters at their own, both capped."""
    if is_svg(path):
        return min(spec.vector, spec.cap or spec.vector)
    longest = max(image_size(path))  # from the header: no pixels decoded
    return min(longest, spec.cap) if spec.cap else longest


def default_decoder(background: tuple[int, int, int]) -> Decoder:
    """The pipeline's decoder (pipeline/decode.py: its limits, EXIF orientation, colour to
    sRGB, alpha on the background, SVG drawn in a separate process)."""
    def decode_longest(path: Path, px: int):
        return decode(path, px, px, "contain", list(background), "none")
    return decode_longest


def _cut(src: Path, dst: Path, spec: PyramidSpec, decoder: Decoder) -> dict:
    """Decode ``src`` and write its pyramid into ``dst`` (atomically: a temporary folder renamed)."""
    im = decoder(src, target_px(src, spec))
    if im.width * im.height <= IN_MEMORY_PX:
        im = im.copy_memory()
    dst.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(dir=dst.parent, prefix=f".{dst.name}.tmp-"))
    try:
        im.dzsave(str(work / "p"), layout="iiif3", id=PLACEHOLDER_ID, tile_size=spec.tile, overlap=0,
                  suffix=f".jpg[Q={spec.quality},keep=none]")
        meta = _finish(work / "p", im.width, im.height, spec.tile)
        try:
            os.rename(work / "p", dst)
        except OSError:
            if not (dst / "info.json").exists():  # another build made it meanwhile: keep theirs
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return meta


def _finish(folder: Path, width: int, height: int, tile: int) -> dict:
    """Complete what dzsave leaves out and note the pyramid's size.

    A viewer asks for the whole image at full size as ``full/max`` (Image API 3.0 canonical
    form; OpenSeadragon and Mirador do so when it fits one tile), dzsave names it ``full/W,H``:
    both names are given. ``sizes`` lists the whole-image files, for clients that want one
    image (level 0 serves only listed sizes)."""
    fulls = sorted((folder / "full").iterdir(), key=lambda p: int(p.name.split(",")[0])) \
        if (folder / "full").is_dir() else []
    sizes = [tuple(int(v) for v in p.name.split(",")) for p in fulls]
    if (width, height) in sizes:
        (folder / "full" / "max" / "0").mkdir(parents=True)
        os.link(folder / "full" / f"{width},{height}" / "0" / "default.jpg",
                folder / "full" / "max" / "0" / "default.jpg")
    info = read_json(folder / "info.json")
    info["sizes"] = [{"width": w, "height": h} for w, h in sizes]
    write_json(folder / "info.json", info, compact=False)
    total = files = 0
    for root, _, names in os.walk(folder):
        for n in names:
            total += os.path.getsize(os.path.join(root, n))
            files += 1
    meta = {"width": width, "height": height, "bytes": total, "files": files + 1, "tile": tile,
            "paths": tile_paths(folder)}
    write_json(folder / "salon.json", meta)
    return meta


def tile_paths(folder: Path) -> list[str]:
    """The pyramid's image files, as sorted relative POSIX paths: kept in its note so that each
    build links them into the site without walking ~6 folders an item."""
    found = []
    for root, _, names in os.walk(folder):
        rel = Path(root).relative_to(folder)
        found += [(rel / n).as_posix() for n in names if not (rel == Path(".") and n in SERVICE_FILES)]
    return sorted(found)


def _one(root: Path, rel: str, digest: str, cache: Path, spec: PyramidSpec, decoder: Decoder) -> dict:
    """The cached pyramid's note, cutting it first when missing; {'error': why} on failure."""
    dst = pyramid_dir(cache, spec, digest)
    meta = read_json(dst / "salon.json")
    if meta:
        if "paths" not in meta:  # noted by an earlier version: list them once
            meta["paths"] = tile_paths(dst)
            write_json(dst / "salon.json", meta)
        return {**meta, "cached": True}
    try:
        return _cut(root / rel, dst, spec, decoder)
    except Exception as e:  # the item stays, without its full-resolution view
        if disk_problem(e):
            raise
        lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
        return {"error": f"no full-resolution view: {lines[-1] if lines else type(e).__name__}"[:300]}


def make_pyramids(root: Path, items: dict[str, str], cache: Path, spec: PyramidSpec,
                  decoder: Decoder | None = None, workers: int | None = None) -> Pyramids:
    """The pyramid of each ``{relpath: digest}`` item, cut where not cached, on threads
    (libvips releases the GIL). A failure leaves that item without a pyramid, never stops."""
    decoder = decoder or default_decoder(spec.background)
    out = Pyramids()
    rels = list(items)
    results = parallel_map(lambda rel: _one(root, rel, items[rel], cache, spec, decoder), rels, workers)
    for rel, meta in tqdm(zip(rels, results), total=len(rels), desc="pyramids", unit="img", leave=False):
        digest = items[rel]
        if "error" in meta:
            out.failed[rel] = meta["error"]
            continue
        if digest not in out.folders:  # identical files share one pyramid
            out.bytes += meta["bytes"]
            out.files += meta["files"]
        out.folders[digest] = pyramid_dir(cache, spec, digest)
        out.sizes[digest] = (meta["width"], meta["height"])
        out.paths[digest] = meta["paths"]
        out.made += not meta.get("cached")
    return out


def for_build(full_res: int | None, root: Path, digests: dict[str, str], cache: Path,
              background: list[int]) -> Pyramids | None:
    """The build's pyramids stage: None when --full-res 0 turns it off."""
    if full_res == 0:
        return None
    bg = (background[0], background[1], background[2])
    return make_pyramids(root, digests, cache, PyramidSpec(cap=full_res, background=bg))
