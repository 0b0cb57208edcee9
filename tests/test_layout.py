"""PCA, t-SNE, grid assignment and neighbours on real features of real artworks."""
import numpy as np
import pytest

from pipeline import grid, neighbours, projection


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
