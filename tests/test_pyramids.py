"""Per-item pyramids: IIIF Image API 3.0 level-0 services cut by libvips, capped, cached by content."""
import json
import math
import shutil

import numpy as np
import pytest
from conftest import ROOT
from PIL import Image

from pipeline import pyramids
from pipeline.cache import file_digest

SVG = ROOT / "node_modules" / "openmoji" / "color" / "svg" / "1F600.svg"


def osd_requests(info: dict) -> list[str]:
    """Every tile URL OpenSeadragon 6 asks a IIIF 3 level-0 service for (its getTileUrl, in Python)."""
    w, h = info["width"], info["height"]
    tile = info["tiles"][0]["width"]
    urls = []
    for sf in info["tiles"][0]["scaleFactors"]:
        lw, lh = math.ceil(w / sf), math.ceil(h / sf)
        for x in range(math.ceil(lw / tile)):
            for y in range(math.ceil(lh / tile)):
                if lw < tile and lh < tile:
                    region, size = "full", "max" if (lw, lh) == (w, h) else f"{lw},{lh}"
                else:
                    ts = tile * sf
                    tx, ty = x * ts, y * ts
                    tw, th = min(ts, w - tx), min(ts, h - ty)
                    region = "full" if (x, y, tw, th) == (0, 0, w, h) else f"{tx},{ty},{tw},{th}"
                    sw, sh = min(tile, lw - x * tile), min(tile, lh - y * tile)
                    size = "max" if (sw, sh) == (w, h) else f"{sw},{sh}"
                urls.append(f"{region}/{size}/0/default.jpg")
    return urls


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    src = tmp_path_factory.mktemp("src")
    rng = np.random.default_rng(1)
    Image.fromarray((rng.random((900, 1500, 3)) * 255).astype("uint8")).save(src / "wide.jpg", quality=90)
    Image.new("RGBA", (300, 200), (255, 0, 0, 128)).save(src / "alpha.png")
    shutil.copy(SVG, src / "face.svg")
    (src / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    return src, {p.name: file_digest(p) for p in sorted(src.iterdir())}


def test_capped_complete_and_cached(images, tmp_path):
    src, digests = images
    spec = pyramids.PyramidSpec(cap=1024, vector=640)
    got = pyramids.make_pyramids(src, digests, tmp_path, spec, workers=2)
    assert got.failed.keys() == {"broken.jpg"} and got.failed["broken.jpg"].startswith("no full-resolution view")
    assert got.sizes[digests["wide.jpg"]] == (1024, 614)      # capped on the longest side
    assert got.sizes[digests["alpha.png"]] == (300, 200)      # never upscaled
    assert got.sizes[digests["face.svg"]] == (640, 640)       # a vector drawn at the chosen size
    for name in ("wide.jpg", "alpha.png", "face.svg"):
        folder = got.folders[digests[name]]
        info = json.loads((folder / "info.json").read_text())
        assert info["type"] == "ImageService3" and info["profile"] == "level0"
        assert (info["width"], info["height"]) == got.sizes[digests[name]]
        missing = [u for u in osd_requests(info) if not (folder / u).is_file()]
        assert not missing, (name, missing)           # every tile a viewer asks for is there
        for s in info["sizes"]:                        # and every listed whole-image size
            assert (folder / f"full/{s['width']},{s['height']}/0/default.jpg").is_file()
    with Image.open(got.folders[digests["alpha.png"]] / "full/max/0/default.jpg") as im:
        assert im.size == (300, 200) and im.getpixel((10, 10))[0] > 250  # alpha flattened on white
    assert got.made == 3 and got.bytes > 0 and got.files > 10
    for d, folder in got.folders.items():  # the note lists every image file the site links, nothing else
        on_disk = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.jpg"))
        assert got.paths[d] == on_disk and on_disk
    note = got.folders[digests["wide.jpg"]] / "salon.json"
    json_note = json.loads(note.read_text())
    note.write_text(json.dumps({k: v for k, v in json_note.items() if k != "paths"}))  # an older version's note
    again = pyramids.make_pyramids(src, digests, tmp_path, spec)
    assert again.made == 0 and again.sizes == got.sizes and again.bytes == got.bytes
    assert again.paths == got.paths and json.loads(note.read_text()) == json_note  # listed once, kept


def test_cap_max_and_new_cap(images, tmp_path):
    src, digests = images
    wide = {"wide.jpg": digests["wide.jpg"]}
    full = pyramids.make_pyramids(src, wide, tmp_path, pyramids.PyramidSpec(cap=None))
    assert full.sizes[digests["wide.jpg"]] == (1500, 900)
    small = pyramids.make_pyramids(src, wide, tmp_path, pyramids.PyramidSpec(cap=256))
    assert small.made == 1 and small.sizes[digests["wide.jpg"]] == (256, 154)


def test_parse_cap():
    assert pyramids.parse_cap("max") is None and pyramids.parse_cap("0") == 0
    assert pyramids.parse_cap("2048") == 2048
    for bad in ("-1", "12", "big"):
        with pytest.raises(ValueError):
            pyramids.parse_cap(bad)
