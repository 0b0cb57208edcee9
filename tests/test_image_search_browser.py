"""Search by image in Chromium: upload a collection image and a cropped copy through the page,
check the results, the record they open, the filters, fidelity to the build, and that no
request leaves the site. Skipped where Chromium is missing."""
from pathlib import Path

import numpy as np
import pytest
from browser_helpers import CHROMIUM
from conftest import site_items

from pipeline import image_search
from pipeline.columns import read_collection

PHOTO = Path(np.__file__).parent.parent / "sklearn" / "datasets" / "images" / "china.jpg"
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(),
                                reason="needs Debian chromium (./install.sh --dev)")


@pytest.fixture
def page(browser, base):
    """A fresh page of the demo site, every request it makes recorded."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 800})
    pg = ctx.new_page()
    pg.requests = []
    pg.on("request", lambda r: pg.requests.append(r.url))
    pg.goto(base + "index.html")
    pg.wait_for_selector("body[data-ready=true]", timeout=60_000)
    yield pg
    ctx.close()


def upload(page, path: Path, n: int) -> dict:
    page.set_input_files("#image-search-file", str(path))
    page.wait_for_selector(f'#image-search[data-queries="{n}"]', state="attached", timeout=120_000)
    return page.evaluate("""() => { const l = window.salonImageSearch.last;
        return {features: l.features, results: l.results, timings: l.timings}; }""")


def cosine(a, b) -> float:
    a, b = np.asarray(a, np.float32), np.asarray(b, np.float32)
    return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))


def test_upload_an_artwork_and_a_crop(page, base, built_site, demo_collection, tmp_path):

    from pipeline.decode import decode  # SVGs are drawn only the pipeline's guarded way
    coll = read_collection(built_site)
    items = site_items(built_site)
    n = 47
    svg = demo_collection[0] / items[n]["id"]
    assert not page.is_visible("#image-search")
    assert not [u for u in page.requests if "image-search" in u or "/ort/" in u]  # nothing before opening
    page.click("#image-search-open")
    page.wait_for_selector("#image-search", state="visible")
    first = upload(page, svg, 1)
    assert first["results"][0][0] == n and first["results"][0][1] > 0.98
    top_row = page.locator("#image-search-results button[data-rank='1']")
    assert top_row.get_attribute("data-item") == str(n)
    assert coll["items"]["title"][n] in top_row.inner_text()
    # a close match: the results are marked on the mosaic and everything else is dimmed
    assert page.get_attribute("#image-search", "data-state") == "close"
    assert page.evaluate("() => salon.marks.image.length") == len(first["results"]) > 0
    assert page.evaluate("() => salon.viewer.mask.reduce((a, b) => a + b, 0)") == len(first["results"])

    # the browser computes what the build computes for the same file
    index = image_search.load_index(built_site)
    feats, _ = image_search.embed(index, image_search.pixels(index, svg)[None])
    assert cosine(first["features"], feats[0]) >= 0.99

    png = tmp_path / "art.png"
    decode(svg, 480, 480, "contain", [255, 255, 255]).crop(40, 30, 400, 420) \
        .write_to_file(str(png.with_suffix(".jpg")) + "[Q=80]")
    crop = upload(page, png.with_suffix(".jpg"), 2)
    assert n in [i for i, _ in crop["results"][:3]]

    # a photo: the browser's resampling matches libvips' closely enough for the same features
    photo = upload(page, PHOTO, 3)
    feats, _ = image_search.embed(index, image_search.pixels(index, PHOTO)[None])
    assert cosine(photo["features"], feats[0]) >= 0.99

    # a click flies to the item and opens its record
    upload(page, svg, 4)
    page.click("#image-search-results button[data-rank='1']")
    page.wait_for_selector("#panel:not([hidden])")
    assert page.locator("#panel").get_attribute("data-item") == str(n)

    # the whole collection is searched whatever the filters; "within current filters" narrows
    # the image results to matching items (then they follow every filter change)
    word = coll["items"]["title"][n].split()[0]
    page.fill("#search", word)
    page.wait_for_function("() => !document.getElementById('image-search-within').disabled")
    assert page.locator("#image-search-results li").count() == len(first["results"])
    page.check("#image-search-within")
    page.wait_for_function("() => / filtered items/.test(document.getElementById('image-search-status').textContent)")
    titles = page.locator("#image-search-results .isearch-hit-title").all_inner_texts()
    assert titles and all(word.lower() in t.lower() for t in titles)
    assert len(titles) < len(first["results"])
    page.fill("#search", "")
    page.wait_for_function("n => document.querySelectorAll('#image-search-results li').length === n",
                           arg=len(first["results"]))

    # nothing left the site: every request went to the page's own origin
    outside = [u for u in page.requests if not u.startswith(base) and not u.startswith(("blob:", "data:"))]
    assert outside == []
    assert any(u.endswith("model.onnx") for u in page.requests)
    assert any(u.endswith("ort-wasm-simd-threaded.wasm") for u in page.requests)


def test_an_svg_the_browser_will_not_read_gets_a_clear_message(page, tmp_path):
    """An SVG with HTML inside (foreignObject) taints the canvas: the visitor is told what to do,
    not shown the browser's "tainted canvas" error."""
    svg = tmp_path / "html-inside.svg"
    svg.write_text('<svg xmlns="http://www.w3.org/2000/svg" width="200" height="200">'
                   '<rect width="200" height="200" fill="#c33"/>'
                   '<foreignObject width="200" height="200"><div xmlns="http://www.w3.org/1999/xhtml">'
                   'Hello</div></foreignObject></svg>', "utf-8")
    errors = []
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.click("#image-search-open")
    page.wait_for_selector("#image-search", state="visible")
    page.set_input_files("#image-search-file", str(svg))
    status = page.locator("#image-search-status.is-error")
    status.wait_for(timeout=60_000)
    text = status.text_content()
    assert "foreignObject" in text and "PNG or JPEG" in text
    assert "taint" not in text.lower() and "getImageData" not in text
    assert not errors
    assert not page.locator("#image-search-results li").count()
