"""Full resolution in the browser (templates/assets/js/fullres.js): zoomed past the mosaic, items
are drawn from their own IIIF pyramids (site/iiif/<key>/), the zoom stops at 100 % of the image,
and the record panel's full view and IIIF drag-and-drop link work. Real Chromium, the demo-like
site built once per session by the real pipeline; every test fails on any console error, failed
or off-site request."""
from __future__ import annotations

import re
import urllib.parse

import pytest
from browser_helpers import CHROMIUM, HTTP_SERVER, Watch, open_site, shot, wait_settled

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium"),
    pytest.mark.skipif(not HTTP_SERVER.exists(), reason="needs npm's http-server: run `npm install`"),
]
sync_api = pytest.importorskip("playwright.sync_api")

DESKTOP = {"width": 1280, "height": 800}
TILE = re.compile(r"/iiif/([^/]+)/(\d+),(\d+),(\d+),(\d+)/(\d+),(\d+)/0/default\.jpg$")  # a region tile


@pytest.fixture
def page(browser, base):
    ctx = browser.new_context(viewport=DESKTOP)
    page = ctx.new_page()
    page.watch = Watch(page, base)
    page.iiif = []  # every request under iiif/
    page.on("request", lambda r: "/iiif/" in r.url and page.iiif.append(r.url))
    yield page
    ctx.close()
    assert not page.watch.dialogs, page.watch.dialogs
    assert not page.watch.problems, "\n".join(page.watch.problems)


def item_json(page, i: int) -> dict:
    return page.evaluate("""async (i) => {
        const c = salon.coll, k = Math.floor(i / c.chunkSize);
        const chunk = await (await fetch(`data/items/${k}.json`)).json();
        return chunk.items[i - chunk.start];
    }""", i)


def middle_item(page) -> int:
    """An item near the middle of the grid (neighbours on every side)."""
    return page.evaluate("""() => { const c = salon.coll;
        const cell = Math.floor(c.rows / 2) * c.cols + Math.floor(c.cols / 2);
        for (let d = 0; d < c.cellToItem.length; d++) if (c.cellToItem[cell + d] >= 0) return c.cellToItem[cell + d];
        return -1; }""")


def fill_screen_with(page, i: int) -> None:
    """Zoom (animated, as a visitor would) until item i fills the viewer's height."""
    page.evaluate("""(i) => { const v = salon.viewer, r = v.itemRect(i);
        v.osd.viewport.fitBounds(new OpenSeadragon.Rect(r.x, r.y, r.w, r.h)); }""", i)
    wait_settled(page)


def key_of(item: dict) -> str:
    return item["image"]["info"].split("/")[1]


def test_zooming_in_draws_the_items_own_tiles_up_to_full_resolution(page, base, built_site):
    open_site(page, base)
    i = middle_item(page)
    item = item_json(page, i)
    key, full_w = key_of(item), item["image"]["width"]
    # the overview needs no pyramid
    assert page.evaluate("() => salon.viewer.deepZoom.attached().length") == 0
    assert not any(f"/iiif/{key}/" in u for u in page.iiif)

    fill_screen_with(page, i)
    page.wait_for_function("(i) => salon.viewer.deepZoom.shown(i)", arg=i, timeout=30_000)
    assert f"{base}iiif/{key}/info.json" in page.iiif
    tiles = [m for m in map(TILE.search, page.iiif) if m and m.group(1) == key]
    assert tiles, f"no tiles of {key} requested: {page.iiif}"
    for m in tiles:  # every tile asked for is a file the site holds
        assert (built_site / urllib.parse.unquote(m.group(0)).lstrip("/")).is_file()
    # the whole view is drawn from the cells' own images, at most the budget at once
    n = page.evaluate("() => salon.viewer.deepZoom.attached().length")
    assert 1 <= n <= page.evaluate("() => salon.viewer.deepZoom.max")
    shot(page, "fullres-fills-screen")

    # keep zooming in: the view stops at 100 % of the image (one image pixel per CSS pixel,
    # so at least one device pixel per image pixel), never enlarging it beyond
    sizes = []
    for _ in range(12):
        page.click("#zoom-in")
        wait_settled(page)
        sizes.append(page.evaluate("(i) => salon.itemPixel(i).size", i))
    assert sizes[-1] == pytest.approx(sizes[-2]), f"the zoom never stopped: {sizes}"
    dpr = page.evaluate("() => devicePixelRatio")
    assert sizes[-1] == pytest.approx(full_w, rel=0.01)  # drawn size = full size: 100 %
    assert sizes[-1] * dpr >= full_w * 0.99
    # at full size, the full-resolution tiles (scale factor 1: region size = tile size) are drawn
    page.wait_for_function("(i) => salon.viewer.deepZoom.shown(i)", arg=i)
    full_tiles = [m for m in map(TILE.search, page.iiif)
                  if m and m.group(1) == key and m.group(4, 5) == m.group(6, 7)]
    assert full_tiles, "no full-resolution tile requested"
    shot(page, "fullres-at-limit")


