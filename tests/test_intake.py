"""Intake on real files made with Pillow: discovery, colour handling, orientation."""
import os

import numpy as np
from PIL import Image

from pipeline import decode, intake


def write(path, im, **kw):
    path.parent.mkdir(parents=True, exist_ok=True)
    im.save(path, **kw)
    return path


def test_finds_images_recursively_and_ignores_junk(tmp_path):
    red = Image.new("RGB", (40, 30), "red")
    write(tmp_path / "a.jpg", red)
    write(tmp_path / "sub" / "B.PNG", red)
    write(tmp_path / "._a.jpg", red)
    (tmp_path / "Thumbs.db").write_bytes(b"x")
    (tmp_path / "notes.txt").write_text("x")
    outside = write(tmp_path.parent / "outside.jpg", red)
    os.symlink(outside, tmp_path / "link.jpg")
    found = intake.find_images(tmp_path)
    assert found.files == ["a.jpg", "sub/B.PNG"]
    assert "link.jpg" in found.refused
    assert len(found.ignored) == 3
    assert intake.find_images(str(tmp_path / "**" / "*.PNG")).files == ["B.PNG"]


def test_hashes_by_content_and_reuses_unchanged(tmp_path):
    write(tmp_path / "a.png", Image.new("RGB", (8, 8), "red"))
    write(tmp_path / "b.png", Image.new("RGB", (8, 8), "red"))
    index = tmp_path / "idx.json"
    d = intake.hash_files(tmp_path, ["a.png", "b.png"], index)
    assert d["a.png"] == d["b.png"]
    write(tmp_path / "b.png", Image.new("RGB", (8, 8), "blue"))
    d2 = intake.hash_files(tmp_path, ["a.png", "b.png"], index)
    assert d2["a.png"] == d["a.png"] and d2["b.png"] != d["b.png"]


def pixel(path, fit="contain", bg=(255, 255, 255), size=(64, 64)):
    return decode.to_array(decode.cell_image(path, size, fit, list(bg)))


def test_colour_modes_become_rgb(tmp_path):
    cmyk = write(tmp_path / "cmyk.jpg", Image.new("CMYK", (50, 50), (0, 255, 255, 0)))  # red
    gray16 = write(tmp_path / "g16.png", Image.fromarray(np.full((50, 50), 65535, np.uint16)))
    pal = write(tmp_path / "pal.png", Image.new("RGB", (50, 50), "blue").convert("P"))
    rgba = Image.new("RGBA", (50, 50), (0, 0, 0, 0))
    alpha = write(tmp_path / "alpha.png", rgba)
    assert pixel(cmyk)[32, 32, 0] > 200 and pixel(cmyk)[32, 32, 1] < 60
    assert (pixel(gray16)[32, 32] > 250).all()
    assert pixel(pal)[32, 32, 2] > 200 and pixel(pal)[32, 32, 0] < 30
    assert (pixel(alpha, bg=(10, 20, 30))[32, 32] == [10, 20, 30]).all()


def test_exif_orientation_and_fit(tmp_path):
    im = Image.new("RGB", (80, 40), "white")
    im.paste(Image.new("RGB", (40, 40), "black"), (0, 0))  # left half black
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    path = write(tmp_path / "rot.jpg", im, exif=exif.tobytes())
    out = decode.to_array(decode.decode(path, 100, 100, "contain", [255, 255, 255]))
    assert out.shape[:2] == (100, 50)  # displayed portrait
    assert out[10, 25].mean() < 60 and out[90, 25].mean() > 200  # black half now on top
    cell = pixel(path, "contain", (0, 255, 0))
    assert cell.shape == (64, 64, 3) and (cell[32, 2] == [0, 255, 0]).all()  # letterboxed
    assert (pixel(path, "fill")[32, 2] != [0, 255, 0]).any()  # filled, no letterbox


def test_large_image_decodes_small(tmp_path):
    big = write(tmp_path / "big.jpg", Image.new("RGB", (8000, 6000), "orange"), quality=70)
    out = decode.to_array(decode.decode(big, 224, 224, "force", [255, 255, 255]))
    assert out.shape == (224, 224, 3)
