"""PCA, t-SNE, grid assignment and neighbours on real features of real artworks."""
import numpy as np
import pytest

from pipeline import UserError, grid, neighbours, projection
from pipeline.columns import read_collection


@pytest.fixture(scope="module")
def clusters():
    """Three well separated clusters of 40 points in 64-D (stand-ins for CNN features)."""
    rng = np.random.default_rng(1)
    centres = rng.normal(size=(3, 64)) * 5
    labels = np.repeat(np.arange(3), 40)
    return centres[labels] + rng.normal(size=(120, 64)), labels


def test_pca_clips_components():
    x = np.random.default_rng(0).normal(size=(10, 30))
    assert projection.pca(x, 256, 0).shape == (10, 10)
    assert projection.pca(x[:1], 256, 0).shape == (1, 1)


@pytest.mark.parametrize("method", ["opentsne", "sklearn"])
def test_tsne_is_deterministic_and_keeps_clusters(clusters, method):
    x, labels = clusters
    a = projection.tsne(x, method, seed=3)
    assert np.array_equal(a, projection.tsne(x, method, seed=3))
    assert a.min() == 0 and a.max() == 1
    idx, _ = neighbours.nearest(a, 5)
    assert (labels[idx] == labels[:, None]).mean() > 0.95


def test_tsne_handles_tiny_collections():
    assert projection.tsne(np.ones((1, 4)), seed=0).shape == (1, 2)
    assert projection.tsne(np.eye(3), seed=0).shape == (3, 2)


