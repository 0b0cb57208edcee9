"""A real IIIF client reads our IIIF: Mirador 4 (npm `mirador`, a pinned devDependency; its UMD
bundle dist/mirador.min.js) in Chromium opens the Collection and one Manifest of a site built by
the real pipeline and served on 127.0.0.1 at its --base-url. The canvas is drawn from our tiles
(requests hit the site's iiif/ folder) and the Manifest's metadata shows in Mirador's panel.
Nothing is fetched from anywhere else."""
from __future__ import annotations

import json
import re
import shutil

import pytest
from browser_helpers import CHROMIUM, CHROMIUM_ARGS, HTTP_SERVER, ROOT, free_port, serve, shot
from conftest import demo_settings

from pipeline.build import build

MIRADOR = ROOT / "node_modules" / "mirador" / "dist" / "mirador.min.js"
pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium"),
    pytest.mark.skipif(not HTTP_SERVER.exists(), reason="needs npm's http-server: run `npm install`"),
    pytest.mark.skipif(not MIRADOR.exists(), reason="needs npm's mirador (devDependency): run `npm install`"),
]
sync_api = pytest.importorskip("playwright.sync_api")

# Mirador in a page of its own: ?manifest=URL opens that Manifest (or Collection) in one window
# with the information panel open, as a visitor would after dropping our link on it.
HARNESS = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Mirador</title></head>
<body style="margin:0"><div id="mirador" style="position:absolute;inset:0"></div>
<script src="mirador.min.js"></script>
<script>
  const manifestId = new URLSearchParams(location.search).get('manifest');
  window.mirador = Mirador.viewer({
    id: 'mirador',
    windows: [{ manifestId, sideBarOpen: true, defaultSideBarPanel: 'info' }],
    window: { allowClose: false },
    workspaceControlPanel: { enabled: false },
  });
</script></body></html>
"""


@pytest.fixture(scope="module")
def served(demo_collection, site_cache, tmp_path_factory):
    """A root with the site built for its address (IIIF ids are absolute) under site/, and Mirador
    under mirador/; yields (root URL, site folder)."""
    root = tmp_path_factory.mktemp("mirador-root")
    port = free_port()
    site = root / "site"
    build(demo_settings(*demo_collection, site, site_cache, base_url=f"http://127.0.0.1:{port}/site/"))
    (root / "mirador").mkdir()
    shutil.copyfile(MIRADOR, root / "mirador" / "mirador.min.js")
    (root / "mirador" / "index.html").write_text(HARNESS, encoding="utf-8")
    with serve(root, port) as url:
        yield url, site


@pytest.fixture
def page(served):
    url, _ = served
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        ctx = b.new_context(viewport={"width": 1280, "height": 860})
        page = ctx.new_page()
        page.problems, page.requests = [], []
        page.on("pageerror", lambda e: page.problems.append(f"page error: {e}"))
        page.on("requestfailed", lambda r: page.problems.append(f"request failed: {r.url} {r.failure}"))
        page.on("response", lambda r: r.status >= 400 and page.problems.append(f"HTTP {r.status}: {r.url}"))

        def on_request(r):
            page.requests.append(r.url)
            if not r.url.startswith((url, "data:", "blob:")):
                page.problems.append(f"off-site request: {r.url}")
        page.on("request", on_request)
        yield page
        b.close()
    assert not page.problems, "\n".join(page.problems)


def open_in_mirador(page, url: str, resource: str) -> None:
    page.goto(f"{url}mirador/index.html?manifest={resource}")


def test_mirador_renders_a_manifest_from_our_tiles_with_its_metadata(page, served):
    url, site = served
    item = json.loads((site / "data" / "items" / "0.json").read_text())["items"][0]
    manifest = json.loads((site / item["manifest"]).read_text())
    assert manifest["id"] == f"{url}site/{item['manifest']}"
    key = item["manifest"].split("/")[1]

    open_in_mirador(page, url, manifest["id"])
    title = manifest["label"]["none"][0]
    page.get_by_text(title).first.wait_for(timeout=60_000)
    # metadata: Mirador's information panel lists our label/value pairs
    panel = page.locator("aside, section").filter(has_text="About this item").first
    panel.wait_for(timeout=30_000)
    pairs = {p["label"]["none"][0]: p["value"]["none"][0] for p in manifest["metadata"]}
    assert len(pairs) >= 3
    for label, value in list(pairs.items())[:4]:
        assert panel.get_by_text(label, exact=True).count() >= 1, f"label {label!r} not shown"
        assert panel.get_by_text(value, exact=True).count() >= 1, f"value {value!r} not shown"
    # the canvas: drawn by Mirador's OpenSeadragon from our image service's tiles
    tile = re.compile(rf"^{re.escape(url)}site/iiif/{re.escape(key)}/[^/]+/[^/]+/0/default\.jpg$")
    page.wait_for_function("() => document.querySelector('.openseadragon-canvas canvas')", timeout=30_000)
    page.wait_for_function("""(key) => performance.getEntriesByType('resource')
        .some((r) => r.name.includes(`/site/iiif/${key}/`) && r.name.endsWith('/0/default.jpg'))""",
                           arg=key, timeout=60_000)
    assert f"{url}site/iiif/{key}/info.json" in page.requests
    assert any(tile.match(u) for u in page.requests)
    # something is drawn: the viewer's canvas stops being blank (a tile arrives before it is painted)
    page.wait_for_function("""() => { const c = document.querySelector('.openseadragon-canvas canvas');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let lit = 0; for (let k = 0; k < d.length; k += 4 * 97) if (d[k] + d[k + 1] + d[k + 2] > 60) lit++;
        return lit > 50; }""", timeout=60_000)
    shot(page, "mirador-manifest")


def test_mirador_opens_our_collection_and_lists_its_manifests(page, served):
    url, site = served
    coll = json.loads((site / "iiif" / "collection.json").read_text())
    assert coll["type"] == "Collection" and coll["id"] == f"{url}site/iiif/collection.json"
    open_in_mirador(page, url, coll["id"])
    # Mirador names the Collection (its label) and shows it as a list of its Manifests to choose from
    page.get_by_text(coll["label"]["none"][0], exact=True).first.wait_for(timeout=60_000)
    page.get_by_role("button", name=re.compile("show collection", re.I)).click()
    labels = [m["label"]["none"][0] for m in coll["items"]]
    page.get_by_text(labels[0], exact=True).first.wait_for(timeout=30_000)
    for label in labels[1:4]:
        assert page.get_by_text(label, exact=True).count() >= 1, f"{label!r} not listed"
    # choosing one opens it: its canvas is drawn from our tiles
    page.get_by_text(labels[1], exact=True).first.click()
    key = coll["items"][1]["id"].rsplit("/", 2)[1]
    page.wait_for_function("""(key) => performance.getEntriesByType('resource')
        .some((r) => r.name.includes(`/site/iiif/${key}/`) && r.name.endsWith('/0/default.jpg'))""",
                           arg=key, timeout=60_000)
    shot(page, "mirador-collection")
