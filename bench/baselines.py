"""The straightforward methods Salon is compared with, written as such tools write them."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PIL import Image


def predict_each(paths: list[Path], size: int = 224) -> np.ndarray:
    """Decode each image whole with Pillow, resize to the model's input, one Keras ``predict`` call
    each (the default network in Keras, as the original design ran it)."""
    from pipeline import mobilenet_v2
    from pipeline.model import resolve
    net = mobilenet_v2.build(resolve().state_dict(), size)
    out = []
    for p in paths:
        with Image.open(p) as im:
            x = np.asarray(im.convert("RGB").resize((size, size), Image.Resampling.BILINEAR))
        out.append(np.asarray(net.predict(mobilenet_v2.preprocess(x[None]), verbose=0))[0])
    return np.stack(out)


def one_canvas(order: list[Path | None], cols: int, rows: int, cell: tuple[int, int],
               background: tuple[int, int, int], out: Path, tile: int = 254, overlap: int = 1,
               quality: int = 85) -> None:
    """Paste every cell into one Pillow canvas, then cut Deep Zoom tiles level by level."""
    Image.MAX_IMAGE_PIXELS = None  # Pillow refuses images over 179 Mpx otherwise
    width, height = cols * cell[0], rows * cell[1]
    canvas = Image.new("RGB", (width, height), background)
    for c, p in enumerate(order):
        if p:
            with Image.open(p) as im:
                canvas.paste(im, ((c % cols) * cell[0], (c // cols) * cell[1]))
    top = math.ceil(math.log2(max(width, height)))
    level = canvas
    for n in range(top, -1, -1):
        w, h = level.size
        folder = out / "mosaic_files" / str(n)
        folder.mkdir(parents=True)
        for r in range(math.ceil(h / tile)):
            for c in range(math.ceil(w / tile)):
                box = (max(c * tile - overlap, 0), max(r * tile - overlap, 0),
                       min((c + 1) * tile + overlap, w), min((r + 1) * tile + overlap, h))
                level.crop(box).save(folder / f"{c}_{r}.jpg", quality=quality)
        if n:
            level = level.reduce(2)
    (out / "mosaic.dzi").write_text(
        f'<?xml version="1.0" encoding="UTF-8"?>\n<Image xmlns="http://schemas.microsoft.com/deepzoom/2008" '
        f'Format="jpg" Overlap="{overlap}" TileSize="{tile}"><Size Width="{width}" Height="{height}"/></Image>\n')
