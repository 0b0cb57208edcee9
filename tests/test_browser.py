"""The collection browser in real Chromium (Debian's /usr/bin/chromium, driven by Playwright),
against sites built by the real pipeline and served the way `npm start` serves them.

Every test fails on any console error, failed request, off-site request or dialog.
Screenshots of the main states go to tests/artifacts/.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from browser_helpers import (
    CHROMIUM,
    HTTP_SERVER,
    Watch,
    finds,
    fold,
    open_site,
    serve,
    shot,
    wait_search_index,
    wait_settled,
)

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium "
                       "(apt-get install -y chromium)"),
    pytest.mark.skipif(not HTTP_SERVER.exists(), reason="needs npm's http-server: run `npm install`"),
]
sync_api = pytest.importorskip("playwright.sync_api")

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"viewport": {"width": 375, "height": 740}, "device_scale_factor": 2, "is_mobile": True,
         "has_touch": True}


# ---- fixtures ---------------------------------------------------------------------------------

def _page(browser, base, **context):
    ctx = browser.new_context(**({"viewport": DESKTOP} | context))
    page = ctx.new_page()
    page.watch = Watch(page, base)
    return ctx, page


def _clean(page):
    w = page.watch
    assert not w.dialogs, f"a dialog opened: {w.dialogs}"
    assert not w.problems, "\n".join(w.problems)


@pytest.fixture
def page(browser, base):
    ctx, page = _page(browser, base)
    yield page
    ctx.close()
    _clean(page)


# ---- helpers ----------------------------------------------------------------------------------

def coll(page) -> dict:
    return page.evaluate("() => ({n: salon.coll.n, title: salon.coll.title, fields: salon.coll.fields,"
                         " name: document.getElementById('collection-title').textContent})")


def item_point(page, i: int) -> tuple[float, float]:
    """Page coordinates of the centre of item i in the current view."""
    box = page.locator("#viewer").bounding_box()
    p = page.evaluate("i => salon.itemPixel(i)", i)
    return box["x"] + p["x"], box["y"] + p["y"]


def centre_item(page) -> int:
    """The item in the middle of what the visitor sees (the stage less the record panel), or -1
    where that point falls between items (the similarity map and the groups layout have gaps)."""
    return page.evaluate("() => salon.viewer.centreItem()")


def in_view(page, i: int) -> bool:
    """Whether item i's centre is on the part of the stage the panel leaves free."""
    return page.evaluate("""i => { const p = salon.itemPixel(i), v = salon.viewer.el, ins = salon.viewer.insets();
        return p.x >= 0 && p.y >= 0 && p.x < v.clientWidth - ins.right && p.y < v.clientHeight - ins.bottom; }""", i)


def open_by_click(page, i: int) -> int:
    """Click item i's centre, flying there first if it is out of view or under the panel; returns
    the item opened (in the similarity map a neighbour drawn above i may cover that point: then
    that one opens, as the visitor sees it)."""
    if not in_view(page, i):
        page.evaluate("i => salon.viewer.flyTo(i)", i)
        wait_settled(page)
        assert in_view(page, i)
    x, y = item_point(page, i)
    box = page.locator("#viewer").bounding_box()
    i = page.evaluate("p => salon.viewer.hit(p)", {"x": x - box["x"], "y": y - box["y"]})
    assert i >= 0
    page.mouse.move(x, y)
    page.mouse.click(x, y)
    page.wait_for_function("i => document.getElementById('panel').dataset.item === String(i) &&"
                           " !document.getElementById('panel').classList.contains('is-pending')", arg=i)
    wait_settled(page)  # the click's reveal (next frame) has run: a later move is not undone by it
    return i


def panel_title(page) -> str:
    return page.locator("#panel-title").text_content()


def match_count(page) -> int:
    return int(page.locator("#search-status").get_attribute("data-count") or -1)


def searchable(row: dict[str, str], field_keys: list[str]) -> str:
    return fold(" ".join([row["title"], *(row.get(k, "") for k in field_keys)]))


def pick_term(rows, field_keys) -> tuple[str, int]:
    """A word from the titles that matches several rows but not most of them."""
    texts = [searchable(r, field_keys) for r in rows.values()]
    words = sorted({w for r in rows.values() for w in re.findall(r"[^\W\d_]{4,}", fold(r["title"]))})
    best = None
    for w in words:
        n = sum(finds(w, t) for t in texts)
        if 2 <= n <= len(texts) // 3 and (best is None or n > best[1]):
            best = (w, n)
    assert best, "no useful search term in the test collection"
    return best


