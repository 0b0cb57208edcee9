"""Hostile image files (made with Pillow): every decodable one is included, the others are named
with a reason, damage is a warning, and outcomes are cached by content."""
import json
import os
import subprocess
import sys

import hostile
import numpy as np
import pytest
from conftest import ROOT
from PIL import Image

from pipeline import decode, exclude, intake
from pipeline.cache import file_digest
from pipeline.columns import read_collection
from pipeline.parallel import parallel_map
from pipeline.thumbnails import ThumbSpec, _make, make_thumbnails, thumbnail_paths

SPEC = ThumbSpec((64, 64), "contain", 128, (255, 255, 255))


@pytest.fixture(scope="module")
def hostile_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile") / "images"
    expected = hostile.make_collection(root)
    hostile.add_junk(root)
    return root, expected


def thumbs(root, cache, spec=SPEC, **kw):
    found = intake.find_images(root)
    digests = intake.hash_files(found.root, found.files, cache / "index.json")
    return found, digests, make_thumbnails(found.root, digests, cache, spec, **kw)


def decoded(path, size=64, fit="contain", bg=(255, 255, 255)):
    return decode.to_array(decode.cell_image(path, (size, size), fit, list(bg)))


def test_every_file_is_included_or_named_with_a_reason(hostile_dir, tmp_path):
    root, expected = hostile_dir
    found, digests, made = thumbs(root, tmp_path)
    assert sorted(found.files) == sorted(expected)  # junk and hidden files left out
    assert sorted(found.ignored) == sorted(hostile.JUNK)
    for rel, outcome in expected.items():
        if outcome == "ok":
            assert rel not in made.failed and rel not in made.warnings, (rel, made.failed.get(rel))
            assert all(p.is_file() for p in thumbnail_paths(tmp_path, SPEC, digests[rel])), rel
        elif outcome == "warn":
            assert rel not in made.failed and "damaged" in made.warnings[rel]
        else:
            assert outcome in made.failed[rel], (rel, made.failed.get(rel))


def test_damaged_files_keep_what_decodes(hostile_dir, tmp_path):
    root, _ = hostile_dir
    _, digests, made = thumbs(root, tmp_path)
    assert "premature end" in made.warnings["truncated.jpg"]
    cell = np.asarray(Image.open(thumbnail_paths(tmp_path, SPEC, digests["truncated.jpg"])[1]))
    top, bottom = cell[:10].std(), cell[-10:].std()
    assert top > 5 and bottom < 2  # the picture's top survives; the lost part is flat grey
    assert made.failed["header-only.jpg"].startswith("damaged file, no picture could be decoded")
    assert made.failed["empty.jpg"] == "empty file (0 bytes)"
    assert made.failed["notes.jpg"].startswith("not an image")


def test_each_failure_keeps_its_own_reason_among_many_threads(hostile_dir, tmp_path):
    # libvips keeps one error buffer for all threads: damaged files decoded many at once, each
    # into a cache of its own, must each be told apart by their own reason
    root, _ = hostile_dir
    names = ["truncated.jpg", "notes.jpg", "header-only.jpg", "good/photo0.jpg"] * 6
    digests = {n: file_digest(root / n) for n in set(names)}
    outcomes = list(parallel_map(lambda k: _make(root, tmp_path / str(k), SPEC, names[k], digests[names[k]], 50),
                                 range(len(names)), workers=8))
    for name, got in zip(names, outcomes):
        if name == "truncated.jpg":
            assert "premature end" in got.get("warning", ""), got
        elif name == "notes.jpg":
            assert got.get("error", "").startswith("not an image"), got
        elif name == "header-only.jpg":
            assert got.get("error", "").startswith("damaged file, no picture could be decoded"), got
        else:
            assert got == {}, got


def test_failures_are_cached_by_content_and_retried_on_a_new_libvips(hostile_dir, tmp_path):
    root, _ = hostile_dir
    _, digests, _ = thumbs(root, tmp_path)
    note = thumbnail_paths(tmp_path, SPEC, digests["notes.jpg"])[0].with_suffix(".note.json")
    saved = json.loads(note.read_text())
    note.write_text(json.dumps({**saved, "error": "reason from the cache"}))
    assert thumbs(root, tmp_path)[2].failed["notes.jpg"] == "reason from the cache"  # not decoded again
    note.write_text(json.dumps({**saved, "error": "reason from the cache", "vips": "0.0.0"}))
    assert thumbs(root, tmp_path)[2].failed["notes.jpg"].startswith("not an image")


