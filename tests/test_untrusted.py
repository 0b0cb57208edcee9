"""Untrusted text: script payloads in every CSV field, in file names and in the collection's own
texts build into a site where they stay data (escaped in HTML, dropped from links)."""
import csv

import hostile
from conftest import site_items

from pipeline.build import Settings, build
from pipeline.columns import read_collection

PAYLOADS = ['<script>alert("t")</script>', '"><img src=x onerror=alert(1)>', "{{7*7}}${7*7}",
            "</script><script>alert(2)</script>", "javascript:alert(3)", "' onmouseover='alert(4)"]


def hostile_csv_collection(root):
    images = root / "images"
    images.mkdir(parents=True)
    names = [f"{i:02d}.png" for i in range(12)] + ['"><svg onload=alert(5)>.png']
    for i, name in enumerate(names):
        hostile.photo(64, 48, seed=i).save(images / name)
    with open(root / "meta.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["filename", "title", "maker", "kind", "date", "link", '<b onclick="x">col</b>'])
        for i, name in enumerate(names):
            p = PAYLOADS[i % len(PAYLOADS)]
            link = "https://example.org/ok" if i % 3 == 0 else p
            w.writerow([name, p, p, PAYLOADS[i % 2], f"1900 {p}", link, p])
    return images, root / "meta.csv"


def test_script_payloads_stay_data(tmp_path):
    images, meta = hostile_csv_collection(tmp_path)
    out = tmp_path / "site"
    evil = PAYLOADS[0] + PAYLOADS[1]
    report = build(Settings(images=str(images), metadata=str(meta), out=out, cache=tmp_path / "cache",
                            url="{link}", name=evil, description=evil, credit=evil,
                            credit_url="javascript:alert(6)", image_search=False))
    assert report.items == 13
    html = (out / "index.html").read_text("utf-8")
    for raw in ("<script>alert", "<img src=x", "onerror=alert(1)>", "<svg onload"):
        assert raw not in html
    assert "&lt;script&gt;alert(&#34;t&#34;)&lt;/script&gt;" in html and "49" not in html
    data = read_collection(out)
    assert set(data["items"]["title"]) <= set(PAYLOADS)  # verbatim data: the front end sets textContent
    assert data["credit_url"] == "" and data["title"] == evil
    items = site_items(out)
    assert {it["url"] for it in items} == {"https://example.org/ok", None}  # no javascript: links
    assert '"><svg onload=alert(5)>.png' in [it["id"] for it in items]
    assert sum("is not http(s) or relative" in w for w in report.warnings) == 8