@pytest.mark.parametrize("method", ["exact", "rasterfairy"])
def test_grid_gives_each_point_its_own_cell_near_its_position(method):
    xy = np.random.default_rng(2).random((103, 2))
    cols, rows = grid.shape(103)
    cells = grid.assign(xy, cols, rows, method)
    assert len(set(cells.tolist())) == 103 and cells.max() < cols * rows
    pos = np.column_stack([(cells % cols + 0.5) / cols, (cells // cols + 0.5) / rows])
    shuffled = pos[np.random.default_rng(0).permutation(103)]
    # far closer to their t-SNE points than a random placement
    assert np.abs(pos - xy).sum() < 0.3 * np.abs(shuffled - xy).sum()


def test_exact_grid_is_better_than_rasterfairy():
    xy = np.random.default_rng(4).random((400, 2))
    cols, rows = grid.shape(400)
    cost = {}
    for m in ("exact", "rasterfairy"):
        c = grid.assign(xy, cols, rows, m)
        cost[m] = (((c % cols + 0.5) / cols - xy[:, 0]) ** 2 + ((c // cols + 0.5) / rows - xy[:, 1]) ** 2).mean()
    assert cost["exact"] < cost["rasterfairy"]


def test_neighbours_match_brute_force_and_respect_groups(clusters):
    x, labels = clusters
    idx, score = neighbours.nearest(x, 7, block=16)
    u = x / np.linalg.norm(x, axis=1, keepdims=True)
    sims = u @ u.T
    np.fill_diagonal(sims, -np.inf)
    np.testing.assert_array_equal(idx, np.argsort(-sims, axis=1)[:, :7])
    np.testing.assert_allclose(score, np.sort(sims, axis=1)[:, ::-1][:, :7], atol=1e-5)
    groups = np.array(["a", "b"] * 60)
    gi, _ = neighbours.nearest(x, 7, groups)
    assert (groups[gi] == groups[:, None]).all()


def test_neighbour_export(tmp_path):
    idx = np.array([[1, -1], [0, -1]])
    neighbours.export(["a.jpg", "b.jpg"], idx, np.array([[0.9, 0], [0.9, 0]]), tmp_path)
    assert (tmp_path / "neighbours.csv").read_text().splitlines() == [
        "id,rank,neighbour_id,score", "a.jpg,1,b.jpg,0.9", "b.jpg,1,a.jpg,0.9"]


# ------------------------------------------------ timeline, places, custom layouts (pipeline/layouts.py)

def _cells(layout):
    return np.array(layout["pos"]).reshape(-1, 2)


def test_timeline_columns_by_decade_stacked_and_undated_last():
    from pipeline import layouts
    rng = np.random.default_rng(0)
    years = [str(y) for y in rng.integers(1850, 1970, 200)]
    values = years + ["c. 1890", "19th century", "1890s", "nonsense", "", "n.d."]
    xy = rng.random((len(values), 2))
    tl, notes = layouts.timeline(values, xy, "date")
    assert tl["unit"] == 10 and tl["axis"][0]["label"] == "1800s" and tl["axis"][-1]["label"] == "undated"
    assert [a["from"] for a in tl["axis"][:-1]] == list(range(1800, 1970, 10))  # empty decades kept
    pos = _cells(tl)
    assert len({tuple(p) for p in pos.tolist()}) == len(values)  # no two items share a cell
    for i, v in enumerate(values):
        col = next(a for a in tl["axis"] if a["x"] <= pos[i, 0] < a["x"] + a["w"])
        year = {"c. 1890": 1890, "19th century": 1800, "1890s": 1890}.get(v, int(v) if v.isdigit() else None)
        assert (col["from"] is None) if year is None else col["from"] <= year <= col["to"], (v, col)
    # stacks stand on one baseline and grow upwards without gaps
    y1 = tl["bounds"][3]
    for a in tl["axis"]:
        rows = pos[(pos[:, 0] >= a["x"]) & (pos[:, 0] < a["x"] + a["w"]), 1]
        assert len(rows) == a["count"] and (not len(rows) or rows.max() == y1 - 1 and
                                             len(set(rows.tolist())) == y1 - rows.min())
    assert notes and "'nonsense'" in notes[0] and "1 value" in notes[0]


def test_timeline_keeps_similar_items_together_in_a_column():
    from pipeline import layouts
    rng = np.random.default_rng(1)
    xy = np.vstack([rng.normal(0.2, 0.02, (60, 2)), rng.normal(0.8, 0.02, (60, 2))]).clip(0, 1)
    tl, _ = layouts.timeline(["1900"] * 120, xy, "date")
    pos = _cells(tl)
    a, b = pos[:60].mean(axis=0), pos[60:].mean(axis=0)
    assert np.abs(a - b).sum() > 0.4 * (tl["bounds"][2] + tl["bounds"][3]) / 2


def test_years_decades_centuries_from_the_span():
    from pipeline import layouts
    xy = np.zeros((2, 2))
    assert layouts.timeline(["2018", "2024"], xy, "d")[0]["axis"][0]["label"] == "2018"
    assert layouts.timeline(["1700", "1990"], xy, "d")[0]["unit"] == 10
    assert layouts.timeline(["1200", "1990"], xy, "d")[0]["axis"][0]["label"] == "1200s"


def test_place_columns_are_detected():
    from pipeline.layouts import place_columns
    f = lambda *keys: [{"key": k} for k in keys]  # noqa: E731
    assert place_columns(f("Latitude", "Longitude"), lambda k: []) == ("Latitude", "Longitude")
    assert place_columns(f("lat", "lng"), lambda k: []) == ("lat", "lng")
    assert place_columns(f("Coordinates"), lambda k: ["52.5, 13.4", "48.85;2.35", ""]) == ("Coordinates",)
    assert place_columns(f("location"), lambda k: ["Berlin", "Paris"]) is None
    assert place_columns(f("title", "date"), lambda k: []) is None


def test_geo_spreads_items_that_share_a_place_and_none_hides_another():
    from pipeline.layouts import geo, read_places
    lat = ["52.52"] * 40 + ["48.8566"] * 30 + [str(40 + i * 0.3) for i in range(30)] + ["", "north", "95"]
    lon = ["13.405"] * 40 + ["2.3522"] * 30 + [str(-3 + i * 0.2) for i in range(30)] + ["", "x", "0"]
    places, bad = read_places(lat, lon)
    assert bad == ["north,x", "95,0"]
    xy = np.random.default_rng(0).random((len(lat), 2))
    g, notes = geo(places, xy, ("lat", "lon"), bad)
    pos, s = _cells(g), g["cell_deg"]
    assert len({tuple(p) for p in pos.tolist()}) == len(lat)
    berlin = np.array([13.405 / s, -52.52 / s])
    dist = np.hypot(*(pos[:40] + 0.5 - berlin).T)
    assert dist.max() <= np.sqrt(40 / np.pi) + 2  # a tight disc around the place
    lone = np.hypot(*(pos[70:100] + 0.5 - np.column_stack([places[70:100, 1], -places[70:100, 0]]) / s).T)
    assert np.median(lone) < 1.5  # items alone at their place sit on it
    assert g["unplaced"]["count"] == 3 and (pos[100:, 1] > pos[:100, 1].max()).all()
    assert notes and "2 values" in notes[0]


def test_custom_layout_from_columns_and_unplaced_rows():
    from pipeline.layouts import custom, parse_layout_flags
    fields = [{"key": "ux"}, {"key": "uy"}]
    assert parse_layout_flags(["mine=ux,uy"], fields) == [("mine", "ux", "uy")]
    for bad in ["mine=ux", "grid=ux,uy", "mine=ux,nope", "bad name=ux,uy"]:
        with pytest.raises(UserError):
            parse_layout_flags([bad], fields)
    xs, ys = ["0", "10", "5", "abc", ""], ["0", "5", "2.5", "1", "2"]
    lay, notes = custom("mine", xs, ys, np.zeros((5, 2)), ("ux", "uy"))
    pos = np.array(lay["pos"]).reshape(-1, 2)
    # aspect kept (x spans 10, y 5), y upwards in the data is down the screen
    assert pos[1, 0] > pos[2, 0] > pos[0, 0] and pos[1, 1] < pos[2, 1] < pos[0, 1]
    assert abs((pos[1, 0] - pos[0, 0]) / (pos[0, 1] - pos[1, 1]) - 2) < 1e-3
    assert lay["unplaced"]["count"] == 2 and (pos[3:, 0] >= lay["unplaced"]["x"]).all()
    assert notes and "2 rows" in notes[0]


def test_demo_timeline_shows_openmojis_years(built_site):
    c = read_collection(built_site)
    tl = c["layouts"]["timeline"]
    assert tl["field"] == "date" and tl["unit"] == 1
    labels = [a["label"] for a in tl["axis"]]
    dated = [y for y in c["years"]["date"] if y is not None]
    assert labels[0] == str(min(dated)) and labels[len(labels) - 1 - ("undated" in labels)] == str(max(dated))
    assert min(dated) >= 2010 and all(lab.isdigit() for lab in labels if lab != "undated")
    pos = _cells(tl)
    for i, y in enumerate(c["years"]["date"]):
        col = next(a for a in tl["axis"] if a["x"] <= pos[i, 0] < a["x"] + a["w"])
        assert col["from"] == y


def test_fresh_grid_keeps_room_spread_out():
    cols, rows, usable = grid.with_room(10_000)
    free = np.flatnonzero(~usable[:10_000 + grid.room(10_000)])
    assert usable.sum() == 10_000 and len(free) == 200
    # spread: every band of a tenth of the rows holds about a tenth of the holes, none in a row twice over
    assert np.ptp(np.bincount(free // cols * 10 // rows, minlength=10)) <= 4
    xy = np.random.default_rng(5).random((10_000, 2))
    cells = grid.assign(xy, cols, rows, "split", usable)
    assert usable[cells].all() and len(set(cells.tolist())) == 10_000


def test_umap_is_deterministic_for_a_seed():
    x = np.random.default_rng(3).normal(size=(80, 16))
    a = projection.embed(x, "umap", seed=1)
    assert np.array_equal(a, projection.embed(x, "umap", seed=1)) and a.shape == (80, 2)


def test_pca_of_many_rows_is_fitted_on_a_sample_and_agrees_with_the_whole(monkeypatch):
    """Above PCA_SAMPLE rows, PCA is fitted on a fixed sample and applied in slices (memory):
    the projection agrees with the whole fit (same subspace) and is the same every run."""
    from pipeline import projection
    rng = np.random.default_rng(5)
    x = (rng.normal(size=(3000, 6)) @ rng.normal(size=(6, 40)) + rng.normal(scale=0.05, size=(3000, 40))).astype(np.float32)
    whole, _, comp_whole = projection.pca_fit(x, 6, 0)
    monkeypatch.setattr(projection, "PCA_SAMPLE", 1000)
    part, _, comp_part = projection.pca_fit(x, 6, 0)
    assert part.shape == whole.shape and part.dtype == np.float32
    np.testing.assert_array_equal(part, projection.pca_fit(x, 6, 0)[0])
    # the same 6-d subspace: the singular values of comp_part @ comp_whole.T are all near 1
    assert np.linalg.svd(comp_part @ comp_whole.T, compute_uv=False).min() > 0.99