def test_exif_orientations_display_upright(hostile_dir):
    root, _ = hostile_dir
    want = np.asarray(hostile.quadrants().resize((64, 64)), np.int16)
    for o in range(2, 9):
        got = decoded(root / f"exif/orientation-{o}.jpg").astype(np.int16)
        assert np.abs(got - want)[8::16, 8::16].max() < 40, o  # quadrant centres match


def test_colour_modes_and_first_frames(hostile_dir):
    root, _ = hostile_dir
    for name in ("animated.gif", "animated.png", "animated.webp", "multipage.tif", "stereo.mpo"):
        r, g, b = decoded(root / name)[32, 32]
        assert r > 230 and g < 30 and b < 30, name  # the first frame or page: red
    reference = decoded(root / "good" / "photo0.jpg").astype(int)
    assert np.abs(decoded(root / "duplicate-a.jpg").astype(int) - reference).max() == 0
    for name in ("cmyk.jpg", "lab.tif", "gray16.png", "gray16.tif", "rgb16.png", "float32.tif",
                 "palette-trns.png", "png named.jpg"):
        assert 40 < decoded(root / name).mean() < 230, name  # a real picture, not black or blank
    alpha = decoded(root / "mostly-transparent.png", 100, bg=(0, 0, 255))
    assert (alpha[5, 5] == [0, 0, 255]).all() and alpha[50, 50, 0] > 200  # composited on background


def test_float_and_lab_tiffs_keep_their_tones(tmp_path):
    ramp = np.linspace(0, 1, 80 * 100, dtype=np.float32).reshape(80, 100)
    Image.fromarray(ramp).save(tmp_path / "unit.tif")
    Image.fromarray(ramp * 255).save(tmp_path / "byte-range.tif")
    for name in ("unit.tif", "byte-range.tif"):
        out = decoded(tmp_path / name, 100)[..., 0]
        assert out[10:-10].min() < 15 and out[10:-10].max() > 240, name
    orange = Image.new("RGB", (40, 40), (230, 120, 20))
    orange.convert("LAB").save(tmp_path / "lab.tif")
    assert np.abs(decoded(tmp_path / "lab.tif")[32, 32].astype(int) - [230, 120, 20]).max() < 25


def test_tiny_and_extreme_shapes(hostile_dir):
    root, _ = hostile_dir
    for name in ("one-pixel.png", "three-by-two.png"):
        assert decoded(root / name).shape == (64, 64, 3)
    strip = decode.to_array(decode.decode(root / "strip.jpg", 250, 250, "contain", [255] * 3))
    assert strip.shape[:2] == (10, 250)  # 25:1 kept
    assert decode.to_array(decode.decode(root / "strip.jpg", 224, 224, "force", [255] * 3)).shape == (224, 224, 3)


def test_file_names_are_taken_literally(hostile_dir, tmp_path):
    root, _ = hostile_dir
    found = intake.find_images(root)
    assert {"names/with space [1].JPG", "names/café Ärger.Jpeg", "names/party 🎉.PnG"} <= set(found.files)
    for name in ("x[Q=1].jpg", "y[page=2].jpg", "z.jpg[0]"):  # libvips option syntax, as a name
        hostile.photo().save(tmp_path / name.replace("[0]", ""), "JPEG")
        if name.endswith("]"):
            os.rename(tmp_path / name.replace("[0]", ""), tmp_path / name)
        assert decoded(tmp_path / name).shape == (64, 64, 3), name


