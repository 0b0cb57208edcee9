"""File names as the curator's folder holds them: look-alikes, backslashes, links in a glob, and
names that try to write to the curator's terminal."""
import os
import subprocess
import sys
import unicodedata

import numpy as np
from conftest import ROOT
from PIL import Image

from pipeline import intake
from pipeline.metadata import Table, join
from pipeline.terminal import plain, plain_lines

NFC, NFD = unicodedata.normalize("NFC", "café.png"), unicodedata.normalize("NFD", "café.png")


def rows(*pairs: tuple[str, str]) -> Table:
    return Table(["filename", "title"], [{"filename": f, "title": t} for f, t in pairs])


def titles(j) -> dict[str, str]:
    return {rel: r.title for rel, r in j.records.items()}


def test_look_alike_names_keep_to_their_exact_file():
    images = ["Photo.JPG", "photo.jpg", NFC, NFD, "Sub/x.png", "sub/x.png", "lone.png"]
    t = rows(("photo.jpg", "lower"), ("Photo.JPG", "upper"), (NFD, "decomposed"), (NFC, "composed"),
             ("sub/x.png", "lower folder"), ("Sub/x.png", "upper folder"), ("LONE.PNG", "unique look-alike"))
    j = join(t, images)
    assert titles(j) == {"Photo.JPG": "upper", "photo.jpg": "lower", NFC: "composed", NFD: "decomposed",
                         "Sub/x.png": "upper folder", "sub/x.png": "lower folder", "lone.png": "unique look-alike"}
    assert not j.duplicate_rows and not j.rows_without_image and not j.images_without_row and not j.warnings


def test_a_look_alike_that_fits_several_files_is_reported_not_guessed():
    j = join(rows(("PHOTO.jpg", "which?"), ("SUB/X.PNG", "which folder?")),
             ["Photo.JPG", "photo.jpg", "Sub/x.png", "sub/x.png"])
    assert all(r.title != "which?" and r.title != "which folder?" for r in j.records.values())
    assert len(j.warnings) == 2
    assert "'PHOTO.jpg'" in j.warnings[0] and "Photo.JPG, photo.jpg" in j.warnings[0]
    assert "'SUB/X.PNG'" in j.warnings[1] and "Sub/x.png, sub/x.png" in j.warnings[1]
    assert sorted(j.images_without_row) == ["Photo.JPG", "Sub/x.png", "photo.jpg", "sub/x.png"]


def test_an_exact_name_anywhere_beats_a_look_alike():
    # the base name is exact in a subfolder; the top-level file only differs in case
    j = join(rows(("photo.jpg", "exact")), ["Photo.jpg", "x/photo.jpg"])
    assert titles(j) == {"Photo.jpg": "Photo", "x/photo.jpg": "exact"}
    # a later row naming the file exactly takes it from an earlier look-alike row
    j = join(rows(("PHOTO.JPG", "look-alike"), ("Photo.JPG", "exact")), ["Photo.JPG"])
    assert titles(j) == {"Photo.JPG": "exact"} and j.duplicate_rows == ["PHOTO.JPG"]
    # the same name in two folders: both get the row, as before
    j = join(rows(("a.png", "both")), ["x/a.png", "y/a.png"])
    assert titles(j) == {"x/a.png": "both", "y/a.png": "both"}


def test_names_with_backslashes_match_their_row(tmp_path):
    root = tmp_path / "images"
    (root / "scan").mkdir(parents=True)
    for i, name in enumerate(["scan\\001.png", "scan/001.png", "up\\..\\..\\x.png", "C:\\disk.png", "plain.png"]):
        Image.new("RGB", (8, 8), (i * 40, 0, 0)).save(root / name)
    found = intake.find_images(root)
    assert sorted(found.files) == sorted(["scan\\001.png", "scan/001.png", "up\\..\\..\\x.png", "C:\\disk.png",
                                          "plain.png"])
    t = rows(("scan\\001.png", "backslash name"), ("scan/001.png", "in a folder"), ("up\\..\\..\\x.png", "dots"),
             ("C:\\disk.png", "drive-like"), ("sub\\plain.png", "windows path, base name"),
             ("..\\..\\secret.png", "escapes"))
    j = join(t, found.files, root=found.root)
    assert titles(j) == {"scan\\001.png": "backslash name", "scan/001.png": "in a folder",
                         "up\\..\\..\\x.png": "dots", "C:\\disk.png": "drive-like", "plain.png": "windows path, base name"}
    assert list(j.refused_rows) == ["..\\..\\secret.png"]