# ---- tests ------------------------------------------------------------------------------------

def test_overview_hover_and_record_panel(page, base, rows):
    open_site(page, base)
    c = coll(page)
    assert c["n"] == len(rows)
    assert page.locator("#collection-count").text_content().startswith(f"{c['n']:,}")
    shot(page, "01-overview")
    i = centre_item(page)
    assert i >= 0
    # hover: tooltip with the title and a highlighted cell
    x, y = item_point(page, i)
    page.mouse.move(x, y)
    page.wait_for_selector("#tooltip:not([hidden])")
    assert page.locator("#tooltip").text_content() == c["title"][i]
    assert page.evaluate("() => salon.viewer.hover") == i
    # click: the record panel
    page.mouse.click(x, y)
    page.wait_for_function("i => document.getElementById('panel').dataset.item === String(i) &&"
                           " !document.getElementById('panel').classList.contains('is-pending')", arg=i)
    item_id = page.locator("#panel-id").text_content()
    row = rows[Path(item_id).name]
    assert panel_title(page) == row["title"]
    # every configured field, with its label, showing the CSV value
    labels = page.locator("#panel-fields dt").all_text_contents()
    values = page.locator("#panel-fields dd").all_text_contents()
    assert labels == [f["label"] for f in c["fields"]]
    for f, v in zip(c["fields"], values):
        if f["key"] in row:
            assert v == (row[f["key"]] or "—"), f["key"]
    # the record link goes to the institution's page, in a new tab
    link = page.locator("#panel-link a")
    assert link.get_attribute("href") == f"https://openmoji.org/library/emoji-{row['hexcode']}/"
    assert link.get_attribute("rel") == "noopener noreferrer"
    # the larger preview from the build (not the mosaic cell)
    page.wait_for_selector("#panel-figure img.panel-img")
    assert page.locator("#panel-figure img").get_attribute("src").startswith("thumbs/")
    assert f"item={i}" in page.url
    wait_settled(page)
    shot(page, "02-record-panel")


def test_similar_image_flies_there(page, base):
    open_site(page, base)
    open_by_click(page, centre_item(page))
    wait_settled(page)
    before = page.evaluate("() => salon.viewer.getView()")
    sims = page.locator("#similar-strip .similar-btn")
    assert sims.count() >= 1
    j = int(sims.nth(0).get_attribute("data-item"))
    score = sims.nth(0).locator(".score").text_content()
    assert re.fullmatch(r"-?\d\.\d\d", score)
    sims.nth(0).click()
    page.wait_for_function("j => document.getElementById('panel').dataset.item === String(j)", arg=j)
    wait_settled(page)
    assert panel_title(page) == coll(page)["title"][j]
    after = page.evaluate("() => salon.viewer.getView()")
    assert (after["x"], after["y"]) != (before["x"], before["y"]), "the view did not move"
    # item j sits in the middle of the part of the stage the panel leaves free
    p = page.evaluate("j => salon.itemPixel(j)", j)
    ins = page.evaluate("() => salon.viewer.insets()")
    vw = page.evaluate("() => document.getElementById('viewer').clientWidth")
    vh = page.evaluate("() => document.getElementById('viewer').clientHeight")
    assert abs(p["x"] - (vw - ins["right"]) / 2) < max(8, p["size"] / 2)
    assert abs(p["y"] - (vh - ins["bottom"]) / 2) < max(8, p["size"] / 2)
    assert page.evaluate("() => salon.viewer.selected") == j
    assert f"item={j}" in page.url
    # previous / next in the grid
    page.locator("#panel-next").click()
    page.wait_for_function("j => document.getElementById('panel').dataset.item !== String(j)", arg=j)
    shot(page, "03-similar-followed")


