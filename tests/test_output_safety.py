"""Output safety (issue 10): the build replaces only a folder it made itself (or an empty or new
one), never reads its own site as input, and publishes no absolute path of this machine."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT
from PIL import Image, ImageDraw

from pipeline import UserError, intake, site
from pipeline.build import Settings, build
from pipeline.columns import read_collection
from pipeline.report import Report


def make_photos(root: Path, n: int = 10) -> tuple[Path, Path]:
    """``n`` distinct Pillow images in ``root/photos`` and their CSV (with a private column) beside."""
    images = root / "photos"
    images.mkdir(parents=True)
    rows = ["filename,title,donor_email"]
    for k in range(n):
        im = Image.new("RGB", (96, 72), (25 * k, 255 - 20 * k, (90 * k) % 256))
        ImageDraw.Draw(im).rectangle([8 + 5 * k, 8, 40 + 4 * k, 30 + 3 * k], fill=(250, 240, 10 * k))
        im.save(images / f"p{k}.png")
        rows.append(f"p{k}.png,Photo {k},donor{k}@example.org")
    csv_path = root / "photos.csv"
    csv_path.write_text("\n".join(rows) + "\n", "utf-8")
    return images, csv_path


def settings(images: Path, csv_path: Path, out: Path, cache: Path) -> Settings:
    return Settings(images=str(images), metadata=str(csv_path), id="photos", out=out, cache=cache,
                    image_search=False)


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def dead_pid() -> int:
    """The pid of a process that has ended (as a killed build's would be)."""
    return int(subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True).stdout)


@pytest.fixture
def project(tmp_path):
    """A curator's project folder: photos/, photos.csv and a notes file."""
    images, csv_path = make_photos(tmp_path / "project")
    (tmp_path / "project" / "notes.txt").write_text("mine")
    return images, csv_path


@pytest.mark.parametrize("where, why", [
    ("photos", "is the image folder"),                      # run.py --images photos --out photos
    (".", "contains the image folder"),                     # the project folder
    ("photos.csv", "is the metadata CSV"),
    ("cache", "is the cache folder"),
    ("cache/site", "is inside the cache folder"),
    ("docs", "holds files Salon did not write"),            # a folder of unrelated files
])
def test_an_output_salon_must_not_replace_is_refused_before_any_work(project, tmp_path, where, why):
    images, csv_path = project
    base = images.parent
    (base / "docs").mkdir()
    (base / "docs" / "letter.txt").write_text("private")
    before = snapshot(tmp_path)
    with pytest.raises(UserError, match=why) as e:
        build(settings(images, csv_path, base / where, base / "cache"))
    assert "new or empty folder" in str(e.value) and "site Salon built" in str(e.value)
    assert snapshot(tmp_path) == before and not (base / "cache").exists()  # nothing deleted, nothing written


def test_home_and_current_folder_are_refused(project, tmp_path, monkeypatch):
    images, csv_path = project
    home = tmp_path / "home"
    (home / "papers").mkdir(parents=True)
    (home / "papers" / "thesis.txt").write_text("mine")
    monkeypatch.setenv("HOME", str(home))
    before = snapshot(tmp_path)
    for out, why in [(home, "is your home folder"), (tmp_path, "contains your home folder")]:
        with pytest.raises(UserError, match=why):
            build(settings(images, csv_path, out, tmp_path / "cache"))
    monkeypatch.chdir(home / "papers")
    with pytest.raises(UserError, match="is the current folder"):
        build(settings(images, csv_path, Path("."), tmp_path / "cache"))
    assert snapshot(tmp_path) == before


def test_out_root_and_dot_give_a_clear_error_not_a_traceback(project):
    images, csv_path = project
    before = snapshot(images.parent)
    for out, why in [("/", "--out / is the root of the file system"), (".", "--out . is the current folder")]:
        r = subprocess.run([sys.executable, str(ROOT / "run.py"), "--images", "photos", "--metadata", "photos.csv",
                            "--out", out, "--cache", str(images.parent.parent / "cache")],
                           cwd=images.parent, capture_output=True, text=True)
        assert r.returncode == 2 and f"error: {why}" in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert snapshot(images.parent) == before


def test_a_symlink_or_a_file_as_out_is_refused(project, tmp_path):
    images, csv_path = project
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(UserError, match="is a symbolic link"):
        build(settings(images, csv_path, tmp_path / "link", tmp_path / "cache"))
    with pytest.raises(UserError, match="is a file, not a folder"):
        build(settings(images, csv_path, images.parent / "notes.txt", tmp_path / "cache"))


def test_files_put_in_out_during_the_build_are_never_deleted(tmp_path):
    out = tmp_path / "site"
    with site.staging_dir(out) as staging:
        (staging / "index.html").write_text("new")
        out.mkdir()  # the curator saves something there while the build runs
        (out / "draft.txt").write_text("mine")
        with pytest.raises(UserError, match="holds files Salon did not write"):
            site.publish(staging, out)
    assert snapshot(out) == {"draft.txt": b"mine"} and sorted(os.listdir(tmp_path)) == ["site"]


