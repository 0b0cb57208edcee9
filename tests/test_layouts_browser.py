"""The layouts in real Chromium: the timeline with its axis, places on the bundled world outline,
a --layout layout, groups by any categorical column chosen in the page, and animated switches
that keep the open item selected and in view. One site built by the real pipeline from the demo
artworks, with a CSV that adds vague dates, places and two coordinate columns.

Every test fails on any console error, failed request, off-site request or dialog.
"""
from __future__ import annotations

import csv
from pathlib import Path

import pytest
from browser_helpers import CHROMIUM, CHROMIUM_ARGS, HTTP_SERVER, Watch, open_site, read_csv, serve, shot, wait_settled
from conftest import demo_settings

from pipeline.build import build
from pipeline.columns import read_collection

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium"),
    pytest.mark.skipif(not HTTP_SERVER.exists(), reason="needs npm's http-server: run `npm install`"),
]
sync_api = pytest.importorskip("playwright.sync_api")

DESKTOP = {"width": 1280, "height": 800}
# places on several continents: the view of the places layout then spans the Sahara and the Atlantic
CITIES = [(48.85, 2.35), (52.52, 13.40), (40.71, -74.0), (-22.9, -43.2), (35.68, 139.7), (6.52, 3.38), (30.04, 31.24)]
VAGUE = {0: "1890s", 1: "ca. 1650-1700", 2: "before 1900", 3: "n.d."}  # rows whose date is rewritten