def test_search_counts_matching_rows_and_steps_through(page, base, rows):
    open_site(page, base)
    keys = [f["key"] for f in coll(page)["fields"]]
    term, expected = pick_term(rows, keys)
    page.locator("#search").click()
    page.keyboard.type(term.upper(), delay=20)  # case-insensitive, as you type
    page.wait_for_function("n => document.getElementById('search-status').dataset.count === String(n)",
                           arg=expected)
    assert match_count(page) == expected
    assert page.locator("#result-list li").count() == min(expected, 200)
    # the mask dims the rest of the mosaic
    mask = page.evaluate("() => Array.from(salon.result.mask)")
    assert sum(mask) == expected
    # Enter steps to the first match and opens it
    page.keyboard.press("Enter")
    page.wait_for_selector("#panel:not([hidden])")
    first = int(page.locator("#panel").get_attribute("data-item"))
    assert mask[first] == 1
    assert page.locator("#step-pos").text_content().startswith("1 /")
    page.locator("#step-next").click()
    page.wait_for_function("f => document.getElementById('panel').dataset.item !== String(f)", arg=first)
    second = int(page.locator("#panel").get_attribute("data-item"))
    assert mask[second] == 1
    wait_settled(page)
    shot(page, "04-search")
    # a result in the list flies to its item
    page.locator("#result-list .result-btn").nth(0).click()
    page.wait_for_function("f => document.getElementById('panel').dataset.item === String(f)", arg=first)
    # accents and case do not matter
    page.locator("#search").fill("")
    page.locator("#search").type("ÉMOJI".lower().replace("e", "é"))
    n_emoji = sum(finds("emoji", searchable(r, keys)) for r in rows.values())
    page.wait_for_function("n => document.getElementById('search-status').dataset.count === String(n) ||"
                           " (n === 0 && document.getElementById('search-status').dataset.count === '0')",
                           arg=n_emoji)


def test_facets_filter_and_combine_with_search(page, base, rows):
    open_site(page, base)
    keys = [f["key"] for f in coll(page)["fields"]]
    btns = page.locator('#facets .facet-btn[data-facet="category"]')
    assert btns.count() >= 2
    value = btns.nth(0).get_attribute("data-value")   # sorted by count: the largest first
    expected = sum(r["category"] == value for r in rows.values())
    assert int(btns.nth(0).locator(".facet-count").text_content().replace(",", "")) == expected
    btns.nth(0).click()
    page.wait_for_function("n => document.getElementById('search-status').dataset.count === String(n)",
                           arg=expected)
    assert btns.nth(0).get_attribute("aria-pressed") == "true"
    # OR within a facet
    value2 = btns.nth(1).get_attribute("data-value")
    btns.nth(1).click()
    both = sum(r["category"] in (value, value2) for r in rows.values())
    page.wait_for_function("n => document.getElementById('search-status').dataset.count === String(n)", arg=both)
    btns.nth(1).click()
    # AND with the search
    in_cat = [r for r in rows.values() if r["category"] == value]
    term = next((w for r in in_cat for w in re.findall(r"[^\W\d_]{4,}", fold(r["title"]))), None)
    assert term
    combined = sum(finds(term, searchable(r, keys)) for r in in_cat)
    page.locator("#search").fill(term)
    page.wait_for_function("n => document.getElementById('search-status').dataset.count === String(n)",
                           arg=combined)
    # year range
    page.locator("#search").fill("")
    years = page.locator(".facet-years .year-input")
    if years.count():
        from_, to = years.nth(0), years.nth(1)
        lo = int(from_.get_attribute("min"))
        hi = int(to.get_attribute("max"))
        mid = (lo + hi) // 2
        from_.fill(str(lo))
        to.fill(str(mid))
        to.dispatch_event("change")
        exp = sum(r["category"] == value and r["date"][:4].isdigit() and lo <= int(r["date"][:4]) <= mid
                  for r in rows.values())
        page.wait_for_function("n => document.getElementById('search-status').dataset.count === String(n)",
                               arg=exp)
    wait_settled(page)
    shot(page, "05-facets")
    page.locator("#filters-clear").click()
    page.wait_for_function("() => !document.getElementById('search-status').dataset.count")


