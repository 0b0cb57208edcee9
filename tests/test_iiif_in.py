"""IIIF in: Manifests and Collections (v2, v3, the IIIF Cookbook) read into items, fetched
politely from local HTTP servers, and a Salon site read back by its own collection."""
import io
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from PIL import Image

from pipeline import iiif_in
from pipeline.columns import read_collection

COOKBOOK = Path(__file__).resolve().parents[2] / "shared" / "iiif-cookbook"
if not COOKBOOK.is_dir():
    COOKBOOK = Path("/work/shared/iiif-cookbook")


def jpeg(w: int = 64, h: int = 48, colour=(200, 80, 40)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (w, h), colour).save(buf, "JPEG")
    return buf.getvalue()


class Server:
    """A local HTTP server; ``routes`` maps a path to (status, headers, body) or a function of
    the request count; anything else: a cookbook file, a generated info.json, or a JPEG."""

    def __init__(self, delay: float = 0.0):
        self.routes: dict[str, object] = {}
        self.hits: dict[str, int] = {}
        self.delay, self.active, self.peak = delay, 0, 0
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                with server.lock:
                    server.hits[self.path] = server.hits.get(self.path, 0) + 1
                    server.active += 1
                    server.peak = max(server.peak, server.active)
                    n = server.hits[self.path]
                try:
                    time.sleep(server.delay)
                    status, headers, body = server.answer(self.path, n)
                    self.send_response(status)
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                finally:  # counted out before the body goes: the client's next request can come at once after it
                    with server.lock:
                        server.active -= 1
                self.wfile.write(body)

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.http.server_address[1]}"

    def answer(self, path: str, n: int):
        route = self.routes.get(path)
        if callable(route):
            return route(n)
        if route is not None:
            return route
        cookbook = COOKBOOK / path.removeprefix("/iiif.io/api/cookbook/recipe/")
        if path.startswith("/iiif.io/api/cookbook/recipe/") and cookbook.is_file():
            return 200, {"Content-Type": "application/json"}, cookbook.read_bytes()
        if path.endswith("/info.json"):
            sid = "https://" + path[1:].removesuffix("/info.json")
            info = {"@context": "http://iiif.io/api/image/3/context.json", "id": sid, "type": "ImageService3",
                    "profile": "level1", "width": 4000, "height": 3000}
            return 200, {"Content-Type": "application/json"}, json.dumps(info).encode()
        return 200, {"Content-Type": "image/jpeg"}, jpeg()

    def rewrite(self, url: str) -> str:
        """Every remote host served here: https://host/path -> http://127.0.0.1:PORT/host/path."""
        parts = urlsplit(url)
        return f"{self.base}/{parts.netloc}{parts.path}"

    def __enter__(self):
        threading.Thread(target=self.http.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.http.shutdown()
        self.http.server_close()


# ---------------------------------------------------------------- values

def test_text_values_are_plain():
    assert iiif_in.plain_text('<p>A <b>bold</b><br/>move<script>alert(1)</script></p>') == "A bold move"
    assert iiif_in.plain_text("<span>&lt;b&gt; stays text</span>") == "<b> stays text"
    assert iiif_in.plain_text("a\x1b[31m < b") == "a [31m < b"
    assert len(iiif_in.plain_text("x" * 50_000)) == iiif_in.MAX_TEXT


def test_language_maps():
    value = {"en": ["Whistler's Mother"], "fr": ["La Mère de Whistler"], "none": ["?"]}
    assert iiif_in.pick(value, "fr") == "La Mère de Whistler"
    assert iiif_in.pick(value, "en-GB") == "Whistler's Mother"
    assert iiif_in.pick(value, "de") == "?"                                   # none before the first
    assert iiif_in.pick({"de": ["a", "b"], "it": ["c"]}, None) == "a; b"      # else the first
    v2 = [{"@value": "Titel", "@language": "de"}, {"@value": "Title", "@language": "en"}]
    assert iiif_in.pick(v2, "en") == "Title" and iiif_in.pick("plain v2", None) == "plain v2"
    assert iiif_in.pick({"en": "not a list"}, "en") == "not a list" and iiif_in.pick(42, None) == "42"


# ---------------------------------------------------------------- the cookbook

def cookbook_files() -> list[Path]:
    return sorted(COOKBOOK.glob("*/*.json"))


def paints_an_image(doc) -> bool:
    """Independently of the reader: a painting annotation (v3) or canvas image (v2) whose
    resource is an image (directly, as a choice, or as a specific resource's source)."""
    def image(body) -> bool:
        if isinstance(body, list):
            return any(image(b) for b in body)
        if not isinstance(body, dict):
            return False
        if body.get("type") in ("Image", "dctypes:Image") or body.get("@type") == "dctypes:Image":
            return True
        return image(body.get("items")) or image(body.get("source")) or image(body.get("default"))

    def walk(node) -> bool:
        if isinstance(node, list):
            return any(walk(n) for n in node)
        if not isinstance(node, dict):
            return False
        if node.get("motivation") in ("painting", "sc:painting") and image(node.get("body", node.get("resource"))):
            return True
        return any(walk(v) for k, v in node.items() if k in ("items", "sequences", "canvases", "images"))
    return walk(doc)


@pytest.mark.skipif(not COOKBOOK.is_dir(), reason="the IIIF cookbook (shared/iiif-cookbook) is not here")
def test_every_cookbook_document_parses():
    files = cookbook_files()
    assert len({f.parent for f in files}) == 72
    for f in files:
        for canvases in ("first", "all"):
            parsed = iiif_in.parse(json.loads(f.read_text("utf-8")), "en", canvases)
            assert parsed.kind in ("Manifest", "Collection", "unknown"), f
            assert all(c.title for c in parsed.canvases), f


@pytest.mark.skipif(not COOKBOOK.is_dir(), reason="the IIIF cookbook (shared/iiif-cookbook) is not here")
def test_cookbook_images_become_items(tmp_path):
    with Server() as server:
        fetcher = iiif_in.Fetcher(tmp_path, rewrite=server.rewrite, backoff=0.01)
        with_images = 0
        for f in cookbook_files():
            doc = json.loads(f.read_text("utf-8"))
            got = iiif_in.harvest([str(f)], tmp_path, "all", "en", fetcher)
            if paints_an_image(doc):
                with_images += 1
                assert got.table.rows and not got.failed, (f, got.failed, got.warnings)
                for row in got.table.rows:
                    with Image.open(got.folder / row["filename"]) as im:
                        assert im.size == (64, 48)
            elif doc.get("type") != "Collection":
                assert not got.table.rows, f
        assert with_images >= 55
        # a Collection by URL: its members fetched (the cookbook's own files, served locally)
        url = "https://iiif.io/api/cookbook/recipe/0032-collection/manifest-01.json"
        got = iiif_in.harvest([url], tmp_path, "first", "en", fetcher)
        assert [r["title"] for r in got.table.rows] == ["The Gulf Stream"]


def test_fields_from_v3_and_v2(tmp_path):
    v3 = {"@context": "http://iiif.io/api/presentation/3/context.json", "id": "https://museum.example/m1",
          "type": "Manifest", "label": {"en": ["Harbour"], "de": ["Hafen"]},
          "summary": {"en": ["<p>Oil on <i>canvas</i></p>"]},
          "metadata": [{"label": {"en": ["Artist"]}, "value": {"none": ["A. Painter"]}}],
          "navDate": "1895-03-14T00:00:00Z", "rights": "http://creativecommons.org/publicdomain/zero/1.0/",
          "requiredStatement": {"label": {"en": ["Provided by"]}, "value": {"en": ["Museum X"]}},
          "homepage": [{"id": "https://museum.example/objects/1", "type": "Text"}],
          "items": [{"id": "https://museum.example/c1", "type": "Canvas", "items": [{"type": "AnnotationPage", "items": [
              {"type": "Annotation", "motivation": "painting", "body": {
                  "id": "https://images.example/iiif/1/full/max/0/default.jpg", "type": "Image",
                  "service": [{"id": "https://images.example/iiif/1", "type": "ImageService3", "profile": "level2"}]}}]}]}]}
    v2 = {"@context": "http://iiif.io/api/presentation/2/context.json", "@id": "https://library.example/m2",
          "@type": "sc:Manifest", "label": "Map", "description": "A map",
          "license": "https://rightsstatements.org/vocab/NoC-US/1.0/",
          "attribution": "Library Y",
          "metadata": [{"label": "Artist", "value": [{"@value": "B. Drawer", "@language": "en"}]}],
          "sequences": [{"canvases": [{"@id": "https://library.example/c1", "images": [{"resource": {
              "@id": "https://images.example/iiif/2/full/full/0/default.jpg", "@type": "dctypes:Image",
              "service": {"@id": "https://images.example/iiif/2", "profile": "http://iiif.io/api/image/2/level1.json"}}}]}]}]}
    (tmp_path / "m.json").write_text(json.dumps(v3))
    (tmp_path / "m2.json").write_text(json.dumps(v2))
    with Server() as server:
        server.routes["/images.example/iiif/2/info.json"] = (200, {}, json.dumps({
            "@context": "http://iiif.io/api/image/2/context.json", "@id": "https://images.example/iiif/2",
            "protocol": "http://iiif.io/api/image", "width": 4000, "height": 3000,
            "profile": ["http://iiif.io/api/image/2/level1.json"]}).encode())
        fetcher = iiif_in.Fetcher(tmp_path / "cache", rewrite=server.rewrite)
        got = iiif_in.harvest([str(tmp_path / "m.json"), str(tmp_path / "m2.json")], tmp_path / "cache", lang="de",
                              fetcher=fetcher)
        hits = set(server.hits)
    rows = {r["title"]: r for r in got.table.rows}
    assert rows["Hafen"]["Artist"] == "A. Painter" and rows["Hafen"]["summary"] == "Oil on canvas"
    assert rows["Hafen"]["date"] == "1895-03-14" and rows["Hafen"]["homepage"] == "https://museum.example/objects/1"
    assert rows["Hafen"]["rights"] == "http://creativecommons.org/publicdomain/zero/1.0/"
    assert rows["Hafen"]["Provided by"] == "Museum X" and rows["Map"]["Attribution"] == "Library Y"
    assert rows["Map"]["Artist"] == "B. Drawer" and rows["Map"]["summary"] == "A map"
    # bounded sizes: a level-2 v3 service and a level-1 v2 service (4000 x 3000) scale on the server
    assert "/images.example/iiif/1/full/1024,768/0/default.jpg" in hits
    assert "/images.example/iiif/2/full/1024,/0/default.jpg" in hits


def test_level0_picks_a_listed_size(tmp_path):
    ref = iiif_in.ImageRef(service="https://img.example/s", version=3, level=0)
    info = {"width": 8000, "height": 6000, "profile": "level0",
            "sizes": [{"width": 250, "height": 188}, {"width": 1000, "height": 750}, {"width": 2000, "height": 1500}]}
    assert iiif_in._service_url(ref, info, 1024) == "https://img.example/s/full/1000,750/0/default.jpg"
    assert iiif_in._service_url(ref, {**info, "sizes": []}, 1024) is None  # then the static file
    small = {"width": 800, "height": 600, "profile": "level0"}
    assert iiif_in._service_url(ref, small, 1024) == "https://img.example/s/full/max/0/default.jpg"


# ---------------------------------------------------------------- politeness and untrusted input

def manifest_of(images: list[str], base="https://museum.example") -> dict:
    return {"@context": "http://iiif.io/api/presentation/3/context.json", "id": f"{base}/m", "type": "Manifest",
            "label": {"none": ["M"]},
            "items": [{"id": f"{base}/canvas/{i}", "type": "Canvas", "label": {"none": [f"p{i}"]},
                       "items": [{"type": "AnnotationPage", "items": [{"type": "Annotation", "motivation": "painting",
                                                                       "body": {"id": url, "type": "Image"}}]}]}
                      for i, url in enumerate(images)]}


def test_polite_and_resumable(tmp_path):
    with Server(delay=0.15) as server:
        urls = [f"https://img.example/{i}.jpg" for i in range(10)]
        server.routes["/img.example/3.jpg"] = lambda n: (429, {"Retry-After": "1"}, b"") if n == 1 \
            else (200, {}, jpeg())
        server.routes["/img.example/5.jpg"] = (404, {}, b"gone")
        server.routes["/img.example/6.jpg"] = (200, {"Content-Type": "text/html"}, b"<html>login</html>")
        server.routes["/img.example/7.jpg"] = lambda n: (503, {"Retry-After": "3600"}, b"")
        src = tmp_path / "m.json"
        src.write_text(json.dumps(manifest_of(urls + ["file:///etc/passwd"])))
        fetcher = iiif_in.Fetcher(tmp_path / "cache", rewrite=server.rewrite, backoff=0.05, max_wait=30)
        t = time.perf_counter()
        got = iiif_in.harvest([str(src)], tmp_path / "cache", "all", fetcher=fetcher)
        took = time.perf_counter() - t
        assert 2 <= server.peak <= iiif_in.PER_HOST                 # concurrent, but at most 4 per host
        assert server.hits["/img.example/3.jpg"] == 2 and took >= 1.0  # Retry-After honoured
        assert server.hits["/img.example/7.jpg"] == 1                 # an hour's wait is not waited
        failed = got.failed
        assert set(failed) == {"https://museum.example/canvas/5", "https://museum.example/canvas/6",
                               "https://museum.example/canvas/7", "https://museum.example/canvas/10"}
        assert "HTTP 404" in failed["https://museum.example/canvas/5"]
        assert "not an image" in failed["https://museum.example/canvas/6"]
        assert "3600" in failed["https://museum.example/canvas/7"]
        assert "not an http(s) URL" in failed["https://museum.example/canvas/10"]
        assert len(got.table.rows) == 7 and len(list(got.folder.iterdir())) == 7
        before = dict(server.hits)
        again = iiif_in.harvest([str(src)], tmp_path / "cache", "all", fetcher=fetcher)
        fetched_again = {p for p, n in server.hits.items() if n > before.get(p, 0)}
        assert fetched_again <= {"/img.example/5.jpg", "/img.example/6.jpg", "/img.example/7.jpg"}  # resumed
        assert [r["filename"] for r in again.table.rows] == [r["filename"] for r in got.table.rows]


def test_size_limits_and_depth(tmp_path, monkeypatch):
    monkeypatch.setattr(iiif_in, "MAX_JSON_BYTES", 10_000)
    monkeypatch.setattr(iiif_in, "MAX_IMAGE_BYTES", 5_000)
    with Server() as server:
        server.routes["/big.example/m.json"] = (200, {}, b" " * 20_000 + b"{}")
        server.routes["/img.example/big.jpg"] = (200, {}, jpeg(800, 800) + b"\0" * 6_000)
        loop = {"id": "https://c.example/loop", "type": "Collection", "label": {"none": ["loop"]},
                "items": [{"id": "https://c.example/loop", "type": "Collection"},
                          {"id": "https://big.example/m.json", "type": "Manifest"}]}
        server.routes["/c.example/loop"] = (200, {}, json.dumps(loop).encode())
        src = tmp_path / "m.json"
        src.write_text(json.dumps(manifest_of(["https://img.example/big.jpg", "https://img.example/ok.jpg"])))
        fetcher = iiif_in.Fetcher(tmp_path / "cache", rewrite=server.rewrite, backoff=0.01)
        got = iiif_in.harvest([str(src), "https://c.example/loop"], tmp_path / "cache", "all", fetcher=fetcher)
        assert "too large" in got.failed["https://museum.example/canvas/0"]
        assert "too large" in got.failed["https://big.example/m.json"]
        assert server.hits["/c.example/loop"] == 1          # a collection naming itself is read once
        assert len(got.table.rows) == 1


def test_deeply_nested_json_is_refused_not_fatal(tmp_path):
    src = tmp_path / "deep.json"
    src.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(iiif_in.UserError, match="nested too deeply|not JSON"):
        iiif_in.harvest([str(src)], tmp_path / "cache")


# ---------------------------------------------------------------- beside --images

def test_iiif_beside_local_images(tmp_path):
    """--iiif beside --images: one site holding the local images with their CSV rows and the IIIF
    canvases with their manifest's fields; a failing canvas is skipped by id; a rerun fetches no
    image and recomputes nothing; nothing is read outside either folder or written into --images."""
    from conftest import site_items

    from pipeline.build import Settings, build
    local = tmp_path / "photos"
    (local / "sub").mkdir(parents=True)
    Image.new("RGB", (80, 60), (220, 40, 40)).save(local / "red.jpg")
    Image.new("RGB", (60, 80), (40, 160, 60)).save(local / "sub" / "green.png")
    Image.new("RGB", (70, 70), (40, 60, 220)).save(local / "blue.jpg")
    Image.new("RGB", (70, 70), (250, 250, 0)).save(tmp_path / "outside.jpg")
    (local / "escape.jpg").symlink_to(tmp_path / "outside.jpg")  # a link out of the folder: refused
    (tmp_path / "photos.csv").write_text("filename,title,maker,link\nred.jpg,Red square,A. Painter,"
                                         "https://home.example/red\nsub/green.png,Green tower,B. Drawer,\n", "utf-8")
    mine = sorted(p.relative_to(local) for p in local.rglob("*"))
    with Server() as server:
        server.routes["/img.example/0.jpg"] = (200, {}, jpeg(64, 48, (10, 200, 200)))
        server.routes["/img.example/1.jpg"] = (404, {}, b"gone")
        server.routes["/img.example/2.jpg"] = (200, {}, jpeg(48, 64, (120, 20, 160)))
        m = manifest_of([f"{server.base}/img.example/{i}.jpg" for i in range(3)], "https://partner.example")
        m.update(label={"en": ["Print"]}, homepage=[{"id": "https://partner.example/print", "type": "Text"}],
                 metadata=[{"label": {"en": ["Artist"]}, "value": {"none": ["C. Engraver"]}}],
                 requiredStatement={"label": {"en": ["Lent by"]}, "value": {"en": ["Partner Museum"]}})
        server.routes["/partner.example/manifest.json"] = (200, {}, json.dumps(m).encode())
        source = f"{server.base}/partner.example/manifest.json"
        settings = Settings(images=str(local), metadata=str(tmp_path / "photos.csv"), url="link", iiif=[source],
                            iiif_canvases="all", id="mixed", out=tmp_path / "site", cache=tmp_path / "cache",
                            image_search=False, full_res=256)
        with pytest.raises(iiif_in.UserError, match="is the image folder"):  # --out is still checked against it
            build(Settings(**{**settings.__dict__, "out": local}))
        report = build(settings)
        c = read_collection(tmp_path / "site")
        labels = [f["label"] for f in c["fields"]]
        got = {it["id"]: (title, {k: v for k, v in zip(labels, it["values"]) if v}, it["url"])
               for it, title in zip(site_items(tmp_path / "site"), c["items"]["title"])}
        iiif_ids = sorted(i for i in got if i.startswith("iiif/"))
        assert len(got) == 5 and len(iiif_ids) == 2
        assert got["red.jpg"] == ("Red square", {"Maker": "A. Painter"}, "https://home.example/red")
        assert got["sub/green.png"] == ("Green tower", {"Maker": "B. Drawer"}, None)
        assert got["blue.jpg"] == ("blue", {}, None)  # no CSV row: titled by its file name
        partner = {"Artist": "C. Engraver", "Lent by": "Partner Museum"}  # a credit of their items only
        assert sorted(got[i][0] for i in iiif_ids) == ["Print: p0", "Print: p2"]
        assert all(got[i][1:] == (partner, "https://partner.example/print") for i in iiif_ids)
        assert c["credit"] == "" and c["title"] == "mixed"
        assert report.skipped.keys() == {"escape.jpg", "IIIF https://partner.example/canvas/1"}
        assert "HTTP 404" in report.skipped["IIIF https://partner.example/canvas/1"]
        assert "outside the image folder" in report.skipped["escape.jpg"]
        assert sorted(p.relative_to(local) for p in local.rglob("*")) == mine  # nothing written into --images

        cache = tmp_path / "cache"
        stamps = {p: p.lstat().st_mtime_ns for p in cache.rglob("*") if not p.is_dir()}
        hits = dict(server.hits)
        again = build(settings)
        fetched = {p for p, n in server.hits.items() if n > hits.get(p, 0)}
    # the manifest is read afresh each run, the failed canvas tried again; nothing else fetched
    assert fetched == {"/partner.example/manifest.json", "/img.example/1.jpg"}
    changed = {p.relative_to(cache).as_posix() for p in cache.rglob("*")
               if not p.is_dir() and stamps.get(p) != p.lstat().st_mtime_ns}
    # rewritten each run: the manifest's copy, the IIIF rows, the layout state and the report; nothing else
    assert {re.sub(r"(?<=/)[0-9a-f]+(?=[/.])", "K", p) for p in changed} <= {
        "iiif/http/K/K.json", "iiif/sets/K/metadata.csv", "layout/K.npz", "reports/mixed.json"}, changed
    assert again.iiif["pyramids_made"] == 0 and again.items == 5
    assert read_collection(tmp_path / "site") == c


def test_two_folders_seen_as_one(tmp_path):
    """intake.find_sources: the local files as they are, the IIIF ones under iiif/, through links
    that follow each folder's changes; a local iiif/ file keeps its name, the IIIF one is refused."""
    from pipeline.intake import find_sources
    local, theirs = tmp_path / "photos", tmp_path / "cache" / "set"
    (local / "iiif").mkdir(parents=True)
    theirs.mkdir(parents=True)
    for path in (local / "a.jpg", local / "iiif" / "x.jpg", theirs / "x.jpg", theirs / "y.jpg"):
        path.write_bytes(jpeg())
    (local / "out.jpg").symlink_to(tmp_path / "cache" / "set" / "y.jpg")  # out of --images: refused
    found = find_sources(str(local), str(theirs), tmp_path / "cache")
    assert found.files == ["a.jpg", "iiif/x.jpg", "iiif/y.jpg"] and found.root.parent == tmp_path / "cache" / "views"
    assert set(found.refused) == {"out.jpg", "IIIF x.jpg"} and "same name" in found.refused["IIIF x.jpg"]
    assert (found.root / "iiif/x.jpg").resolve() == (local / "iiif" / "x.jpg").resolve()
    assert (found.root / "iiif/y.jpg").resolve() == (theirs / "y.jpg").resolve()
    (local / "a.jpg").unlink()
    (theirs / "z.jpg").write_bytes(jpeg())
    again = find_sources(str(local), str(theirs), tmp_path / "cache")
    assert again.root == found.root and again.files == ["iiif/x.jpg", "iiif/y.jpg", "iiif/z.jpg"]
    assert sorted(p.relative_to(found.root).as_posix() for p in found.root.rglob("*.jpg")) == again.files
    assert find_sources(str(local), None, tmp_path / "cache").root == local.resolve()  # one folder: no links


def test_iiif_rows_beside_a_csv_with_templates(tmp_path):
    """The IIIF rows join the CSV's: title and homepage into the --title / --url columns; a
    template naming only the CSV's columns gives an IIIF row no '()' title and no broken link."""
    from pipeline.metadata import Table, join
    folder = tmp_path / "set" / "images"
    iiif_in._write_csv(iiif_in.csv_of(folder), Table(["filename", "title", "Artist", "homepage"], [
        {"filename": "Print-0123456789.jpg", "title": "Print", "Artist": "C", "homepage": "https://p.example/1"}]))
    mine = Table(["File", "Name", "Year", "link"], [{"File": "a.jpg", "Name": "Alpha", "Year": "1901", "link": "x/1"}])
    ids = ["a.jpg", "iiif/Print-0123456789.jpg"]
    table = iiif_in.rows_beside(mine, str(folder), "file", "Name", "link")
    assert table.columns == ["File", "Name", "Year", "link", "Artist"]
    j = join(table, ids, "file", "Name", "link")
    assert [(r.title, r.url, r.values) for r in j.records.values()] == [
        ("Alpha", "x/1", ["1901", ""]), ("Print", "https://p.example/1", ["", "C"])]
    templated = iiif_in.rows_beside(mine, str(folder), "File", "{Name} ({Year})", "https://archive.example/{Name}/")
    j = join(templated, ids, "File", "{Name} ({Year})", "https://archive.example/{Name}/")
    assert (j.records["a.jpg"].title, j.records["a.jpg"].url) == ("Alpha (1901)", "https://archive.example/Alpha/")
    assert (j.records[ids[1]].title, j.records[ids[1]].url) == ("Print-0123456789", None)
    assert not j.rows_without_image and not j.images_without_row