def test_symlinks_out_of_the_folder_are_refused(tmp_path):
    inside = tmp_path / "images"
    inside.mkdir()
    hostile.photo().save(inside / "a.jpg")
    hostile.photo().save(tmp_path / "secret.jpg")
    os.symlink(tmp_path / "secret.jpg", inside / "link.jpg")
    os.symlink(tmp_path, inside / "up")  # a folder link is not walked
    os.symlink(inside / "a.jpg", inside / "alias.jpg")  # inside: kept
    os.symlink(tmp_path / "gone.jpg", inside / "dangling.jpg")
    os.mkfifo(inside / "pipe.jpg")  # reading it would wait forever
    found = intake.find_images(inside)
    assert found.files == ["a.jpg", "alias.jpg"]
    assert "not followed" in found.refused["link.jpg"]
    assert "not a regular file" in found.refused["pipe.jpg"]
    assert "dangling.jpg" in found.refused


def test_unreadable_and_vanished_files_are_skipped_not_fatal(tmp_path):
    hostile.photo().save(tmp_path / "a.jpg")
    hostile.photo().save(tmp_path / "locked.jpg")
    os.chmod(tmp_path / "locked.jpg", 0)
    try:
        got = intake.hash_files(tmp_path, ["a.jpg", "locked.jpg", "vanished.jpg"], tmp_path / "idx.json")
    finally:
        os.chmod(tmp_path / "locked.jpg", 0o644)
    assert "a.jpg" in got and "vanished.jpg" not in got
    if os.geteuid() != 0:  # root reads anything
        assert "locked.jpg" not in got


def test_decompression_bombs_are_refused_and_the_limit_is_configurable(hostile_dir, tmp_path):
    root, _ = hostile_dir
    reason = decode.size_refusal(root / "bomb.png", 1000)
    assert "100,000 x 100,000" in reason and "--max-megapixels" in reason
    big = tmp_path / "big"
    big.mkdir()
    vector = big / "map.svg"  # drawn at the cell size: its declared 10 gigapixels cost nothing
    vector.write_text('<svg xmlns="http://www.w3.org/2000/svg" width="100000" height="100000">'
                      '<rect width="100000" height="50000" fill="#c00"/></svg>')
    assert decode.size_refusal(vector, 1000) is None
    vector.unlink()
    hostile.photo(3000, 2000).save(big / "six-megapixels.png")
    assert "six-megapixels.png" in thumbs(big, tmp_path / "c1", max_megapixels=5)[2].failed
    assert thumbs(big, tmp_path / "c2", max_megapixels=7)[2].failed == {}


MEMORY_PROBE = """
import resource, sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from pipeline import decode, thumbnails
spec = thumbnails.ThumbSpec((128, 128), "contain", 256, (255, 255, 255))
path = Path(sys.argv[2])
small = path.with_name("small.jpg")
def run(p, cache):
    made = thumbnails.make_thumbnails(p.parent, {p.name: cache.name * 4}, cache, spec)
    decode.to_array(decode.decode(p, 224, 224, "force", [255] * 3))  # as the features stage does
    return made
run(small, path.parent / "warm-cache")
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
made = run(path, path.parent / "big-cache")
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print((after - before) // 1024, made.failed)
"""


@pytest.mark.parametrize("name,w,h,save,limit_mb", [
    ("poster.png", 20990, 29700, {"compression": 1}, 400),  # whole: 1,870 MB; streamed
    ("wide.jpg", 15000, 10000, {"Q": 80}, 400),  # whole: 450 MB; shrunk on load
    # progressive JPEG and interlaced PNG cannot stream: decoded whole, but once at a time
    ("progressive.jpg", 15000, 10000, {"Q": 80, "interlace": True}, 600),  # three decodes: 1,310 MB
    ("interlaced.png", 8000, 8000, {"interlace": True, "compression": 1}, 400),
])
def test_huge_images_decode_in_bounded_memory(tmp_path, name, w, h, save, limit_mb):
    hostile.photo().save(tmp_path / "small.jpg")
    hostile.big_image(tmp_path / name, w, h, **save)
    out = subprocess.run([sys.executable, "-c", MEMORY_PROBE, str(ROOT), str(tmp_path / name)],
                         capture_output=True, text=True, check=True).stdout.split()
    assert out[1] == "{}" and int(out[0]) < limit_mb, out


