"""--exclude DIR: leave out images that match a folder of unwanted ones (placeholders).

Archive exports repeat an "image not available" picture thousands of times, often re-encoded
or resized. A file is excluded when its bytes equal an excluded file's, or when its perceptual
hash (a 64-bit DCT hash of the mosaic cell, so aspect and letterbox are treated alike) is within
a few bits of one.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import UserError
from .cache import file_digest, read_json, write_json
from .decode import DEFAULT_MAX_MEGAPIXELS, cell_image, to_array
from .intake import find_images
from .parallel import parallel_map
from .thumbnails import ThumbSpec, thumbnail_paths

MAX_DISTANCE = 6  # differing bits of 64: re-encoding and resizing stay well under, other pictures far over


@dataclass
class Unwanted:
    digests: dict[str, str]      # content hash -> excluded file name
    hashes: dict[str, int]       # excluded file name -> perceptual hash


def phash(rgb: np.ndarray) -> int:
    """64-bit perceptual hash: signs of the 8x8 lowest DCT frequencies of a 32x32 grey image."""
    import pyvips
    from scipy.fft import dctn
    grey = pyvips.Image.new_from_array(np.ascontiguousarray(rgb)).copy(interpretation="srgb").colourspace("b-w")
    small = to_array(grey.thumbnail_image(32, height=32, size="force"))[..., 0].astype(np.float64)
    low = dctn(small, norm="ortho")[:8, :8].reshape(-1)
    bits = low > np.median(low[1:])
    return int("".join("1" if b else "0" for b in bits), 2)


def load_unwanted(folder: str | Path, spec: ThumbSpec, max_megapixels: float = DEFAULT_MAX_MEGAPIXELS) -> Unwanted:
    """Hash every image in the --exclude folder, as a collection cell would be made (with the
    collection's limits: an SVG is drawn from its bytes, in a bounded process)."""
    if not Path(folder).is_dir():
        raise UserError(f"--exclude {folder!s}: not a folder (give a folder of images to leave out)")
    found = find_images(folder)
    out = Unwanted({}, {})
    for rel in found.files:
        path = found.root / rel
        out.digests[file_digest(path)] = rel
        try:
            cell = cell_image(path, spec.cell, spec.fit, list(spec.background), max_megapixels=max_megapixels)
            out.hashes[rel] = phash(to_array(cell))
        except Exception:
            pass  # not decodable or over a limit: it still matches by content hash
    return out


def _cell_hash(cache: Path, spec: ThumbSpec, digest: str) -> int | None:
    try:
        return phash(to_array(_open(thumbnail_paths(cache, spec, digest)[0])))
    except Exception:
        return None


def _open(path: Path):
    import pyvips
    return pyvips.Image.new_from_file(str(path))


def cell_hashes(cache: Path, spec: ThumbSpec, digests: list[str]) -> dict[str, int | None]:
    """Perceptual hash of each cached cell, kept in the cache by content hash."""
    store = cache / "phash" / f"{spec.folder}.json"
    known: dict[str, int | None] = read_json(store, {}) or {}
    todo = [d for d in dict.fromkeys(digests) if d not in known]
    known.update(zip(todo, parallel_map(lambda d: _cell_hash(cache, spec, d), todo)))
    if todo:
        write_json(store, known)
    return {d: known[d] for d in digests}


def match(digests: dict[str, str], unwanted: Unwanted, cache: Path, spec: ThumbSpec) -> dict[str, str]:
    """{relpath: reason} of the collection's files that match an unwanted image."""
    out = {rel: f"identical to {unwanted.digests[d]} in --exclude" for rel, d in digests.items()
           if d in unwanted.digests}
    if not unwanted.hashes:
        return out
    names = list(unwanted.hashes)
    table = np.array([unwanted.hashes[n] for n in names], dtype=np.uint64)
    rest = [rel for rel in digests if rel not in out]
    hashes = cell_hashes(cache, spec, [digests[rel] for rel in rest])
    for rel in rest:
        h = hashes[digests[rel]]
        if h is None:
            continue
        dist = [bin(int(x) ^ h).count("1") for x in table]
        best = int(np.argmin(dist))
        if dist[best] <= MAX_DISTANCE:
            out[rel] = f"looks like {names[best]} in --exclude ({dist[best]} of 64 bits differ)"
    return out
