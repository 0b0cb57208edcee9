"""Named regions (pipeline/regions.py): clusters of the map, labelled from the text or ImageNet classes,
renamed by a curator's --labels file; and in a built site."""
from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import ROOT
from sklearn.metrics import adjusted_mutual_info_score

from pipeline import demo, metadata, regions
from pipeline.columns import read_collection
from pipeline.decode import decode, to_array
from pipeline.metadata import Record

SVG = ROOT / "node_modules" / "openmoji" / "color" / "svg"


def blobs(sizes, seed=0):
    """Points of a map: one dense blob per size, far apart, and a few stray points between them."""
    rng = np.random.default_rng(seed)
    centres = [(0.2, 0.2), (0.8, 0.25), (0.5, 0.8), (0.15, 0.75)]
    xy = np.concatenate([rng.normal(c, 0.03, (n, 2)) for c, n in zip(centres, sizes)])
    truth = np.repeat(np.arange(len(sizes)), sizes)
    return np.clip(xy, 0, 1), truth


def test_regions_are_the_dense_areas_of_the_map_largest_first():
    xy, truth = blobs([90, 60, 40])
    found = regions.find(xy, min_size=10)
    k = int(found.max()) + 1
    assert all(len(set(truth[found == r])) == 1 for r in range(k))  # no region spans two blobs...
    assert set(truth[found >= 0]) == {0, 1, 2} and np.mean(found >= 0) > 0.6  # ...and each blob has one
    assert adjusted_mutual_info_score(truth[found >= 0], found[found >= 0]) > 0.6
    sizes = [int((found == r).sum()) for r in range(k)]
    assert sizes == sorted(sizes, reverse=True) and min(sizes) >= 10
    assert (regions.find(xy, min_size=10) == found).all()  # deterministic
    assert (regions.find(xy[:12]) == -1).all()  # too few items for two regions: none


@pytest.fixture(scope="module")
def demo_records(tmp_path_factory):
    images, csv_path = demo.prepare(tmp_path_factory.mktemp("demo-all"))
    ids = sorted(p.name for p in images.iterdir())
    joined = metadata.join(metadata.read_table(csv_path), ids, categories=["category", "subcategory"], root=images)
    return ids, joined.fields, [joined.records[r] for r in ids]


def test_text_labels_name_what_sets_a_region_apart(demo_records):
    ids, fields, records = demo_records
    sub = [f["key"] for f in fields].index("subcategory")
    wanted = ["cat-face", "animal-bird", "transport-ground", "food-fruit"]
    groups = np.array([wanted.index(r.values[sub]) if r.values[sub] in wanted else -1 for r in records])
    ranked = regions.ctfidf(regions.words(records, fields), groups, len(wanted))
    labels = [regions.text_label(r) for r in ranked]
    assert labels[0] is not None and labels[0].split(", ")[0] == "cat", labels
    assert "bird" in labels[1] and labels[3] is not None, labels
    assert all(w not in regions._STOP for r in ranked for w, *_ in r[:5])
    # a region whose items share no distinctive word gets no text label
    random_groups = np.where(np.arange(len(records)) % 7 == 0, 0, -1)
    assert regions.text_label(regions.ctfidf(regions.words(records, fields), random_groups, 1)[0]) is None


def test_collections_without_text_are_named_from_imagenet_classes(tmp_path):
    from pipeline import mobilenet_v2, model
    from pipeline.torch_weights import load_state_dict
    base = {"1F34C": 3, "2602": 3, "1F3BB": 3}  # banana, umbrella, violin: crops made with libvips
    files = []
    for hexcode, n in base.items():
        im = decode(SVG / f"{hexcode}.svg", 300, 300, "contain", [255, 255, 255])
        for v in range(n):
            f = tmp_path / f"{hexcode}-{v}.png"
            im.crop(10 * v, 5 * v, 300 - 20 * v, 300 - 10 * v).write_to_file(str(f))
            files.append(f)
    feats = model.resolve().load()(np.stack([to_array(decode(f, 224, 224, "force", [255, 255, 255])) for f in files]))
    groups = np.repeat(np.arange(3), 3)
    head = mobilenet_v2.classifier(load_state_dict(mobilenet_v2.default_weights()))
    names = regions.imagenet_labels(feats, groups, 3, *head)
    assert [n.split(", ")[0] for n in names] == ["banana", "umbrella", "violin"], names
    # titles that are file names only: no text label, so the ImageNet name is used
    records = [Record(title=f.name, url=None, values=[]) for f in files]
    ranked = regions.ctfidf(regions.words(records, []), groups, 3)
    assert all(regions.text_label(r) is None for r in ranked)
    xy = np.repeat(np.array([[0.1, 0.1], [0.5, 0.5], [0.9, 0.9]]), 3, axis=0)
    data, _ = regions.describe(groups, xy, np.arange(9), 3, feats, ranked, names, {}, [f.name for f in files])
    assert [r["label"] for r in data["regions"]] == names and {r["source"] for r in data["regions"]} == {"imagenet"}


