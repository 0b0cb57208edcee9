"""The text search index (pipeline/textindex.py) ranked by the page's own search (assets/js/textsearch.js,
MiniSearch), run in node on the whole demo's metadata."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import ROOT

from pipeline import demo, metadata, textindex
from pipeline.columns import read_collection
from pipeline.site import fold

RUNNER = ROOT / "tests" / "js" / "textsearch_run.js"


@pytest.fixture(scope="module")
def demo_index(tmp_path_factory):
    """The index of all demo artworks (from the demo's CSV), and their titles."""
    folder = tmp_path_factory.mktemp("demo-all")
    images, csv_path = demo.prepare(folder)
    ids = sorted(p.name for p in images.iterdir())
    joined = metadata.join(metadata.read_table(csv_path), ids, categories=["category", "subcategory"], root=images)
    records = [joined.records[r] for r in ids]
    assert textindex.write(folder, joined.fields, records) is None  # the documents
    docs = json.loads((folder / textindex.FILE).read_text("utf-8"))
    built = folder / "prebuilt"
    assert textindex.write(built, joined.fields, records, folder / "cache") is None  # the postings, by node
    assert "terms" in json.loads((built / textindex.FILE).read_text("utf-8"))
    return built / textindex.FILE, [r.title for r in records], docs, folder / textindex.FILE


def search(index_file, *queries) -> dict[str, list[int]]:
    out = subprocess.run(["node", str(RUNNER), str(index_file), *queries], capture_output=True, text=True,
                         check=True, cwd=ROOT, timeout=120)
    return json.loads(out.stdout)


def words(text: str) -> list[str]:
    return re.findall(r"\w+", fold(text).replace("'", ""))


def test_cat_ranks_title_matches_first_and_nothing_inside_a_word(demo_index):
    index_file, titles, data, _ = demo_index
    got = search(index_file, "cat")["cat"]
    in_title = [i for i, t in enumerate(titles) if "cat" in words(t)]
    assert len(in_title) >= 10
    assert set(got[:len(in_title)]) == set(in_title), [titles[i] for i in got[:len(in_title)]]
    # every match has a word that is "cat" or starts with it; "education", "indicator" never match
    for i in got:
        assert any(w.startswith("cat") for w in words(" ".join(data["docs"][i]))), titles[i]
    inside = [i for i, d in enumerate(data["docs"]) if re.search(r"\Bcat", " ".join(d))
              and not any(w.startswith("cat") for w in words(" ".join(d)))]
    assert len(inside) > 20 and not set(inside) & set(got)  # the substring search used to find these


def test_whole_words_rank_above_word_prefixes(demo_index):
    index_file, titles, data, _ = demo_index
    got = search(index_file, "cat")["cat"]
    whole = [any(w in ("cat", "cats") for w in words(" ".join(data["docs"][i]))) for i in got]
    assert any(not w for w in whole), "the demo has prefix-only matches (catch, catalonia)"
    assert whole == sorted(whole, reverse=True), [titles[i] for i in got]


def test_plurals_and_any_spelling_find_the_same(demo_index):
    index_file, titles, _, _ = demo_index
    got = search(index_file, "cat", "cats", "CATS", "Cât", "pinata", "PIÑATA", "Piñatas")
    assert got["cats"] == got["cat"] == got["CATS"] == got["Cât"]
    assert got["pinata"] == got["PIÑATA"] == got["Piñatas"] and "piñata" in titles[got["pinata"][0]].lower()


def test_all_query_words_rank_above_some(demo_index):
    index_file, titles, data, _ = demo_index
    got = search(index_file, "cat face")["cat face"]
    both = [all(any(w.startswith(q) for w in words(" ".join(data["docs"][i]))) for q in ("cat", "face")) for i in got]
    assert sum(both) >= 10 and both == sorted(both, reverse=True)
    assert titles[got[0]].lower() == "cat face"


def test_the_documents_and_the_prebuilt_index_rank_alike(demo_index):
    prebuilt, _, _, docs = demo_index
    queries = ["cat", "cats face", "Piñata", "red heart", "flag fr"]
    assert search(prebuilt, *queries) == search(docs, *queries)


def test_built_site_has_the_index_of_its_items(built_site):
    c = read_collection(built_site)
    data = json.loads((built_site / textindex.FILE).read_text("utf-8"))
    assert data["fields"] == ["title", "text"] and data["count"] == c["count"]
    assert data["items"] == {"column": "data/columns/textindex-items.bin", "type": "int32",
                             "length": (built_site / data["items"]["column"]).stat().st_size // 4}
    assert (built_site / "assets" / "minisearch" / "index.js").is_file()
    first = c["items"]["title"][0]
    assert search(built_site / textindex.FILE, first.upper())[first.upper()][0] == 0


def test_index_is_prebuilt_with_a_relative_cache_folder(tmp_path, monkeypatch):
    """The default --cache is relative (.salon-cache): node, run from elsewhere, must still find its files."""
    if not shutil.which("node"):
        pytest.skip("needs node")
    monkeypatch.chdir(tmp_path)
    records = [metadata.Record("Die Straße", None, []), metadata.Record("cat face", None, [])]
    assert textindex.write(tmp_path / "site", [], records, Path(".salon-cache")) is None