def test_deep_link_reproduces_the_view_and_history_works(browser, base, rows):
    ctx, page = _page(browser, base)
    open_site(page, base)
    page.locator('#facets .facet-btn[data-facet="category"]').nth(0).click()
    keys = [f["key"] for f in coll(page)["fields"]]
    term, _ = pick_term(rows, keys)
    wait_search_index(page)  # else the count is of titles only, and the link's page counts fields too
    page.locator("#search").fill(term)
    page.wait_for_function("() => document.getElementById('search-status').dataset.count")
    count = match_count(page)
    page.locator('#layout-switch [data-layout="tsne"]').click()
    wait_settled(page)
    i = centre_item(page)
    if i < 0:
        i = page.evaluate("() => salon.result.matches[0] ?? 0")
    page.evaluate("i => salon.openItem(i)", i)
    wait_settled(page)
    page.wait_for_function("() => salon.hashInSync()")  # the view is written to the hash once it settles
    url = page.url
    view = page.evaluate("() => salon.viewer.getView()")
    assert "layout=tsne" in url and f"item={i}" in url and "q=" in url and "f.category=" in url
    shot(page, "06-deep-link-source")

    ctx2, fresh = _page(browser, base)
    fresh.goto(url)
    fresh.wait_for_selector("body[data-ready=true]")
    wait_settled(fresh)
    assert fresh.locator("#search").input_value() == term
    assert match_count(fresh) == count
    assert fresh.locator('#facets .facet-btn[aria-pressed="true"]').count() == 1
    assert fresh.locator('#layout-switch [data-layout="tsne"]').get_attribute("aria-pressed") == "true"
    assert fresh.locator("#panel").get_attribute("data-item") == str(i)
    v2 = fresh.evaluate("() => salon.viewer.getView()")
    assert abs(v2["x"] - view["x"]) < 1e-3 and abs(v2["y"] - view["y"]) < 1e-3
    assert abs(v2["z"] / view["z"] - 1) < 1e-2
    shot(fresh, "07-deep-link-fresh-page")

    # back and forward
    j = fresh.evaluate("i => salon.coll.cellToItem.find((k) => k >= 0 && k !== i)", i)
    fresh.evaluate("j => salon.openItem(j)", j)
    fresh.wait_for_function("j => location.hash.includes('item=' + j)", arg=j)
    fresh.go_back()
    fresh.wait_for_function("i => document.getElementById('panel').dataset.item === String(i)", arg=i)
    fresh.go_forward()
    fresh.wait_for_function("j => document.getElementById('panel').dataset.item === String(j)", arg=j)
    ctx.close()
    ctx2.close()
    _clean(page)
    _clean(fresh)


def test_keyboard(page, base):
    open_site(page, base)
    page.locator("body").press("/")
    assert page.evaluate("() => document.activeElement.id") == "search"
    page.keyboard.type("zzzz")
    page.keyboard.press("Escape")       # clears
    assert page.locator("#search").input_value() == ""
    page.keyboard.press("Escape")       # leaves the box
    assert page.evaluate("() => document.activeElement.id") != "search"
    page.keyboard.press("ArrowRight")
    a = page.evaluate("() => salon.viewer.cursor")
    assert a >= 0
    page.keyboard.press("ArrowRight")
    b = page.evaluate("() => salon.viewer.cursor")
    assert b != a
    page.keyboard.press("ArrowDown")
    c = page.evaluate("() => salon.viewer.cursor")
    page.keyboard.press("Enter")
    page.wait_for_selector("#panel:not([hidden])")
    assert page.locator("#panel").get_attribute("data-item") == str(c)
    page.keyboard.press("ArrowLeft")     # with the panel open, the panel follows
    page.wait_for_function("c => document.getElementById('panel').dataset.item !== String(c)", arg=c)
    page.keyboard.press("Escape")
    page.wait_for_selector("#panel", state="hidden")
    # Tab reaches the controls with a visible focus ring
    page.keyboard.press("Tab")
    outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"


