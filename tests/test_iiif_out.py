"""IIIF out: a built site's Manifests, Collection and image services (validated with iiif-prezi3),
a new --base-url without new pyramids, and the round trip: the site read back with --iiif."""
import csv
import functools
import json
import shutil
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
from conftest import ROOT, site_items
from iiif_prezi3 import Collection, Manifest
from PIL import Image
from test_pyramids import osd_requests

from pipeline.build import Settings, build
from pipeline.columns import read_collection

ROWS = [  # filename, title, year, licence, description, link, maker
    ("harbour.jpg", "Harbour at dusk", "1895", "https://creativecommons.org/licenses/by/4.0/",
     "Oil on canvas", "https://museum.example/objects/1", "A. Painter"),
    ("field.png", "<b>Field</b>", "1902", "", "", "https://museum.example/objects/2", "B. Drawer"),
    ("face.svg", "Grinning face", "2018", "http://rightsstatements.org/vocab/InC/1.0/", "An emoji", "", "OpenMoji"),
    ("small.jpg", "Small print", "", "all rights reserved", "", "/objects/4", "A. Painter"),
    ("tall.jpg", "Tall scroll", "1750", "", "Ink", "", ""),
]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A site built from five real images, served on 127.0.0.1 at the address it was built for."""
    work = tmp_path_factory.mktemp("iiif-out")
    src = work / "images"
    src.mkdir()
    rng = np.random.default_rng(3)
    Image.fromarray((rng.random((900, 1500, 3)) * 255).astype("uint8")).save(src / "harbour.jpg")
    Image.new("RGBA", (600, 400), (30, 160, 60, 200)).save(src / "field.png")
    shutil.copy(ROOT / "node_modules" / "openmoji" / "color" / "svg" / "1F600.svg", src / "face.svg")
    Image.new("RGB", (200, 150), (200, 30, 30)).save(src / "small.jpg")
    Image.fromarray((rng.random((1300, 300, 3)) * 255).astype("uint8")).save(src / "tall.jpg")
    with open(work / "meta.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["filename", "title", "year", "licence", "description", "link", "maker"])
        w.writerows(ROWS)
    site = work / "site"
    site.mkdir()
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(SimpleHTTPRequestHandler, directory=str(site)))
    server.RequestHandlerClass.log_message = lambda *a: None
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    settings = Settings(images=str(src), metadata=str(work / "meta.csv"), id="museum", out=site,
                        cache=work / "cache", name="Museum", description="Five objects", credit="Museum X",
                        credit_url="https://museum.example/", url="link", full_res=1024, base_url=base,
                        image_search=False)
    report = build(settings)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield site, base, settings, report
    server.shutdown()
    server.server_close()


def items_of(site) -> list[dict]:
    return site_items(site)


def test_services_and_manifests(served):
    site, base, _, report = served
    collection = json.loads((site / "iiif" / "collection.json").read_text())
    Collection(**collection)  # iiif-prezi3 validates the whole document
    assert collection["id"] == f"{base}iiif/collection.json" and len(collection["items"]) == 5
    sizes = {}
    for it in items_of(site):
        m = json.loads((site / it["manifest"]).read_text())
        Manifest(**m)
        info = json.loads((site / it["image"]["info"]).read_text())
        service = f"{base}{it['image']['info'].removesuffix('/info.json')}"
        assert info["id"] == service and info["profile"] == "level0"
        assert (info["width"], info["height"]) == (it["image"]["width"], it["image"]["height"])
        folder = site / it["image"]["info"].removesuffix("/info.json")
        assert all((folder / u).is_file() for u in osd_requests(info))
        body = m["items"][0]["items"][0]["items"][0]["body"]
        assert body["service"][0]["id"] == service and body["id"].startswith(service + "/full/")
        assert (site / body["id"].removeprefix(base)).is_file()
        assert m["items"][0]["width"] == info["width"]
        assert m["thumbnail"][0]["id"] == base + it["thumb"]
        assert m["requiredStatement"]["value"]["none"] == ['<a href="https://museum.example/">Museum X</a>']
        sizes[it["id"]] = (info["width"], info["height"])
        fields = {p["label"]["none"][0]: p["value"]["none"][0] for p in m.get("metadata", [])}
        row = next(r for r in ROWS if r[0] == it["id"])
        assert fields.get("Maker", "") == row[6] and fields.get("Year", "") == row[2]
        if it["id"] == "harbour.jpg":
            assert m["label"] == {"none": ["Harbour at dusk"]} and m["summary"] == {"none": ["Oil on canvas"]}
            assert m["rights"] == "http://creativecommons.org/licenses/by/4.0/"
            assert m["navDate"] == "1895-01-01T00:00:00Z"
            assert m["homepage"][0]["id"] == "https://museum.example/objects/1"
        if it["id"] == "field.png":  # a title that looks like HTML stays text
            assert m["label"] == {"none": ["<span>&lt;b&gt;Field&lt;/b&gt;</span>"]} and "rights" not in m
        if it["id"] == "small.jpg":
            assert m["homepage"][0]["id"] == f"{base}objects/4" and "rights" not in m and "navDate" not in m
    assert sizes == {"harbour.jpg": (1024, 614), "field.png": (600, 400), "face.svg": (1024, 1024),
                     "small.jpg": (200, 150), "tall.jpg": (236, 1024)}
    assert report.iiif["manifests"] == 5 and report.iiif["pyramids_bytes"] > 0
    assert any("Full resolution: 5 of 5 items" in line for line in report.summary(site).splitlines())
    c = read_collection(site)
    assert c["iiif"]["collection"] == "iiif/collection.json" and sorted(c["iiif"]["full"]) == [200, 600, 1024, 1024, 1024]


def test_new_base_url_reuses_pyramids(served, tmp_path):
    site, base, settings, _ = served
    from dataclasses import replace
    t = time.perf_counter()
    report = build(replace(settings, out=tmp_path / "site", base_url="https://example.org/museum/"))
    assert report.iiif["pyramids_made"] == 0 and time.perf_counter() - t < 60
    info = json.loads((tmp_path / "site" / items_of(site)[0]["image"]["info"]).read_text())
    assert info["id"].startswith("https://example.org/museum/iiif/")
    tile = next((tmp_path / "site" / "iiif").glob("*/full/*/0/default.jpg"))
    assert tile.stat().st_nlink > 1  # a hard link into the cache, no bytes copied
    off = build(replace(settings, out=tmp_path / "off", full_res=0))
    assert not list((tmp_path / "off" / "iiif").glob("*/info.json"))
    m = json.loads((tmp_path / "off" / items_of(tmp_path / "off")[0]["manifest"]).read_text())
    Manifest(**m)
    assert m["items"][0]["items"][0]["items"][0]["body"]["id"].endswith(".jpg") and off.iiif["services"] == 0


def test_round_trip(served, tmp_path):
    """The site read back by its own IIIF Collection gives the same items, titles and fields."""
    site, base, _, _ = served
    back = tmp_path / "back"
    build(Settings(images=None, iiif=[f"{base}iiif/collection.json"], out=back, cache=tmp_path / "cache",
                   image_search=False, full_res=256))
    def fields(folder) -> dict[str, dict]:
        c = read_collection(folder)
        labels = [f["label"] for f in c["fields"]]
        return {title: {"fields": {k: v for k, v in zip(labels, it["values"]) if v}, "url": it["url"]}
                for title, it in zip(c["items"]["title"], items_of(folder))}, c
    original, c1 = fields(site)
    read_back, c2 = fields(back)
    assert read_back == {t: {**v, "url": v["url"] if v["url"] is None or v["url"].startswith("http")
                             else base + v["url"].lstrip("/")} for t, v in original.items()}
    assert (c2["title"], c2["description"], c2["credit"]) == ("Museum", "Five objects", "Museum X")


def test_a_large_collection_is_a_collection_of_collections(served, tmp_path, monkeypatch):
    """Above COLLECTION_PAGE Manifests, iiif/collection.json lists Collections of at most that many
    (each valid for iiif-prezi3), and reading it back with --iiif still finds every item."""
    from types import SimpleNamespace

    from pipeline import iiif_out
    site, base, _, _ = served
    top = json.loads((site / "iiif" / "collection.json").read_text())
    refs = [(m["id"], m["label"]["none"][0], m["thumbnail"][0]["id"]) for m in top["items"]]
    monkeypatch.setattr(iiif_out, "COLLECTION_PAGE", 2)
    paged = site / "paged"
    try:
        iiif_out.write_collections(paged, f"{base}paged/", SimpleNamespace(title="Museum", description="Five objects",
                                   credit="Museum X"), iiif_out._Texts(None), refs)
        outer = json.loads((paged / "iiif" / "collection.json").read_text())
        Collection(**outer)
        assert [(p["type"], p["id"]) for p in outer["items"]] == [
            ("Collection", f"{base}paged/iiif/collection/{n}.json") for n in range(3)]
        pages = [json.loads((paged / "iiif" / "collection" / f"{n}.json").read_text()) for n in range(3)]
        for page in pages:
            Collection(**page)
        assert [m["id"] for page in pages for m in page["items"]] == [r[0] for r in refs]
        back = tmp_path / "back"
        build(Settings(images=None, iiif=[f"{base}paged/iiif/collection.json"], out=back, cache=tmp_path / "cache",
                       image_search=False, full_res=0))
        titles = read_collection(back)["items"]["title"]
        assert sorted(titles) == sorted(read_collection(site)["items"]["title"])
    finally:
        shutil.rmtree(paged, ignore_errors=True)


def test_many_manifests_are_made_on_a_process_pool_with_the_same_bytes(tmp_path, monkeypatch):
    """Above MANIFEST_POOL_MIN, Manifests are made by spawned processes: the same files."""
    from pipeline import iiif_out
    from pipeline.metadata import Record
    fields = [{"key": "year", "label": "year", "kind": "year"}, {"key": "maker", "label": "maker", "kind": "category"}]
    def todo(folder):
        return [(str(folder / f"{n}.json"), f"item-{n}", Record(f"Item {n}", f"/objects/{n}", [str(1800 + n), "A. Painter"]),
                 f"http://h/thumbs/{n}.jpg", None, (200, 150)) for n in range(7)]
    common = ("http://h/", fields, None, "Museum X", "https://museum.example/")
    iiif_out._make_manifests(todo(tmp_path / "here"), common)
    monkeypatch.setattr(iiif_out, "MANIFEST_POOL_MIN", 0)
    monkeypatch.setattr(iiif_out, "MANIFEST_CHUNK", 2)
    monkeypatch.setattr(iiif_out.os, "cpu_count", lambda: 2)
    iiif_out._make_manifests(todo(tmp_path / "pool"), common)
    for n in range(7):
        made = (tmp_path / "pool" / f"{n}.json").read_bytes()
        assert made == (tmp_path / "here" / f"{n}.json").read_bytes()
        Manifest(**json.loads(made))