def test_similarity_map_items_are_sharp_where_the_layout_puts_them(page, base):
    open_site(page, base)
    page.evaluate("() => salon.setLayout('tsne')")
    wait_settled(page)
    i = middle_item(page)
    fill_screen_with(page, i)
    page.wait_for_function("(i) => salon.viewer.deepZoom.shown(i)", arg=i, timeout=30_000)
    # the image sits in the item's square of the map (contain), not in its grid cell
    placed = page.evaluate("""(i) => { const v = salon.viewer, e = v.deepZoom.entries.get(i);
        const b = e.img.getBounds(true), r = v.itemRect(i), c = v.cellRect(i);
        return { b: [b.x, b.y, b.width, b.height], r: [r.x, r.y, r.w, r.h], c: [c.x, c.y, c.w, c.h] }; }""", i)
    bx, by, bw, bh = placed["b"]
    rx, ry, rw, rh = placed["r"]
    assert bx >= rx - 1e-9 and by >= ry - 1e-9 and bx + bw <= rx + rw + 1e-9 and by + bh <= ry + rh + 1e-9
    assert max(bw / rw, bh / rh) == pytest.approx(1)
    assert placed["r"] != placed["c"]
    # back to the grid: the same image follows the item to its cell
    page.evaluate("() => salon.setLayout('grid')")
    wait_settled(page)
    fill_screen_with(page, i)
    page.wait_for_function("(i) => salon.viewer.deepZoom.shown(i)", arg=i, timeout=30_000)
    b = page.evaluate("""(i) => { const b = salon.viewer.deepZoom.entries.get(i).img.getBounds(true);
        return [b.x, b.y, b.width, b.height]; }""", i)
    assert b == pytest.approx(placed["c"])


def test_full_view_deep_link_opens_in_a_fresh_page(browser, base):
    ctx = browser.new_context(viewport=DESKTOP)
    try:
        page = ctx.new_page()
        watch = Watch(page, base)
        seen: list[str] = []
        page.on("request", lambda r: "/iiif/" in r.url and seen.append(r.url))
        open_site(page, base, "#item=7&full=1", settle=False)
        page.wait_for_selector("#fullview[open][data-ready=true]", timeout=30_000)
        item = item_json(page, 7)
        key = key_of(item)
        assert page.text_content("#fullview-title") == page.evaluate("() => salon.coll.title[7]")
        assert page.text_content("#fullview-size") == f"{item['image']['width']} × {item['image']['height']} px"
        assert any(TILE.search(u) and f"/iiif/{key}/" in u or u.endswith(f"/iiif/{key}/full/512,512/0/default.jpg")
                   for u in seen), seen
        shot(page, "fullres-full-view")
        # it zooms no further than 100 %
        z = page.evaluate("""() => { const o = salon.fullView.osd, vp = o.viewport;
            vp.zoomTo(vp.getMaxZoom() * 10); vp.applyConstraints(true);
            const img = o.world.getItemAt(0);
            return img.viewportToImageZoom(vp.getZoom()); }""")
        assert z == pytest.approx(1, rel=0.01)
        # Escape closes the full view only: the record stays open, the address follows
        page.keyboard.press("Escape")
        page.wait_for_selector("#fullview", state="hidden")
        assert page.get_attribute("#panel", "data-item") == "7"
        page.wait_for_function("() => location.hash.includes('item=7') && !location.hash.includes('full=')")
        page.go_back()  # the full view was its own history entry
        page.wait_for_selector("#fullview[open]")
        assert not watch.problems, "\n".join(watch.problems)
    finally:
        ctx.close()