def test_similarity_map_layout(page, base):
    open_site(page, base)
    page.locator('#layout-switch [data-layout="tsne"]').click()
    wait_settled(page)
    shot(page, "08-similarity-map")
    i = centre_item(page)
    open_by_click(page, i if i >= 0 else 0)  # the centre of the map may be empty: then item 0
    wait_settled(page)
    shot(page, "09-similarity-map-panel")
    # grouped by a category: one labelled block per value. With the record open the view centres
    # it in the part of the stage left free, so the middle often falls in a gap between blocks.
    page.locator('#layout-switch [data-layout="groups"]').click()
    wait_settled(page)
    assert "layout=groups" in page.url
    shot(page, "09b-groups-layout")
    # every item in view is found where it is drawn, and none outside the viewer
    seen = page.evaluate("""() => { const v = salon.viewer, out = [];
        for (let i = 0; i < salon.coll.n; i++) { const p = salon.itemPixel(i);
          if (p.x >= 0 && p.y >= 0 && p.x < v.el.clientWidth && p.y < v.el.clientHeight) out.push([i, v.hit(p)]); }
        return out; }""")
    assert seen and all(i == h for i, h in seen), seen
    assert page.evaluate("() => salon.viewer.hit({x: -5, y: 10})") == -1
    centre = centre_item(page)
    j = open_by_click(page, centre if centre >= 0 else seen[0][0])
    assert j >= 0
    far = max(seen, key=lambda ih: item_point(page, ih[0])[0])[0]  # the rightmost in view
    assert open_by_click(page, far) == far
    page.locator('#layout-switch [data-layout="grid"]').click()
    wait_settled(page)
    assert page.evaluate("() => salon.viewer.layout") == "grid"


def test_phone(browser, base, rows):
    ctx, page = _page(browser, base, **PHONE)
    open_site(page, base)
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 375
    shot(page, "10-phone-overview")
    i = centre_item(page)
    x, y = item_point(page, i)
    page.touchscreen.tap(x, y)
    page.wait_for_function("i => document.getElementById('panel').dataset.item === String(i) &&"
                           " !document.getElementById('panel').classList.contains('is-pending')", arg=i)
    box = page.locator("#panel").bounding_box()
    assert box["width"] == 375 and abs(box["y"] + box["height"] - 740) < 2 and box["y"] > 200  # bottom sheet
    item_id = page.locator("#panel-id").text_content()
    assert panel_title(page) == rows[Path(item_id).name]["title"]
    wait_settled(page)
    # the item is not hidden under the sheet
    _, iy = item_point(page, i)
    assert iy < box["y"]
    shot(page, "11-phone-record")
    page.locator("#panel-close").tap()
    page.locator("#filters-toggle").tap()
    page.wait_for_function("() => document.getElementById('sidebar').getBoundingClientRect().left >= 0"
                           " && !document.getElementById('sidebar').getAnimations().length")
    shot(page, "12-phone-filters")
    page.locator('#facets .facet-btn[data-facet="category"]').nth(0).tap()
    page.wait_for_function("() => document.getElementById('search-status').dataset.count")
    page.locator("#sidebar-close").tap()
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 375
    ctx.close()
    _clean(page)


# ---- hostile metadata -------------------------------------------------------------------------

HOSTILE_TITLES = [
    "<img src=x onerror=alert(1)>",
    "\"><svg onload=alert(1)>",
    "<script>alert(1)</script>",
    "javascript:alert(1)",
    "Tom & Jerry's <b>bold</b>",
]
HOSTILE_URLS = ["javascript:alert(1)", " JaVaScRiPt:alert(1)", "data:text/html,<script>alert(1)</script>",
                "vbscript:msgbox(1)", "java\tscript:alert(1)"]