def test_exclude_drops_placeholders_even_reencoded_or_resized(tmp_path):
    placeholder = hostile.placeholder()
    unwanted, images = tmp_path / "unwanted", tmp_path / "images"
    unwanted.mkdir()
    images.mkdir()
    placeholder.save(unwanted / "not-available.png")
    (images / "copy.png").write_bytes((unwanted / "not-available.png").read_bytes())
    placeholder.save(images / "reencoded.jpg", quality=60)
    placeholder.resize((150, 100)).save(images / "smaller.jpg", quality=85)
    for i in range(5):
        hostile.photo(300, 200, seed=i).save(images / f"photo{i}.jpg")
    quadrant = hostile.quadrants(200)
    quadrant.save(images / "quadrants.png")
    cache = tmp_path / "cache"
    _, digests, _ = thumbs(images, cache, SPEC)
    out = exclude.match(digests, exclude.load_unwanted(unwanted, SPEC), cache, SPEC)
    assert sorted(out) == ["copy.png", "reencoded.jpg", "smaller.jpg"]
    assert out["copy.png"].startswith("identical to not-available.png")
    assert "looks like not-available.png" in out["smaller.jpg"]
    assert file_digest(images / "copy.png") == digests["copy.png"]


def test_hostile_folder_builds_in_one_run_and_strict_fails_it(hostile_dir, tmp_path):
    from pipeline import UserError
    from pipeline.build import Settings, build
    root, expected = hostile_dir
    out, cache = tmp_path / "site", tmp_path / "cache"
    placeholders = tmp_path / "placeholders"
    placeholders.mkdir()
    hostile.placeholder(150, 100).save(placeholders / "n-a.jpg", quality=70)
    report = build(Settings(images=str(root), out=out, cache=cache, image_search=False, exclude=str(placeholders)))
    assert list(report.excluded) == ["not available.png"]
    included = sorted(rel for rel, o in expected.items() if o in ("ok", "warn") and rel not in report.excluded)
    skipped = sorted(rel for rel, o in expected.items() if o not in ("ok", "warn"))
    data = read_collection(out)
    assert data["count"] == report.items == len(included)
    saved = json.loads((out / "report.json").read_text("utf-8"))
    assert sorted(saved["skipped"]) == skipped and list(saved["excluded"]) == ["not available.png"]
    assert saved["ignored"] == len(hostile.JUNK)
    assert ["duplicate-a.jpg", "good/photo0.jpg"] in saved["duplicates"]
    assert any(w.startswith("truncated.jpg: damaged file") for w in saved["warnings"])
    assert saved["settings"]["max_megapixels"] == 1000
    summary = report.summary(out)
    assert "bomb.png: image is 100,000 x 100,000 px" in summary and "Ignored 7" in summary
    with pytest.raises(UserError, match=r"--strict: 4 image file\(s\)(.|\n)*empty.jpg: empty file"):
        build(Settings(images=str(root), out=out, cache=cache, image_search=False, strict=True,
                       name="must not be published"))
    assert read_collection(out) == data


def test_cli_names_every_file_when_none_decodes(tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    (images / "empty.jpg").write_bytes(b"")
    (images / "notes.jpg").write_text("not a picture")
    hostile.huge_png_header(images / "bomb.png")
    run = [sys.executable, str(ROOT / "run.py"), "--images", str(images), "--out", str(tmp_path / "site"),
           "--cache", str(tmp_path / "cache")]
    r = subprocess.run(run, capture_output=True, text=True)
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr[-2000:]
    assert "none of the 3 image files could be decoded" in r.stderr
    for line in ("empty.jpg: empty file", "notes.jpg: not an image", "bomb.png: image is 100,000 x 100,000"):
        assert line in r.stderr
    (tmp_path / "placeholders").mkdir()
    r = subprocess.run(run + ["--strict", "--exclude", str(tmp_path / "placeholders"), "--max-megapixels", "0.5"],
                       capture_output=True, text=True)  # the flags reach the build
    assert r.returncode == 2 and "over the limit of 0.5 megapixels" in r.stderr, r.stderr
    r = subprocess.run(run + ["--max-megapixels", "lots"], capture_output=True, text=True)
    assert r.returncode == 2 and "--max-megapixels: invalid float value" in r.stderr
    assert not (tmp_path / "site").exists()
