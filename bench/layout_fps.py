"""Frames per second of animated layout changes in Chromium, at 10,000 and 100,000 items.

    .venv/bin/python bench/layout_fps.py [--sizes 10000,100000] [--work DIR] [--json FILE]

For each size it writes a site with the real site writer (pipeline/site.py) and the real
layouts (pipeline/layouts.py: timeline from a year column, places from lat/lon columns) from
synthetic data: clustered map positions, one grid cell per item, random years (1 in 17 undated),
random places for 1 item in 4, and a
mosaic of one flat colour per cell (DZI by libvips). It serves the site, opens it in Debian's
Chromium (headless, 1280 x 800, as the browser tests run it), and switches layouts with the
page's own buttons: grid -> map -> timeline -> places -> groups -> grid, then with an item open
(the camera follows it). Each move reports its frames, duration, frames per second and the time
our code spent drawing a frame (mean and worst), from Viewer.lastTransition (transitions.js).

`--webgl` also times a bare WebGL alternative in the same browser: the same n squares moved by a
vertex shader each frame (bench/webgl_points.html), to choose between the two by measurement.
"""
from __future__ import annotations

import argparse
import json
import math
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from pipeline import layouts, site  # noqa: E402
from pipeline.metadata import Record  # noqa: E402

SWITCHES = ["tsne", "timeline", "geo", "groups", "grid"]
CELL = 8  # px per mosaic cell: the mosaic stays small at 100k items


def synthetic_site(n: int, out: Path, seed: int = 0) -> None:
    """A site of n items written by pipeline.site.write from generated data (see the module doc)."""
    import pyvips
    rng = np.random.default_rng(seed)
    centres = rng.random((40, 2))
    xy = np.clip(centres[rng.integers(0, 40, n)] + rng.normal(0, 0.05, (n, 2)), 0, 1)
    cols = math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    # cells: rows by y, then by x inside each row (neighbours on the map stay near in the grid)
    order = np.argsort(xy[:, 1], kind="stable")
    cells = np.empty(n, dtype=np.int64)
    for r in range(rows):
        members = order[r * cols:(r + 1) * cols]
        members = members[np.argsort(xy[members, 0], kind="stable")]
        cells[members] = r * cols + np.arange(len(members))
    colours = (rng.random((n, 3)) * 200 + 30).astype(np.uint8)
    grid = np.zeros((rows * cols, 3), dtype=np.uint8)
    grid[cells] = colours
    mosaic = np.repeat(np.repeat(grid.reshape(rows, cols, 3), CELL, axis=0), CELL, axis=1)
    work = Path(tempfile.mkdtemp(prefix="salon-fps-"))
    tiles = work / "tiles"
    tiles.mkdir()
    pyvips.Image.new_from_array(np.ascontiguousarray(mosaic)).copy(interpretation="srgb").dzsave(
        str(tiles / "mosaic"), tile_size=254, overlap=1, suffix=".jpg[Q=85]")
    thumb = work / "thumb.jpg"
    pyvips.Image.black(8, 8, bands=3).write_to_file(str(thumb))
    years = rng.integers(1850, 2021, n)
    lat, lon = rng.uniform(-60, 70, n), rng.uniform(-170, 175, n)
    cats = [f"group {k}" for k in range(12)]
    # a place for every 4th item (pipeline/layouts.py's spreading slows sharply past ~30,000 places)
    place = [(f"{lat[i]:.4f}", f"{lon[i]:.4f}") if i % 4 == 0 else ("", "") for i in range(n)]
    values = [[str(years[i]) if i % 17 else "undated", cats[i % 12], *place[i]] for i in range(n)]
    fields = [{"key": "date", "label": "Date", "kind": "year"}, {"key": "category", "label": "Category", "kind": "category"},
              {"key": "lat", "label": "Lat", "kind": "text"}, {"key": "lon", "label": "Lon", "kind": "text"}]
    extra, _ = layouts.extra_layouts(fields, values, xy, [])
    c = site.Collection(
        id="fps", title=f"Layout fps {n}", description="", credit="", credit_url="", fields=fields,
        ids=[f"{i}.jpg" for i in range(n)], records=[Record(f"item {i}", None, v) for i, v in enumerate(values)],
        previews=[thumb] * n, cells=cells, xy=xy, similar=np.full((n, 1), -1), scores=np.zeros((n, 1)),
        cols=cols, rows=rows, cell=(CELL, CELL), layouts=extra)
    if out.exists():
        shutil.rmtree(out)
    site.write(c, tiles, out)
    shutil.rmtree(work)


def measure(site_dir: Path, webgl: bool) -> dict:
    from browser_helpers import CHROMIUM, CHROMIUM_ARGS, open_site, serve, wait_settled
    from playwright.sync_api import sync_playwright
    result: dict = {"moves": []}
    with serve(site_dir) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        open_site(page, base)
        page.evaluate("() => salon.viewer.loadColors()")
        page.wait_for_function("() => !!salon.viewer.colors", timeout=60_000)

        def switch(name: str, selector: str | None = None) -> dict:
            before = page.evaluate("() => salon.viewer.lastTransition")
            page.locator(selector or f'#layout-switch [data-layout="{name}"]').click()
            done = ("b => { const t = salon.viewer.lastTransition;"
                    " return !salon.viewer.transition && t && JSON.stringify(t) !== b; }")
            page.wait_for_function(done, arg=json.dumps(before), timeout=60_000)
            stats = page.evaluate("() => salon.viewer.lastTransition")
            wait_settled(page, 60_000)
            return stats

        for name in SWITCHES:
            result["moves"].append(switch(name))
        page.evaluate("() => salon.openItem(7)")
        wait_settled(page, 60_000)
        for name in ["timeline", "tsne", "grid"]:
            result["moves"].append({**switch(name), "focus": True})
        if webgl:
            n = page.evaluate("() => salon.coll.n")
            page.goto(base + "webgl_points.html#" + str(n))
            page.wait_for_function("() => window.result", timeout=60_000)
            result["webgl"] = page.evaluate("() => window.result")
        browser.close()
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10000,100000")
    ap.add_argument("--work", default="/tmp/salon-bench-fps")
    ap.add_argument("--json", default=str(ROOT / "bench" / "results-layout-fps.json"))
    ap.add_argument("--webgl", action="store_true", help="also time the bare WebGL alternative")
    a = ap.parse_args()
    out = {}
    for n in [int(s) for s in a.sizes.split(",")]:
        site_dir = Path(a.work) / f"site-{n}"
        t = time.time()
        synthetic_site(n, site_dir)
        if a.webgl:
            shutil.copyfile(ROOT / "bench" / "webgl_points.html", site_dir / "webgl_points.html")
            shutil.copyfile(ROOT / "bench" / "webgl_points.js", site_dir / "webgl_points.js")
        print(f"{n} items: site written in {time.time() - t:.1f} s", flush=True)
        out[n] = measure(site_dir, a.webgl)
        for m in out[n]["moves"]:
            focus = " (item open)" if m.get("focus") else ""
            print(f"  {m['from']:>8} -> {m['to']:<8}{focus:12} {m['frames']:3d} frames in {m['ms']} ms ="
                  f" {m['fps']:5.1f} fps; draw {m['drawMs']:.1f} ms mean, {m['maxDrawMs']:.1f} ms worst", flush=True)
        if "webgl" in out[n]:
            print(f"  bare WebGL: {out[n]['webgl']}", flush=True)
    Path(a.json).write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
