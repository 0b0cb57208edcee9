"""Search by image in Chromium: upload a collection image and a cropped copy through the page,
check the results, the record they open, the filters, fidelity to the build, and that no
request leaves the site. Skipped where Chromium is missing."""
from pathlib import Path

import numpy as np
import pytest

from browser_helpers import CHROMIUM, CHROMIUM_ARGS as ARGS, serve
from pipeline import image_search

PHOTO = Path(np.__file__).parent.parent / "sklearn" / "datasets" / "images" / "china.jpg"
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(),
                                reason="needs Debian chromium (./install.sh --dev)")


@pytest.fixture(scope="module")
def served(built_site):
    with serve(built_site) as url:
        yield url


@pytest.fixture(scope="module")
def page(served):
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        pg = browser.new_page(viewport={"width": 1280, "height": 800})
        pg.requests = []
        pg.on("request", lambda r: pg.requests.append(r.url))
        pg.goto(served + "index.html")
        pg.wait_for_selector("body[data-ready=true]", timeout=60_000)
        yield pg
        browser.close()


def upload(page, path: Path, n: int) -> dict:
    page.set_input_files("#image-search-file", str(path))
    page.wait_for_selector(f'#image-search[data-queries="{n}"]', state="attached", timeout=120_000)
    return page.evaluate("""() => { const l = window.salonImageSearch.last;
        return {features: l.features, results: l.results, timings: l.timings}; }""")


def cosine(a, b) -> float:
    a, b = np.asarray(a, np.float32), np.asarray(b, np.float32)
    return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))


def test_upload_an_artwork_and_a_crop(page, served, built_site, demo_collection, tmp_path):
    import json

    import pyvips
    coll = json.loads((built_site / "data" / "collection.json").read_text("utf-8"))
    items = json.loads((built_site / "data" / "items" / "0.json").read_text("utf-8"))["items"]
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
    assert page.locator(".isearch-glow").count() == len(first["results"]) > 0

    # the browser computes what the build computes for the same file
    index = image_search.load_index(built_site)
    feats, _ = image_search.embed(index, image_search.pixels(index, svg)[None])
    assert cosine(first["features"], feats[0]) >= 0.99

    png = tmp_path / "art.png"
    pyvips.Image.thumbnail(str(svg), 480).flatten(background=[255, 255, 255]).crop(40, 30, 400, 420) \
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

    # text search narrows the image results to matching items
    word = coll["items"]["title"][n].split()[0]
    page.fill("#search", word)
    page.wait_for_timeout(1200)
    titles = page.locator("#image-search-results .isearch-hit-title").all_inner_texts()
    assert titles and all(word.lower() in t.lower() for t in titles)

    # nothing left the site: every request went to the page's own origin
    outside = [u for u in page.requests if not u.startswith(served) and not u.startswith(("blob:", "data:"))]
    assert outside == []
    assert any(u.endswith("model.onnx") for u in page.requests)
    assert any(u.endswith("ort-wasm-simd-threaded.wasm") for u in page.requests)