def test_record_panel_offers_full_view_and_iiif_drag_and_drop_link(page, base):
    open_site(page, base)
    page.evaluate("() => salon.openItem(3)")
    link = page.wait_for_selector("#panel-iiif a.iiif-link")
    item = item_json(page, 3)
    base_url = page.evaluate("() => salon.coll.raw.iiif.base_url")
    absolute = base_url + item["manifest"]
    href = link.get_attribute("href")
    path, _, query = href.partition("?")
    assert path == item["manifest"]
    assert urllib.parse.parse_qs(query) == {"manifest": [absolute]}  # the drag-and-drop convention
    assert page.evaluate("() => document.querySelector('#panel-iiif a.iiif-link img').naturalWidth") > 0
    # the link's target is the Manifest itself, served
    assert page.evaluate("async (u) => (await (await fetch(u)).json()).type", href) == "Manifest"
    page.click("#panel-full")
    page.wait_for_selector("#fullview[open][data-ready=true]", timeout=30_000)
    assert re.search(r"item=3&full=1", page.evaluate("() => location.hash"))
    page.click("#fullview-close")
    page.wait_for_selector("#fullview", state="hidden")
    assert page.is_visible("#panel")


def test_phone_loads_fewer_pyramids_at_once(browser, base):
    ctx = browser.new_context(viewport={"width": 375, "height": 740}, device_scale_factor=2, is_mobile=True,
                              has_touch=True)
    try:
        page = ctx.new_page()
        watch = Watch(page, base)
        open_site(page, base)
        assert page.evaluate("() => salon.viewer.deepZoom.max") == 8
        # just past the mosaic's native size many cells are in view: only 8 come from pyramids
        page.evaluate("""() => { const v = salon.viewer, vp = v.osd.viewport;
            const px = v.ppu(false) * devicePixelRatio * v.cellVp[0] / salon.coll.cellSize[0];
            vp.zoomTo(vp.getZoom() * 1.2 / px, null, true); }""")
        wait_settled(page)
        n = page.evaluate("() => salon.viewer.deepZoom.attached().length")
        assert 1 <= n <= 8
        assert not watch.problems, "\n".join(watch.problems)
    finally:
        ctx.close()


def test_fill_cells_stay_seamless_when_the_pyramid_takes_over(browser, tmp_path, site_cache):
    """--resize fill crops each cell to its centre: the item's own image then covers the cell and is
    clipped to the same centre part, so nothing jumps or spills over the neighbours when it takes over."""
    from browser_helpers import serve
    from PIL import Image

    from pipeline.build import Settings, build
    images = tmp_path / "images"
    images.mkdir()
    for i in range(12):  # wide and tall gradients, different enough to be placed apart
        w, h = (900, 300) if i % 2 else (300, 900)
        im = Image.linear_gradient("L").resize((w, h)).convert("RGB")
        im.paste((40 * i % 255, 255 - 20 * i, 90), (0, 0, w // 3, h // 3))
        im.save(images / f"g{i:02d}.png")
    out = tmp_path / "site"
    build(Settings(images=str(images), out=out, cache=site_cache, resize="fill", image_search=False))
    ctx = browser.new_context(viewport=DESKTOP)
    page = ctx.new_page()
    try:
        with serve(out) as url:
            open_site(page, url)
            assert page.evaluate("() => salon.coll.cellFit") == "fill"
            i = middle_item(page)
            fill_screen_with(page, i)
            page.wait_for_function("(i) => salon.viewer.deepZoom.shown(i)", arg=i, timeout=30_000)
            got = page.evaluate("""(i) => { const v = salon.viewer, img = v.deepZoom.entries.get(i).img;
                const c = img.getClippedBounds(true), b = img.getBounds(true), r = v.itemRect(i);
                return { c: [c.x, c.y, c.width, c.height], b: [b.width, b.height], r: [r.x, r.y, r.w, r.h] }; }""", i)
            assert got["c"] == pytest.approx(got["r"], abs=1e-9)  # shows exactly the cell
            assert max(got["b"][0] / got["r"][2], got["b"][1] / got["r"][3]) == pytest.approx(3)  # 3:1, covering
    finally:
        ctx.close()