def test_only_leftovers_salon_made_are_cleaned(tmp_path):
    dead = dead_pid()
    out = tmp_path / "site"
    for kind in ("old", "building"):  # a user's folders that merely look like a killed build's
        (tmp_path / f".site.{kind}-{dead}").mkdir()
        (tmp_path / f".site.{kind}-{dead}" / "keep.txt").write_text(kind)
    ours = tmp_path / f".site.building-{dead_pid()}"
    ours.mkdir()
    site.write_marker(ours)  # a killed build's staging folder (its pid is not running)
    with site.staging_dir(out) as staging:
        (staging / "index.html").write_text("new")
        site.publish(staging, out)
    assert not ours.exists() and site.is_salon_site(out)
    for kind in ("old", "building"):
        assert (tmp_path / f".site.{kind}-{dead}" / "keep.txt").read_text() == kind


def test_salon_sites_inside_the_image_folder_are_not_input(tmp_path):
    images, _ = make_photos(tmp_path, n=3)
    (images / "site" / "thumbs").mkdir(parents=True)
    Image.new("RGB", (32, 32), "red").save(images / "site" / "thumbs" / "t.jpg")
    site.write_marker(images / "site")
    (images / "scans").mkdir()  # an ordinary sub-folder is still read
    Image.new("RGB", (32, 32), "blue").save(images / "scans" / "s.jpg")
    want = ["p0.png", "p1.png", "p2.png", "scans/s.jpg"]
    walked = intake.find_images(images)
    assert walked.files == want and "site/" in walked.ignored
    globbed = intake.find_images(f"{images}/**/*.*g")
    assert globbed.files == want and "site/" in globbed.ignored


def test_site_in_the_image_folder_twice_keeps_10_items_and_a_clean_report(tmp_path, site_cache):
    """--out photos/site, then the same build again: the site is not read as input (was 10 -> 77
    items), a user's look-alike leftover survives, and report.json names no path of this machine."""
    images, csv_path = make_photos(tmp_path / "project")
    keep = images / f".site.old-{dead_pid()}"
    keep.mkdir()
    (keep / "keep.txt").write_text("not Salon's")
    out = images / "site"
    first = build(settings(images, csv_path, out, site_cache))
    second = build(settings(images, csv_path, out, site_cache))
    assert first.items == second.items == 10 and second.ignored >= 1
    assert read_collection(out)["count"] == 10
    assert site.is_salon_site(out) and (keep / "keep.txt").read_text() == "not Salon's"

    published = json.loads((out / "report.json").read_text("utf-8"))
    assert published["items"] == 10
    assert {k: published["settings"][k] for k in ("images", "metadata", "out", "cache")} == {
        "images": "photos", "metadata": "photos.csv", "out": "site", "cache": site_cache.name}
    local = [str(tmp_path), os.path.realpath(tmp_path), str(site_cache), os.getcwd(), str(Path.home())]
    for text in strings(published):
        assert not text.startswith("/") and not any(p in text for p in local), text
    full = json.loads((site_cache / "reports" / "photos.json").read_text("utf-8"))
    assert full["settings"]["images"] == str(images) and full["settings"]["out"] == str(out)


def strings(obj) -> list[str]:
    """Every string in a JSON value, keys included."""
    if isinstance(obj, str):
        return [obj]
    if isinstance(obj, dict):
        return [s for k, v in obj.items() for s in [k, *strings(v)]]
    if isinstance(obj, list):
        return [s for v in obj for s in strings(v)]
    return []


def test_public_report_keeps_names_and_drops_absolute_paths(tmp_path):
    images = tmp_path / "photos"
    (images / "sub").mkdir(parents=True)
    rep = Report(settings={"images": f"{images}/**/*.jpg", "metadata": str(tmp_path / "meta.csv"),
                           "out": str(tmp_path / "site"), "cache": str(tmp_path / "cache"), "id": "x",
                           "weights": "imagenet", "url": "https://archive.example/{Id}/"})
    rep.skipped = {"sub/a b.jpg": f'VipsForeignLoad: "{images}/sub/a b.jpg" is not a known file format'}
    rep.rows_refused = {f"{images}/c.jpg": "absolute path"}
    rep.warnings = ["d.svg: rendering /var/tmp/salon-x1/render.png failed", "e.jpg: see https://x.org/a/b"]
    pub = rep.public()
    assert pub["skipped"] == {"sub/a b.jpg": 'VipsForeignLoad: "sub/a b.jpg" is not a known file format'}
    assert pub["rows_refused"] == {"c.jpg": "absolute path"}
    assert pub["warnings"] == ["d.svg: rendering render.png failed", "e.jpg: see https://x.org/a/b"]
    assert {k: pub["settings"][k] for k in ("images", "metadata", "out", "cache", "weights", "url")} == {
        "images": "photos/**/*.jpg", "metadata": "meta.csv", "out": "site", "cache": "cache",
        "weights": "imagenet", "url": "https://archive.example/{Id}/"}
    assert rep.skipped["sub/a b.jpg"].count(str(images)) == 1  # the full report keeps everything
