"""Mosaic: paste every item's cell thumbnail at its grid cell and cut a Deep Zoom pyramid.

The full mosaic (1.6 gigapixels at 100,000 items) never exists in memory. The top levels are
cut in independent square blocks of ``tile * 2**k`` px, one block per task on a pool of
processes: a worker pastes the block's cells (plus an ``overlap * 2**k`` px margin), cuts its
tiles, halves it k times cutting each level, and returns its smallest level's core. Because
blocks are aligned to ``2**k`` px, halving a block gives exactly the pixels of halving the
whole image. Those cores form a 1/4**k-size image, from which the remaining small levels are cut
in memory. Peak memory: one block per worker plus the small image.
"""
from __future__ import annotations

import math
import os
import shutil
import tempfile
from collections import deque
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from itertools import islice
from multiprocessing import get_context
from pathlib import Path

from tqdm import tqdm

BLOCK_LEVELS = 3          # k: levels cut inside each block (block = tile * 8 px)
POOL_MIN_BLOCKS = 16      # fewer blocks than this (~4,000 items of 128 px) are cut in this process
READ_THREADS = 8          # cell files read at once per block worker


@dataclass(frozen=True)
class TileSpec:
    size: int = 254        # DZI tile size (px)
    overlap: int = 1       # DZI tile overlap (px)
    format: str = "jpg"    # jpg | png | webp
    quality: int = 85


@dataclass(frozen=True)
class _Job:
    """What every worker needs, sent once per worker (the cells go with each block: at a million
    items the whole list, sent to every worker, would cost each one ~150 MB)."""
    cols: int
    rows: int
    cell: tuple[int, int]
    background: tuple[int, int, int]
    tiles: TileSpec
    top: int               # the deepest level's number
    k: int                 # levels cut per block
    folder: str            # <name>_files


_JOB: _Job | None = None


def _init(job: _Job | None) -> None:
    global _JOB
    _JOB = job


def _read(path: str | None) -> bytes | None:
    if path is None:
        return None
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return None  # an unreadable cell shows the background


def _paste(job: _Job, cells: list[tuple[int, int, str | None]], x0: int, y0: int, x1: int, y1: int):
    """The mosaic's pixels [y0:y1, x0:x1] as a Pillow image, from the cells ``(row, col, path)``
    that overlap them. The files are read on a few threads: a cold or busy disk then serves
    several reads at once instead of one per process (decoding stays in order, here)."""
    import io

    from PIL import Image
    cw, ch = job.cell
    out = Image.new("RGB", (x1 - x0, y1 - y0), job.background)
    with ThreadPoolExecutor(READ_THREADS) as pool:
        for (r, c, _), data in zip(cells, pool.map(_read, [p for _, _, p in cells])):
            if data is None:
                continue
            try:
                with Image.open(io.BytesIO(data)) as im:
                    if im.size == (cw, ch):
                        out.paste(im.convert("RGB"), (c * cw - x0, r * ch - y0))  # clipped by Pillow
            except (OSError, ValueError, SyntaxError):
                continue  # an undecodable cell shows the background
    return out


def _cut(im, ox: int, oy: int, level: int, width: int, height: int,
         tx: range, ty: range, spec: TileSpec, folder: Path) -> None:
    """Write tiles (tx x ty) of a level from ``im``, whose pixel (0, 0) is the level's (ox, oy)."""
    t, o = spec.size, spec.overlap
    (folder / str(level)).mkdir(parents=True, exist_ok=True)
    fmt, opts = {"png": ("PNG", {"compress_level": 6}), "webp": ("WEBP", {"quality": spec.quality})}.get(
        spec.format, ("JPEG", {"quality": spec.quality}))
    for r in ty:
        for c in tx:
            x0, y0 = max(c * t - o, 0), max(r * t - o, 0)
            x1, y1 = min((c + 1) * t + o, width), min((r + 1) * t + o, height)
            im.crop((x0 - ox, y0 - oy, x1 - ox, y1 - oy)).save(
                folder / str(level) / f"{c}_{r}.{spec.format}", fmt, **opts)


