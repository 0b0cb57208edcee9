"""End to end: the demo collection through the real pipeline into a site, and rebuilds."""
import csv
import json
import shutil
import subprocess
import sys

import numpy as np
from conftest import ROOT, demo_settings, site_items

from pipeline.build import build
from pipeline.columns import read_collection


def load(site, name):
    return json.loads((site / "data" / name).read_text("utf-8"))


def test_site_is_complete_and_relative(built_site, demo_collection):
    c = read_collection(built_site)
    assert c["count"] == 120 and len(set(c["items"]["cell"])) == 120
    assert max(c["items"]["cell"]) < c["grid"]["cols"] * c["grid"]["rows"]
    rows = list(csv.DictReader(open(demo_collection[1], encoding="utf-8")))
    titles = {r["filename"]: r["title"] for r in rows}
    items = site_items(built_site)
    assert [titles[it["id"]] for it in items] == c["items"]["title"]
    assert all((built_site / it["thumb"]).is_file() for it in items)
    assert items[0]["url"].startswith("https://openmoji.org/library/emoji-")
    assert (built_site / "tiles" / "mosaic.dzi").is_file()
    assert (built_site / "assets" / "openseadragon" / "openseadragon.min.js").is_file()
    html = (built_site / "index.html").read_text("utf-8")
    assert "OpenMoji test" in html and "http://" not in html.replace("http://www.w3.org", "")
    unreadable = [p for p in built_site.rglob("*") if p.stat().st_mode & 0o044 != 0o044]
    assert not unreadable, "a web server running as another user must read every file"
    report = json.loads((built_site / "report.json").read_text())
    assert report["items"] == 120 and set(report["stages"]) >= {"features", "tsne", "mosaic"}


def test_similar_images_share_their_category(built_site):
    c = read_collection(built_site)
    codes = np.array(c["facets"]["category"]["codes"])
    items = site_items(built_site)
    first = np.array([it["similar"][0][0] for it in items])
    same = (codes[first] == codes).mean()
    chance = sum((codes == v).mean() ** 2 for v in set(codes.tolist()))
    assert same > 2 * chance, (same, chance)
    # neighbours in the grid are similar too: adjacent cells share a category more than chance
    cols = c["grid"]["cols"]
    by_cell = {cell: codes[i] for i, cell in enumerate(c["items"]["cell"])}
    pairs = [(by_cell[k], by_cell[k + 1]) for k in by_cell if k % cols < cols - 1 and k + 1 in by_cell]
    assert np.mean([a == b for a, b in pairs]) > 1.5 * chance


def test_rebuild_after_csv_edit_reuses_everything_heavy(built_site, demo_collection, site_cache, tmp_path):
    images, csv_path = demo_collection
    edited = tmp_path / "edited.csv"
    text = csv_path.read_text("utf-8")
    first = text.splitlines()[1].split(",")[1]
    edited.write_text(text.replace(f",{first},", ",Renamed <b>artwork</b>,", 1), "utf-8")
    out = tmp_path / "site"
    feature_files = sorted((site_cache / "features").rglob("*.npy"))
    mtimes = [p.stat().st_mtime_ns for p in feature_files]
    report = build(demo_settings(images, edited, out, site_cache))
    assert "Renamed <b>artwork</b>" in read_collection(out)["items"]["title"]
    # same tiles (hard links to the same cached pyramid), no feature recomputed
    a, b = (s / "tiles" / "mosaic.dzi" for s in (built_site, out))
    assert a.stat().st_ino == b.stat().st_ino
    assert [p.stat().st_mtime_ns for p in feature_files] == mtimes
    assert read_collection(out)["items"]["cell"] == read_collection(built_site)["items"]["cell"]
    assert report.items == 120


def test_added_images_cost_only_their_own_features(demo_collection, site_cache, tmp_path):
    images, csv_path = demo_collection
    more = tmp_path / "images"
    shutil.copytree(images, more)
    from pipeline.site import PROJECT
    svg = PROJECT / "node_modules" / "openmoji" / "color" / "svg"
    new = [p for p in sorted(svg.glob("1F3*.svg")) if not (more / p.name).exists()][:3]
    for p in new:
        shutil.copy(p, more / p.name)
    before = len(list((site_cache / "features").rglob("*.npy")))
    report = build(demo_settings(more, csv_path, tmp_path / "site", site_cache))
    assert len(list((site_cache / "features").rglob("*.npy"))) == before + 3
    assert report.items == 123 and sorted(report.images_without_row) == sorted(p.name for p in new)


def test_same_inputs_and_seed_give_the_same_layout(built_site, demo_collection, tmp_path):
    out = tmp_path / "again"
    build(demo_settings(*demo_collection, out, tmp_path / "fresh-cache"))
    assert read_collection(out) == read_collection(built_site)


def test_cli_reports_user_errors_without_traceback(demo_collection, tmp_path):
    images, csv_path = demo_collection
    run = [sys.executable, str(ROOT / "run.py"), "--images", str(images), "--metadata", str(csv_path),
           "--out", str(tmp_path / "s"), "--cache", str(tmp_path / "c")]
    r = subprocess.run(run + ["-fn", "nope"], capture_output=True, text=True)
    assert r.returncode == 2 and "-fn COLUMN" in r.stderr and "Traceback" not in r.stderr
    r = subprocess.run(run[:3] + [str(tmp_path / "empty")] + run[5:], capture_output=True, text=True)
    assert r.returncode == 2 and "error:" in r.stderr