def lattice(sizes):
    """Evenly spaced points in one square per size, far apart: areas of even density, one region each."""
    corners = [(0.1, 0.1), (0.6, 0.2), (0.3, 0.7)]
    return np.concatenate([np.array([(x + 0.01 * (j % 6), y + 0.01 * (j // 6)) for j in range(n)])
                           for (x, y), n in zip(corners, sizes)])


def test_curated_labels_rename_the_region_holding_the_item_across_rebuilds(tmp_path):
    xy = lattice([30, 20, 15])
    ids = [f"img/{i:03d}.jpg" for i in range(len(xy))]
    records = [Record(title="cat" if i < 30 else "dog" if i < 50 else "bird", url=None, values=[]) for i in range(len(xy))]
    labels = tmp_path / "labels.csv"
    labels.write_text("filename,label\n005.jpg,  Our   cats \nimg/040.jpg,Dogs\n,no name\nmissing.jpg,Nothing\n"
                      "img/007.jpg,Second name for the cats\n", "utf-8")
    data, report, warnings = regions.make(xy, np.arange(len(xy)), 10, xy, None, None, [], records, ids, str(labels))
    by_item = {i: data["regions"][r]["label"] for i, r in enumerate(data["items"]) if r >= 0}
    assert by_item[0] == "Our cats" and by_item[45] == "Dogs" and by_item[60] == "bird"
    assert len(warnings) == 3 and any("missing.jpg" in w for w in warnings) and any("007.jpg" in w for w in warnings)
    # a rebuild that numbers the regions otherwise (items in another order) keeps the names
    order = np.random.default_rng(1).permutation(len(xy))
    again, _, _ = regions.make(xy[order], np.arange(len(xy)), 10, xy[order], None, None, [], [records[i] for i in order],
                               [ids[i] for i in order], str(labels))
    pos = {int(j): k for k, j in enumerate(order)}
    assert again["regions"][again["items"][pos[0]]]["label"] == "Our cats"
    assert again["regions"][again["items"][pos[45]]]["label"] == "Dogs"


def test_region_description_for_the_page():
    xy, truth = lattice([40, 30]), np.repeat([0, 1], [40, 30])
    cols = 10
    cells = np.argsort(np.argsort(xy[:, 1] * 100 + xy[:, 0]))  # some grid placement: one cell each
    recs = [Record(title="red apple" if t == 0 else "blue boat", url=None, values=["fruit" if t == 0 else "boats"])
            for t in truth]
    fields = [{"key": "kind", "kind": "category"}]
    data, report, _ = regions.make(xy, cells, cols, xy, None, None, fields, recs, [str(i) for i in range(70)], None,
                                   min_size=20)
    assert [r["count"] for r in data["regions"]] == [40, 30] and len(data["items"]) == 70
    assert {data["regions"][0]["label"], data["regions"][1]["label"]} == {"apple, red", "blue, boat"}
    for r in data["regions"]:
        x0, y0, x1, y1 = r["map"]["bounds"]
        assert 0 <= x0 < r["map"]["anchor"][0] < x1 <= 1 and y0 < r["map"]["anchor"][1] < y1
        g0, h0, g1, h1 = r["grid"]["bounds"]
        assert 0 <= g0 < g1 <= cols and 0 <= h0 < h1 <= 7
        assert data["items"][r["item"]] == r["id"]
    assert report["ami"]["kind"] == 1.0 and report["regions"] == 2
    json.dumps(data)  # plain JSON types only


def test_built_site_names_its_regions(built_site):
    c = read_collection(built_site)
    data = json.loads((built_site / c["regions"]).read_text("utf-8"))
    n = c["count"]
    assert len(data["items"]) == n and data["regions"]
    inside = [r for r in data["items"] if r >= 0]
    assert sum(r["count"] for r in data["regions"]) == len(inside)
    for r in data["regions"]:
        assert r["label"] and r["source"] in ("text", "imagenet") and data["items"][r["item"]] == r["id"]
        g0, h0, g1, h1 = r["grid"]["bounds"]
        assert 0 <= g0 < g1 <= c["grid"]["cols"] and 0 <= h0 < h1 <= c["grid"]["rows"]
    report = json.loads((built_site / "report.json").read_text("utf-8"))["regions"]
    assert report["regions"] == len(data["regions"]) and set(report["ami"]) == {"category", "subcategory"}
    assert report["ami"]["category"] > 0.1  # similar images share their category: regions agree, above chance


def test_a_large_map_is_clustered_on_a_sample_and_every_item_placed(monkeypatch):
    """Above regions.SAMPLE items a fixed sample is clustered (HDBSCAN's time grows with the square
    of the points) and every other item joins the region of its nearest sampled item."""
    xy, truth = blobs([900, 600, 400], seed=2)
    monkeypatch.setattr(regions, "SAMPLE", 500)
    found = regions.find(xy, min_size=100)
    assert (regions.find(xy, min_size=100) == found).all()  # the same sample every time
    k = int(found.max()) + 1
    assert all(len(set(truth[found == r])) == 1 for r in range(k))  # no region spans two blobs...
    assert set(truth[found >= 0]) == {0, 1, 2} and np.mean(found >= 0) > 0.6  # ...and each blob has one
    assert adjusted_mutual_info_score(truth[found >= 0], found[found >= 0]) > 0.6
    sizes = [int((found == r).sum()) for r in range(k)]
    assert sizes == sorted(sizes, reverse=True) and min(sizes) >= 100