def _block(task: tuple[int, int, list[tuple[int, int, str | None]]]):
    """Cut levels top .. top-k of one block; return its core at level top-k (a Pillow image).

    Pillow's reduce(2) averages each 2x2 box, rounding half up; at an odd edge it averages the
    pixels that exist, as halving the whole image would.
    """
    job = _JOB
    assert job is not None
    bx, by, cells = task
    x0, y0, x1, y1 = _extent(job, bx, by)
    t, k = job.tiles.size, job.k
    width, height = job.cols * job.cell[0], job.rows * job.cell[1]
    im = _paste(job, cells, x0, y0, x1, y1)
    for j in range(k + 1):
        if j:
            im = im.reduce(2)
        w, h = -(-width // (1 << j)), -(-height // (1 << j))  # ceil: the level's size
        per = 1 << (k - j)  # tiles per block side at this level
        tx = range(bx * per, min((bx + 1) * per, math.ceil(w / t)))
        ty = range(by * per, min((by + 1) * per, math.ceil(h / t)))
        _cut(im, x0 >> j, y0 >> j, job.top - j, w, h, tx, ty, job.tiles, Path(job.folder))
    cx, cy = (bx * t) - (x0 >> k), (by * t) - (y0 >> k)
    return bx, by, im.crop((cx, cy, min(cx + t, im.width), min(cy + t, im.height)))


def _extent(job: _Job, bx: int, by: int) -> tuple[int, int, int, int]:
    """The mosaic pixels block (bx, by) pastes: its span plus the overlap margin, clipped."""
    span, margin = job.tiles.size << job.k, job.tiles.overlap << job.k
    width, height = job.cols * job.cell[0], job.rows * job.cell[1]
    return (max(bx * span - margin, 0), max(by * span - margin, 0),
            min((bx + 1) * span + margin, width), min((by + 1) * span + margin, height))


def _block_cells(job: _Job, cells: list[str | None], bx: int, by: int) -> list[tuple[int, int, str | None]]:
    """(row, col, path) of every cell overlapping block (bx, by), row-major."""
    cw, ch = job.cell
    x0, y0, x1, y1 = _extent(job, bx, by)
    return [(r, c, cells[r * job.cols + c])
            for r in range(y0 // ch, min(job.rows, (y1 - 1) // ch + 1))
            for c in range(x0 // cw, min(job.cols, (x1 - 1) // cw + 1)) if cells[r * job.cols + c] is not None]


def _dzi(tiles: TileSpec, width: int, height: int) -> str:
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<Image xmlns="http://schemas.microsoft.com/deepzoom/2008" Format="{tiles.format}" '
            f'Overlap="{tiles.overlap}" TileSize="{tiles.size}">\n'
            f'  <Size Width="{width}" Height="{height}"/>\n</Image>\n')


def build(cells: list[Path | None], cols: int, rows: int, cell: tuple[int, int],
          background: list[int], tiles: TileSpec, out_dir: Path, name: str = "mosaic",
          workers: int | None = None) -> Path:
    """Write ``out_dir/<name>.dzi`` and ``out_dir/<name>_files/``; return the .dzi path.

    ``cells[c]`` is the thumbnail file of grid cell c (row-major), None for an empty cell.
    The output folder is written beside and renamed into place when complete.
    """
    from PIL import Image
    width, height = cols * cell[0], rows * cell[1]
    top = math.ceil(math.log2(max(width, height, 1)))
    k = min(BLOCK_LEVELS, top)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}."))
    work.chmod(0o755)  # mkdtemp makes it private; the site's web server must read the tiles
    try:
        folder = work / f"{name}_files"
        job = _Job(cols, rows, (cell[0], cell[1]), (background[0], background[1], background[2]), tiles, top, k,
                   str(folder))
        paths = [str(p) if p else None for p in cells] + [None] * (cols * rows - len(cells))
        span = tiles.size << k
        blocks = [(bx, by) for by in range(math.ceil(height / span)) for bx in range(math.ceil(width / span))]
        small = Image.new("RGB", (math.ceil(width / (1 << k)), math.ceil(height / (1 << k))))
        for bx, by, core in _run_blocks(job, paths, blocks, workers):
            small.paste(core, (bx * tiles.size, by * tiles.size))
        for level in range(top - k - 1, -1, -1):  # the small levels, from the joined cores
            small = small.reduce(2)
            w, h = small.size
            _cut(small, 0, 0, level, w, h, range(math.ceil(w / tiles.size)), range(math.ceil(h / tiles.size)),
                 tiles, folder)
        (work / f"{name}.dzi").write_text(_dzi(tiles, width, height))
        if out_dir.exists():
            shutil.rmtree(out_dir)
        work.rename(out_dir)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return out_dir / f"{name}.dzi"


def _run_blocks(job: _Job, paths: list[str | None], blocks: list[tuple[int, int]], workers: int | None):
    """Cut every block; on a process pool (Pillow's codecs hold the GIL) unless there are few.
    Each block's cell list is made as it is sent, so only a window of them exists at a time."""
    workers = min(workers or os.cpu_count() or 1, len(blocks))
    if len(blocks) < POOL_MIN_BLOCKS:  # starting processes costs more than a few blocks take
        workers = 1
    bar = tqdm(total=len(blocks), desc="mosaic blocks", unit="block", leave=False)
    try:
        if workers <= 1:
            _init(job)
            for bx, by in blocks:
                yield _block((bx, by, _block_cells(job, paths, bx, by)))
                bar.update()
            _init(None)
            return
        # spawn, not fork: the parent may hold TensorFlow's threads
        with ProcessPoolExecutor(workers, mp_context=get_context("spawn"), initializer=_init,
                                 initargs=(job,)) as pool:
            tasks = ((bx, by, _block_cells(job, paths, bx, by)) for bx, by in blocks)
            running = deque(pool.submit(_block, t) for t in islice(tasks, 4 * workers))
            while running:
                yield running.popleft().result()
                running.extend(pool.submit(_block, t) for t in islice(tasks, 1))
                bar.update()
    finally:
        bar.close()
