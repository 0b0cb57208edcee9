"""A map that stays put: images added to (or removed from) a built collection join the existing
map and grid, every earlier image keeping its place; --relayout starts afresh. Real builds of
Pillow images, with --features vectors in five clusters (each cluster its own colour)."""
import json
import shutil

import numpy as np
import pytest
from PIL import Image

from pipeline.build import Settings, build
from pipeline.columns import read_collection

CLUSTERS = 5
COLOURS = [(220, 40, 40), (40, 160, 60), (40, 60, 220), (230, 200, 40), (150, 60, 180)]


@pytest.fixture(scope="module")
def pool(tmp_path_factory):
    """220 small images and a features file for all of them: (folder of images, features file, cluster of each)."""
    root = tmp_path_factory.mktemp("pool")
    rng = np.random.default_rng(7)
    centres = rng.normal(size=(CLUSTERS, 32)) * 4
    labels = np.arange(220) % CLUSTERS
    feats = centres[labels] + rng.normal(size=(220, 32))
    names = [f"img{i:03d}.png" for i in range(220)]
    (root / "all").mkdir()
    for name, lab, f in zip(names, labels, feats):
        shade = np.clip(np.array(COLOURS[lab]) + f[:3] * 4, 0, 255).astype(np.uint8)
        Image.new("RGB", (24, 20), tuple(int(v) for v in shade)).save(root / "all" / name)
    np.savez(root / "features.npz", ids=np.array(names), features=feats.astype(np.float32))
    return root, dict(zip(names, labels.tolist()))


def collect(pool, folder, names):
    folder.mkdir(parents=True, exist_ok=True)
    for n in names:
        shutil.copy(pool[0] / "all" / n, folder / n)


def run(pool, folder, out, cache, **kw):
    rep = build(Settings(images=str(folder), out=out, cache=cache, features=str(pool[0] / "features.npz"),
                         id="grow", image_search=False, **kw))
    data = read_collection(out)
    ids = [it["id"] for k in range(len(list((out / "data" / "items").glob("*.json"))))
           for it in json.loads((out / "data" / "items" / f"{k}.json").read_text("utf-8"))["items"]]
    cols = data["grid"]["cols"]
    cell = {i: (c % cols, c // cols) for i, c in zip(ids, data["items"]["cell"])}
    xy = dict(zip(ids, np.array(data["items"]["xy"]).reshape(-1, 2).tolist()))
    return rep, data, cell, xy


def grid_share(cell, labels, who):
    """Mean share of each item's occupied 8 neighbouring cells holding an item of its cluster."""
    at = {c: i for i, c in cell.items()}
    shares = []
    for i in who:
        x, y = cell[i]
        near = [at[(x + dx, y + dy)] for dx in (-1, 0, 1) for dy in (-1, 0, 1)
                if (dx or dy) and (x + dx, y + dy) in at]
        shares.append(np.mean([labels[j] == labels[i] for j in near]) if near else 0.0)
    return float(np.mean(shares))


def test_added_images_join_the_map_and_grid_and_nothing_moves(pool, tmp_path):
    _, labels = pool
    names = sorted(labels)
    folder, cache = tmp_path / "images", tmp_path / "cache"
    collect(pool, folder, names[:200])
    rep1, d1, cell1, xy1 = run(pool, folder, tmp_path / "site1", cache)
    assert rep1.layout["full"] and d1["count"] == 200

    added = names[200:210]
    collect(pool, folder, added)
    rep2, d2, cell2, xy2 = run(pool, folder, tmp_path / "site2", cache)
    assert d2["count"] == 210 and not rep2.layout["full"] and rep2.layout["added"] == 10
    kept = [i for i in names[:200] if cell2[i] == cell1[i] and xy2[i] == xy1[i]]
    assert len(kept) >= 0.99 * 200, len(kept)
    assert len(set(cell2.values())) == 210  # one item per cell
    # new items sit among their own cluster: on the grid and on the map
    assert grid_share(cell2, labels, added) >= 0.6 > 2 * (1 / CLUSTERS)
    old = np.array([xy2[i] for i in names[:200]])
    for i in added:
        nearest = np.argsort(((old - xy2[i]) ** 2).sum(axis=1))[:5]
        assert np.mean([labels[names[j]] == labels[i] for j in nearest]) >= 0.8, i
    # the report says how far the layout has drifted from a full one
    assert 0 < rep2.layout["map_kept"] <= 1 and 0 < rep2.layout["full_map_kept"] <= 1
    assert "incremental" in rep2.summary(tmp_path / "site2")


def test_removed_images_leave_their_cells_empty(pool, tmp_path):
    _, labels = pool
    names = sorted(labels)
    folder, cache = tmp_path / "images", tmp_path / "cache"
    collect(pool, folder, names[:100])
    _, d1, cell1, xy1 = run(pool, folder, tmp_path / "site1", cache)
    for n in names[:100:10]:
        (folder / n).unlink()
    rep, d2, cell2, xy2 = run(pool, folder, tmp_path / "site2", cache)
    assert rep.layout["removed"] == 10 and d2["count"] == 90
    assert all(cell2[i] == cell1[i] and xy2[i] == xy1[i] for i in cell2)
    assert (d2["grid"]["cols"], d2["grid"]["rows"]) == (d1["grid"]["cols"], d1["grid"]["rows"])


def test_same_history_same_site_and_relayout_starts_afresh(pool, tmp_path):
    _, labels = pool
    names = sorted(labels)
    sites = []
    for run_no in range(2):
        folder, cache = tmp_path / f"images{run_no}", tmp_path / f"cache{run_no}"
        collect(pool, folder, names[:60])
        run(pool, folder, tmp_path / f"a{run_no}", cache)
        collect(pool, folder, names[60:70])
        sites.append(run(pool, folder, tmp_path / f"b{run_no}", cache)[1])
    assert sites[0]["items"] == sites[1]["items"]
    # --relayout: the same as a first build of all 70 in an empty cache
    fresh = run(pool, tmp_path / "images0", tmp_path / "fresh", tmp_path / "cache-fresh")[1]
    relaid = run(pool, tmp_path / "images0", tmp_path / "relaid", tmp_path / "cache0", relayout=True)
    assert relaid[0].layout["full"] and relaid[1]["items"] == fresh["items"]
    assert relaid[1]["items"] != sites[0]["items"]


def test_the_grid_grows_at_its_edge_when_full():
    from pipeline import grid
    placed = np.array([(c, r) for r in range(3) for c in range(3)])
    cells, cols, rows = grid.extend(placed, 3, 3, np.array([[1.5, 1.5], [0.2, 0.2]]))
    assert (cols, rows) == (4, 4) or (cols, rows) == (4, 3) and cols * rows >= 11
    assert len({tuple(c) for c in cells.tolist()} | {tuple(p) for p in placed.tolist()}) == 11
    assert all(c[0] == 3 or c[1] == 3 for c in cells.tolist())  # the new cells are at the edge
