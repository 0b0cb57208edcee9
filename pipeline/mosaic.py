"""Mosaic: paste every item's cell thumbnail at its grid cell and cut a Deep Zoom pyramid.

Memory stays bounded whatever N: each grid row is joined from its cells and written to a
temporary strip file, then libvips streams the strips top to bottom through ``dzsave``, so the
full mosaic (1.6 gigapixels at 100,000 items) never exists in memory.
"""
from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm


@dataclass(frozen=True)
class TileSpec:
    size: int = 254        # DZI tile size (px)
    overlap: int = 1       # DZI tile overlap (px)
    format: str = "jpg"    # jpg | png | webp
    quality: int = 85

    @property
    def suffix(self) -> str:
        return f".{self.format}" if self.format == "png" else f".{self.format}[Q={self.quality}]"


def build(cells: list[Path | None], cols: int, rows: int, cell: tuple[int, int],
          background: list[int], tiles: TileSpec, out_dir: Path, name: str = "mosaic") -> Path:
    """Write ``out_dir/<name>.dzi`` and ``out_dir/<name>_files/``; return the .dzi path.

    ``cells[c]`` is the thumbnail file of grid cell c (row-major), None for an empty cell.
    The output folder is written beside and renamed into place when complete.
    """
    import pyvips
    pyvips.cache_set_max(0)  # we read each file once; caching would only hold memory
    blank = pyvips.Image.black(cell[0], cell[1], bands=3).new_from_image(background).cast("uchar")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}."))
    try:
        strips = []
        for r in tqdm(range(rows), desc="mosaic rows", unit="row", leave=False):
            row = [pyvips.Image.new_from_file(str(p), access="sequential") if p else blank
                   for p in cells[r * cols:(r + 1) * cols]]
            row += [blank] * (cols - len(row))
            strip = work / f"row{r:06d}.tif"
            pyvips.Image.arrayjoin(row, across=cols).tiffsave(str(strip), compression="none")
            strips.append(pyvips.Image.new_from_file(str(strip), access="sequential"))
        mosaic = pyvips.Image.arrayjoin(strips, across=1)
        pyramid = work / "pyramid"
        pyramid.mkdir()
        mosaic.dzsave(str(pyramid / name), tile_size=tiles.size, overlap=tiles.overlap,
                      suffix=tiles.suffix, layout="dz", background=background)
        if out_dir.exists():
            shutil.rmtree(out_dir)
        (pyramid).rename(out_dir)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return out_dir / f"{name}.dzi"