@pytest.fixture(scope="module")
def layout_csv(demo_collection, tmp_path_factory) -> Path:
    """The demo CSV plus lat/lon (every 5th row left without a place), ux/uy coordinates (every
    9th row without) and a few dates as curators write them."""
    rows = read_csv(demo_collection[1])
    for k, r in enumerate(rows):
        lat, lon = CITIES[k % len(CITIES)]
        r["lat"], r["lon"] = ("", "") if k % 5 == 4 else (str(lat), str(lon))
        r["ux"], r["uy"] = ("", "") if k % 9 == 8 else (str(k % 10), str(k // 10))
        if k in VAGUE:
            r["date"] = VAGUE[k]
    path = tmp_path_factory.mktemp("layouts-csv") / "artworks.csv"
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return path


@pytest.fixture(scope="module")
def site(demo_collection, layout_csv, site_cache, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("layouts") / "site"
    build(demo_settings(demo_collection[0], layout_csv, out, site_cache, layouts=["spread=ux,uy"]))
    return out


@pytest.fixture(scope="module")
def data(site) -> dict:
    return read_collection(site)


@pytest.fixture(scope="module")
def base(site):
    with serve(site) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, base):
    ctx = browser.new_context(viewport=DESKTOP)
    page = ctx.new_page()
    watch = Watch(page, base)
    yield page
    ctx.close()
    assert not watch.dialogs, watch.dialogs
    assert not watch.problems, "\n".join(watch.problems)


def pixel(page, i: int) -> dict:
    return page.evaluate("i => salon.itemPixel(i)", i)


def test_timeline_has_a_labelled_axis_and_every_item_in_its_years_column(page, base, data):
    tl = data["layouts"]["timeline"]
    assert tl["axis"][-1]["label"] == "undated"
    open_site(page, base, "#layout=timeline")
    assert page.locator('#layout-switch [data-layout="timeline"]').get_attribute("aria-pressed") == "true"
    drawn = page.evaluate("() => salon.viewer.points().drawnAxis")
    labels = [a["label"] for a in tl["axis"]]
    assert drawn and all(d["label"] in labels for d in drawn)
    assert drawn[-1]["label"] == "undated"
    xs = [d["x"] for d in drawn]
    assert xs == sorted(xs)  # left to right, none on top of another
    # each item is drawn over its column's span on the axis, and its year is that column's
    cols = page.evaluate("""() => salon.viewer.points().extra.axis.map((a) => {
        const vp = salon.viewer.osd.viewport;
        const x0 = vp.pixelFromPoint(new OpenSeadragon.Point(a.x0, 0), true).x;
        const x1 = vp.pixelFromPoint(new OpenSeadragon.Point(a.x1, 0), true).x;
        return [x0, x1]; })""")
    years = data["years"]["date"]
    for i in range(data["count"]):
        x = pixel(page, i)["x"]
        k = next(k for k, (x0, x1) in enumerate(cols) if x0 <= x <= x1)
        col = tl["axis"][k]
        if years[i] is None:
            assert col["label"] == "undated", i
        else:
            assert col["from"] <= years[i] <= col["to"], (i, years[i], col)
    shot(page, "15-timeline")
    # the panel shows the years a vague date was read as
    spans = data["year_ranges"]["date"]
    assert [1650, 1700] in spans.values() and [1890, 1899] in spans.values() and [None, 1900] in spans.values()
    i = next(int(k) for k, r in spans.items() if r == [1650, 1700])
    page.evaluate("i => salon.openItem(i)", i)
    page.wait_for_selector("#panel-fields .year-span")
    assert "ca. 1650-1700 (1650–1700)" in page.locator("#panel-fields").inner_text()


def test_switching_moves_every_item_and_keeps_the_open_one_in_view(page, base, data):
    open_site(page, base)
    i = 10
    page.evaluate("i => salon.openItem(i)", i)
    wait_settled(page)
    # click, then follow the open item on every frame of the move
    track = page.evaluate("""(i) => new Promise((resolve) => {
        const v = salon.viewer, out = [];
        document.querySelector('#layout-switch [data-layout="timeline"]').click();
        const t0 = performance.now();
        const step = () => {
          const p = salon.itemPixel(i);
          out.push({x: p.x, y: p.y, moving: !!v.transition, selected: v.selected});
          if (v.transition) requestAnimationFrame(step); else resolve({frames: out, ms: performance.now() - t0});
        };
        requestAnimationFrame(step);
      })""", i)
    frames = [f for f in track["frames"] if f["moving"]]
    assert len(frames) >= 5, track  # animated, not a jump
    assert track["ms"] < 1000
    w, h = page.evaluate("() => [salon.viewer.el.clientWidth, salon.viewer.el.clientHeight]")
    for f in track["frames"]:
        assert f["selected"] == i
        assert 0 <= f["x"] <= w and 0 <= f["y"] <= h, f  # in view on every frame
    stats = page.evaluate("() => salon.viewer.lastTransition")
    assert stats["from"] == "grid" and stats["to"] == "timeline" and stats["frames"] >= 5
    wait_settled(page)
    # it landed on its place in the timeline, selected, the panel still open
    tl = data["layouts"]["timeline"]
    got = page.evaluate("i => { const r = salon.viewer.itemRect(i), L = salon.viewer.layoutFor('timeline').itemRect(i);"
                        " return [r.x - L.x, r.y - L.y, r.w - L.w]; }", i)
    assert all(abs(v) < 1e-12 for v in got)
    assert page.evaluate("() => [salon.app.item, salon.viewer.selected]") == [i, i]
    assert not page.locator("#panel").is_hidden()
    assert "layout=timeline" in page.url and f"item={i}" in page.url
    assert tl["pos"]  # the layout came from the build
    # back to the grid: the mosaic shows again once the items have landed
    page.locator('#layout-switch [data-layout="grid"]').click()
    wait_settled(page)
    assert page.evaluate("() => salon.viewer.image.getOpacity()") == 1


def test_places_on_the_bundled_world_outline(page, base, data):
    geo = data["layouts"]["geo"]
    open_site(page, base, "#layout=geo")
    # the outline came from this site (Watch fails the test on any off-site request) and is drawn
    assert page.evaluate("() => !!salon.viewer.points().world")

    def colour(lat: float, lon: float) -> list[int]:
        return page.evaluate("""([lat, lon]) => {
            const v = salon.viewer, g = v.points().extra.geo, dpr = window.devicePixelRatio || 1;
            const x = (lon / g.cellDeg) * g.scale + g.dx, y = (-lat / g.cellDeg) * g.scale + g.dy;
            const p = v.osd.viewport.pixelFromPoint(new OpenSeadragon.Point(x, y), true);
            return [...v.ctx.getImageData(Math.round(p.x * dpr), Math.round(p.y * dpr), 1, 1).data]; }""", [lat, lon])
    land, sea = colour(23.0, 15.0), colour(25.0, -35.0)  # the Sahara, the Atlantic (off the graticule's lines)
    assert land[3] == 255 and sea[3] == 255
    assert sum(land[:3]) > sum(sea[:3]) + 20, (land, sea)  # land is drawn lighter than the sea
    # each placed item is drawn in the cell the build gave it, near its place
    cd = geo["cell_deg"]
    for i, place in enumerate(geo["places"]):
        if place is None:
            continue
        got = page.evaluate("""i => { const g = salon.viewer.points().extra.geo, r = salon.viewer.itemRect(i);
            return [(r.x + r.w / 2 - g.dx) / g.scale, (r.y + r.h / 2 - g.dy) / g.scale]; }""", i)
        assert abs(got[0] - (geo["pos"][2 * i] + 0.5)) < 1e-6 and abs(got[1] - (geo["pos"][2 * i + 1] + 0.5)) < 1e-6
        lat, lon = place
        assert abs(got[0] * cd - lon) < 12 * cd and abs(-got[1] * cd - lat) < 12 * cd, (i, place, got)
    shot(page, "16-places")


def test_custom_layout_and_groups_by_any_column_are_deep_linkable_and_filterable(page, base, data, browser):
    open_site(page, base)
    page.locator('#layout-switch [data-layout="spread"]').click()
    wait_settled(page)
    assert "layout=spread" in page.url
    # every item is drawn where the build put it, scaled the same along both axes
    pos = data["layouts"]["spread"]["pos"]
    px = [pixel(page, i) for i in range(data["count"])]
    k = (px[1]["x"] - px[0]["x"]) / (pos[2] - pos[0]) if pos[2] != pos[0] else (px[1]["y"] - px[0]["y"]) / (pos[3] - pos[1])
    for i in range(data["count"]):
        assert abs(px[i]["x"] - px[0]["x"] - k * (pos[2 * i] - pos[0])) < 0.5, i
        assert abs(px[i]["y"] - px[0]["y"] - k * (pos[2 * i + 1] - pos[1])) < 0.5, i
    assert data["layouts"]["spread"]["unplaced"]["count"] == sum(1 for k in range(data["count"]) if k % 9 == 8)
    # groups: the select offers every categorical column
    page.locator('#layout-switch [data-layout="groups"]').click()
    wait_settled(page)
    options = page.eval_on_selector_all("#group-by option", "os => os.map((o) => o.value)")
    assert set(options) == set(data["facets"])
    page.select_option("#group-by", "subcategory")
    wait_settled(page)
    assert "layout=groups" in page.url and "by=subcategory" in page.url
    labels = page.evaluate("() => salon.viewer.points().labels.map((l) => l.text)")
    assert len(labels) == len({c for c in data["facets"]["subcategory"]["codes"]})
    # a facet chosen in the sidebar dims the others in this layout too; the link keeps it all
    value = data["facets"]["category"]["values"][0]
    page.evaluate("v => salon.app.setFacet('category', [v])", value)
    wait_settled(page)
    want = sum(c == 0 for c in data["facets"]["category"]["codes"])
    assert page.evaluate("() => salon.result.count") == want
    assert page.evaluate("() => salon.viewer.mask === salon.result.mask")
    url = page.url
    assert "f.category=" in url
    ctx = browser.new_context(viewport=DESKTOP)
    fresh = ctx.new_page()
    watch = Watch(fresh, base)
    open_site(fresh, base, url[url.index("#"):])
    state = fresh.evaluate("() => [salon.app.layout, salon.app.groupKey, salon.result.count]")
    assert state == ["groups", "subcategory", want]
    assert fresh.locator("#group-by").input_value() == "subcategory"
    assert not fresh.locator(".group-by").is_hidden()
    ctx.close()
    assert not watch.problems, watch.problems


def test_first_paint_fetches_only_the_cell_order_and_the_page_reads_every_column_as_python_does(
        page, base, site, data):
    from pipeline.columns import is_ref
    raw = __import__("json").loads((site / "data" / "collection.json").read_text("utf-8"))
    assert is_ref(raw["items"]["cell"]) and is_ref(raw["layouts"]["geo"]["places"])  # no per-item array inline
    assert (site / raw["items"]["cell"]["column"]).stat().st_size == 4 * data["count"]
    held = []  # every column but the cell order is held back: the mosaic must paint without them
    page.route("**/data/columns/**", lambda r: r.continue_() if r.request.url.endswith("/cell.bin") else held.append(r))
    page.goto(base + "index.html")
    page.wait_for_selector("body[data-painted=true]")
    assert page.evaluate("() => document.body.dataset.ready") is None and held
    assert page.locator("#viewer canvas").count() and page.locator("#loading").is_hidden()
    for r in held:
        r.continue_()
    page.wait_for_selector("body[data-ready=true]")
    got = page.evaluate("""() => {
        const c = salon.coll, plain = (a) => Array.from(a);
        return {cell: plain(c.cell), title: c.title, xy: plain(c.xy),
                facets: Object.fromEntries([...c.facets].map(([k, f]) => [k, plain(f.codes)])),
                years: Object.fromEntries([...c.years].map(([k, y]) => [k, Array.from(y, (v) => (v === v ? v : null))])),
                ranges: Object.fromEntries(c.yearRanges),
                layouts: Object.fromEntries([...c.layouts].map(([k, l]) => [k, plain(l.pos)])),
                places: c.layouts.get('geo').places};
    }""")
    assert got["cell"] == data["items"]["cell"] and got["title"] == data["items"]["title"]
    assert max(abs(a - b) for a, b in zip(got["xy"], data["items"]["xy"])) < 1e-6
    assert got["facets"] == {k: f["codes"] for k, f in data["facets"].items()}
    assert got["years"] == data["years"] and got["ranges"] == data["year_ranges"]
    for k, spec in data["layouts"].items():
        assert max(abs(a - b) for a, b in zip(got["layouts"][k], spec["pos"])) < 1e-6, k
    assert got["places"] == data["layouts"]["geo"]["places"]
