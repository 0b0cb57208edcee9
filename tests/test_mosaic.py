"""The mosaic: cells land where the grid says, the pyramid is a valid Deep Zoom image."""
import xml.etree.ElementTree as ET

import numpy as np
from PIL import Image

from pipeline import mosaic


def test_cells_are_placed_by_grid_and_pyramid_is_complete(tmp_path):
    colours = [(255, 0, 0), (0, 0, 255), (0, 200, 0)]
    files = []
    for i, c in enumerate(colours):
        files.append(tmp_path / f"c{i}.jpg")
        Image.new("RGB", (64, 48), c).save(files[-1], quality=95)
    order = [files[2], None, files[0], files[1]]  # 2 x 2 grid, cell 1 empty
    dzi = mosaic.build(order, 2, 2, (64, 48), [255, 255, 255], mosaic.TileSpec(size=32, overlap=0, format="png"),
                       tmp_path / "tiles")
    size = ET.parse(dzi).getroot()[0].attrib
    assert (size["Width"], size["Height"]) == ("128", "96")
    levels = sorted(int(p.name) for p in (tmp_path / "tiles" / "mosaic_files").iterdir() if p.is_dir())
    assert levels == list(range(8))  # 1 px up to 128 px: ceil(log2(128)) + 1 levels
    top = tmp_path / "tiles" / "mosaic_files" / "7"
    full = np.zeros((96, 128, 3), np.uint8)
    for t in top.glob("*.png"):
        col, row = map(int, t.stem.split("_"))
        full[row * 32:(row + 1) * 32, col * 32:(col + 1) * 32] = np.asarray(Image.open(t).convert("RGB"))
    assert tuple(full[20, 30]) == (0, 200, 0)        # cell 0: files[2]
    assert tuple(full[20, 100]) == (255, 255, 255)   # cell 1: empty, background
    assert abs(int(full[70, 30][0]) - 255) < 5       # cell 2: red
    assert full[70, 100][2] > 250                    # cell 3: blue