@pytest.fixture(scope="module")
def hostile_site(tmp_path_factory, site_cache):
    """A collection whose CSV holds markup in titles and script URLs, built by the pipeline."""
    import csv

    from PIL import Image, ImageDraw

    from pipeline.build import Settings, build
    root = tmp_path_factory.mktemp("hostile")
    images = root / "images"
    images.mkdir()
    rows = []
    for k in range(14):
        im = Image.new("RGB", (96, 96), ((k * 53) % 256, (k * 97) % 256, (k * 151) % 256))
        ImageDraw.Draw(im).ellipse([20 + k, 20, 76, 76 - k], fill=(250, 250, 240))
        name = f"h{k:02d}.png"
        im.save(images / name)
        title = HOSTILE_TITLES[k] if k < len(HOSTILE_TITLES) else f"Harmless {k}"
        url = HOSTILE_URLS[k] if k < len(HOSTILE_URLS) else f"https://example.org/{k}"
        rows.append({"filename": name, "title": title, "url": url,
                     "maker": "<img src=x onerror=alert(2)>" if k % 2 else "Ann", "kind": "a" if k % 3 else "b"})
    csv_path = root / "hostile.csv"
    with open(csv_path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    out = root / "site"
    build(Settings(images=str(images), metadata=str(csv_path), id="hostile", out=out, cache=site_cache,
                   url="url", name="<img src=x onerror=alert(3)>",
                   description="<script>alert(4)</script> described", credit="<b>credit</b>",
                   credit_url="javascript:alert(5)", image_search=False))
    return out, {r["filename"]: r for r in rows}


def test_hostile_metadata_stays_inert(browser, hostile_site):
    site, hrows = hostile_site
    with serve(site) as hbase:
        ctx, page = _page(browser, hbase)
        page.add_init_script("window.__pwned = 0; window.alert = () => { window.__pwned++; };")
        open_site(page, hbase)
        assert page.locator("#collection-title").text_content() == "<img src=x onerror=alert(3)>"
        n = page.evaluate("() => salon.coll.n")
        titles = page.evaluate("() => salon.coll.title")
        for i in range(n):
            if titles[i] not in HOSTILE_TITLES:
                continue
            page.evaluate("i => salon.openItem(i, {fly: false})", i)
            page.wait_for_function("i => document.getElementById('panel').dataset.item === String(i) &&"
                                   " !document.getElementById('panel').classList.contains('is-pending')", arg=i)
            item_id = page.locator("#panel-id").text_content()
            assert panel_title(page) == hrows[item_id]["title"]
            # no link other than http(s) or relative, anywhere
            hrefs = page.evaluate("() => [...document.querySelectorAll('[href]')].map(a => a.getAttribute('href'))")
            for h in hrefs:
                assert not re.match(r"^\s*[a-z][a-z0-9+.\-]*\s*:", h, re.I) or re.match(r"^https?:", h), h
        # the about dialog: description and credit are text; the javascript: credit URL is no link
        page.locator("#about-open").click()
        assert "<script>alert(4)</script>" in page.locator(".about-description").text_content()
        assert page.locator("#about a").count() == 0
        shot(page, "13-hostile-about")
        page.keyboard.press("Escape")
        # search finds the markup as text
        page.locator("#search").fill("onerror")
        page.wait_for_function("() => document.getElementById('search-status').dataset.count")
        expected = sum("onerror" in fold(" ".join(r.values())) for r in hrows.values()
                       if True)  # title + maker are searchable; the URL is not shown
        assert 1 <= match_count(page) <= expected
        page.keyboard.press("Enter")
        page.wait_for_selector("#panel:not([hidden]):not(.is-pending)")
        wait_settled(page)
        shot(page, "14-hostile-panel")
        bad = page.evaluate("() => document.querySelectorAll("
                            "'img[src=\"x\"], [onerror], [onload], script:not([src])').length")
        assert bad == 0
        assert page.evaluate("() => window.__pwned") == 0
        ctx.close()
        _clean(page)


# ---- text folding and column names that are Object properties -----------------------------------

FOLD_TITLES = ["Die Straße", "Łódź", "Işık", "İstanbul", "ΟΔΟΣ", "Tiếng Việt", "がっこう", "Ærø", "❤️ café",
               "Crème Brûlée", "Strasbourg", "Plain"]
# a visitor's spelling -> the title it must find (every spelling of the word that title holds)
SPELLINGS = [("strasse", "Die Straße"), ("straße", "Die Straße"), ("STRASSE", "Die Straße"),
             ("Strasse", "Die Straße"), ("lodz", "Łódź"), ("ŁÓDŹ", "Łódź"), ("ISIK", "Işık"), ("ışık", "Işık"),
             ("istanbul", "İstanbul"), ("İSTANBUL", "İstanbul"), ("οδος", "ΟΔΟΣ"), ("Οδός", "ΟΔΟΣ"),
             ("tieng viet", "Tiếng Việt"), ("TIẾNG", "Tiếng Việt"), ("かっこう", "がっこう"), ("aero", "Ærø"),
             ("cafe", "❤️ café"), ("creme brulee", "Crème Brûlée"), ("gdansk", "Plain")]
# (a symbol alone, such as ❤, is no word: the ranked search matches words and their starts)


@pytest.fixture(scope="module")
def unicode_site(tmp_path_factory, site_cache):
    """Titles in many scripts, a note field, and facets from columns named `constructor` and
    `__proto__`, built by the pipeline: (site folder, CSV rows)."""
    import csv

    from PIL import Image, ImageDraw

    from pipeline.build import Settings, build
    root = tmp_path_factory.mktemp("unicode")
    images = root / "images"
    images.mkdir()
    rows = []
    for k, title in enumerate(FOLD_TITLES):
        im = Image.new("RGB", (80, 80), ((k * 71) % 256, (k * 113) % 256, (k * 37) % 256))
        ImageDraw.Draw(im).rectangle([10 + 2 * k, 12, 70, 60 - 2 * k], fill=(240, 240 - 9 * k, 30 + 15 * k))
        name = f"u{k:02d}.png"
        im.save(images / name)
        rows.append({"filename": name, "title": title, "note": "Gdańsk" if title == "Plain" else f"note {k}",
                     "constructor": "ab"[k % 2], "__proto__": "xyz"[k % 3]})
    csv_path = root / "unicode.csv"
    with open(csv_path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    out = root / "site"
    build(Settings(images=str(images), metadata=str(csv_path), id="unicode", out=out, cache=site_cache,
                   name="Folding", image_search=False))
    return out, rows


@pytest.fixture(scope="module")
def unicode_base(unicode_site):
    with serve(unicode_site[0]) as url:
        yield url


def test_any_spelling_finds_the_title(browser, unicode_site, unicode_base):
    """The page folds what the visitor types as the build folded the titles and fields."""
    _, urows = unicode_site
    ctx, page = _page(browser, unicode_base)
    open_site(page, unicode_base, settle=False)
    wait_search_index(page)
    box = page.locator("#search")
    for query, title in SPELLINGS:
        terms = fold(query).split()   # any of the words (those with all of them rank first)
        expected = sum(any(finds(t, " ".join(v for k, v in r.items() if k != "filename")) for t in terms)
                       for r in urows)
        assert expected >= 1, query
        box.fill("")
        box.click()
        page.keyboard.type(query)  # as typed, key by key
        page.wait_for_function("n => document.getElementById('search-status').dataset.count === String(n)",
                               arg=expected)
        assert title in page.locator("#result-list .result-title").all_text_contents(), query
    ctx.close()
    _clean(page)


def test_column_names_like_object_properties_are_plain_facets(browser, unicode_site, unicode_base, base):
    """Columns named `constructor` and `__proto__` are facets like any other; links naming such keys,
    whether the collection has them or not, never break the page."""
    _, urows = unicode_site
    ctx, page = _page(browser, unicode_base)
    open_site(page, unicode_base)
    cons = page.locator('#facets .facet-btn[data-facet="constructor"]')
    proto = page.locator('#facets .facet-btn[data-facet="__proto__"]')
    assert cons.count() == 2 and proto.count() == 3
    a = cons.nth(0).get_attribute("data-value")
    cons.nth(0).click()
    page.wait_for_function("n => document.getElementById('search-status').dataset.count === String(n)",
                           arg=sum(r["constructor"] == a for r in urows))
    x = proto.nth(0).get_attribute("data-value")
    proto.nth(0).click()
    page.wait_for_function("n => document.getElementById('search-status').dataset.count === String(n)",
                           arg=sum(r["constructor"] == a and r["__proto__"] == x for r in urows))
    assert "f.constructor=" in page.url and "f.__proto__=" in page.url
    # the groups layout gathers by the facet with the fewest values: `constructor`
    page.locator('#layout-switch [data-layout="groups"]').click()
    wait_settled(page)
    assert page.locator("#groups-label").text_content() == "By constructor"
    ctx.close()
    _clean(page)

    links = [(unicode_base, "#f.__proto__=x", str(sum(r["__proto__"] == "x" for r in urows))),
             (unicode_base, "#f.constructor=zzz", "0"),
             (unicode_base, "#f.toString=1&f.hasOwnProperty=1&y.__proto__=1-2&y.constructor=1-2", ""),
             (base, "#f.constructor=x&f.__proto__=x&y.__proto__=1900-2000&item=0", "")]
    for site_url, link, count in links:
        ctx, page = _page(browser, site_url)
        open_site(page, site_url, link)
        assert (page.locator("#search-status").get_attribute("data-count") or "") == count, link
        assert page.evaluate("() => ({}).constructor === Object && Object.getPrototypeOf({}) === Object.prototype")
        ctx.close()
        _clean(page)