def test_a_glob_through_a_linked_folder_is_read_not_a_crash(tmp_path):
    real, outside = tmp_path / "real", tmp_path / "outside"
    (real / "sub").mkdir(parents=True)
    outside.mkdir()
    Image.new("RGB", (8, 8)).save(real / "a.png")
    Image.new("RGB", (8, 8)).save(real / "sub" / "b.png")
    Image.new("RGB", (8, 8)).save(outside / "secret.png")
    os.symlink(real, tmp_path / "link")          # the glob's own folder is a link: followed
    os.symlink(real / "sub", real / "inner")     # a link inside, to inside: kept
    os.symlink(outside, real / "away")           # a link inside, to outside: refused
    found = intake.find_images(str(tmp_path / "link" / "*.png"))
    assert found.files == ["a.png"] and found.root == real
    found = intake.find_images(str(tmp_path / "link" / "*" / "*.png"))
    assert found.files == ["inner/b.png", "sub/b.png"] and found.root == real
    assert "not followed" in found.refused["away/secret.png"]
    for rel in found.files:
        assert (found.root / rel).resolve().is_relative_to(real)
    cwd = os.getcwd()
    try:  # a relative pattern, as typed on the command line
        os.chdir(tmp_path)
        assert intake.find_images("link/inner/*.png").files == ["b.png"]
    finally:
        os.chdir(cwd)


def test_plain_text_for_the_terminal():
    assert plain("a\x1b[2J\nBuilt x/ with 9 items\tz") == "a [2J Built x/ with 9 items z"
    assert plain("\x9b31mred \u202egnp.exe") == "31mred gnp.exe"  # C1 CSI, right-to-left override
    assert plain("bad\udcffbyte") == "bad\ufffdbyte"
    assert plain("👩\u200d🔬 ok") == "👩\u200d🔬 ok"  # a zero-width joiner is part of the emoji
    assert plain_lines("first \x1b[1m\n  indented\x07") == "first [1m\n  indented"


def test_the_build_summary_prints_hostile_names_cleaned(tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    hostile = "evil\x1b[2J\nBuilt fake with 999 items.jpg"
    (images / hostile).write_bytes(b"not a picture")
    names = [f"p{i}.png" for i in range(5)]
    for i, name in enumerate(names):
        Image.new("RGB", (16, 16), (i * 50, 100, 200 - i * 40)).save(images / name)
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "f.npz", ids=np.array(names + [hostile]), features=rng.normal(size=(6, 8)))
    (tmp_path / "m.csv").write_text("filename,title\np0.png,Zero\nghost\x1b]0;pwned\x07.png,Ghost\n", "utf-8")
    r = subprocess.run([sys.executable, str(ROOT / "run.py"), "--images", str(images), "--metadata",
                        str(tmp_path / "m.csv"), "--features", str(tmp_path / "f.npz"), "--no-image-search",
                        "--out", str(tmp_path / "site"), "--cache", str(tmp_path / "cache")],
                       capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "\x1b" not in r.stdout and "\x07" not in r.stdout
    lines = r.stdout.splitlines()
    assert sum(line.startswith("Built ") for line in lines) == 1  # no forged summary line
    assert any(line.startswith("  - evil [2J Built fake with 999 items.jpg: ") for line in lines), r.stdout
    assert "  - ghost ]0;pwned .png" in lines
