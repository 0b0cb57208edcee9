"""Search by image says "no close match" for unrelated pictures (the rule in pipeline/image_search.py,
measured in bench/search_libs/image_calibration.py), and still finds copies of collection items."""
from __future__ import annotations

import numpy as np
from conftest import ROOT, site_items
from PIL import Image, ImageDraw

from pipeline import image_search
from pipeline.columns import read_collection
from pipeline.decode import decode

SVG = ROOT / "node_modules" / "openmoji" / "color" / "svg"


def best_two(index, path):
    _, vec = image_search.embed(index, image_search.pixels(index, path)[None])
    return image_search.rank(index, vec[0], 2)


def seascape(path):
    im = Image.new("RGB", (480, 320))
    d = ImageDraw.Draw(im)
    for y in range(320):
        t = y / 320
        d.line([(0, y), (480, y)], fill=(int(120 + 100 * t), int(170 + 60 * t), 255) if y < 170
               else (10, int(60 + 80 * t), int(120 + 60 * t)))
    d.ellipse([300, 40, 350, 90], fill=(255, 230, 120))
    im.save(path)
    return path


def test_copies_match_and_unrelated_pictures_do_not(built_site, tmp_path):
    c = read_collection(built_site)
    match = c["image_search"]["match"]
    assert match["min_score"] >= image_search.MATCH_MIN and 0 < match["typical_neighbour"] < 1
    index = image_search.load_index(built_site)
    items = site_items(built_site)
    found = 0
    for i in range(0, len(items), 12):  # ten artworks, each cropped to its centre and saved as JPEG
        im = decode(SVG / items[i]["id"], 320, 320, "contain", [255, 255, 255]).crop(40, 40, 240, 240)
        im.write_to_file(str(tmp_path / f"copy-{i}.jpg"), Q=60)
        top = best_two(index, tmp_path / f"copy-{i}.jpg")
        found += top[0][0] == i and image_search.is_close(match, [s for _, s in top])
    assert found >= 8, found
    noise = tmp_path / "noise.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (224, 224, 3), dtype=np.uint8)).save(noise)
    flat = tmp_path / "flat.png"
    Image.new("RGB", (300, 200), (40, 90, 160)).save(flat)
    for other in (seascape(tmp_path / "sea.png"), noise, flat):
        scores = [s for _, s in best_two(index, other)]
        assert not image_search.is_close(match, scores), (other.name, scores)
