"""Scale features: block-wise Deep Zoom pyramid, bring-your-own features, fast neighbours."""
import math

import numpy as np
import pytest
from conftest import site_items
from PIL import Image

from pipeline import mosaic
from pipeline.columns import read_collection


def _cells(tmp_path, cols, rows, cell):
    rng = np.random.default_rng(1)
    files = []
    for i in range(cols * rows - 3):  # the last 3 cells stay empty
        px = rng.integers(0, 256, (cell[1], cell[0], 3), dtype=np.uint8)
        files.append(tmp_path / f"c{i}.png")
        Image.fromarray(px).save(files[-1])
    return files


def _half(a):
    """2x2 box mean rounding half up; an odd last row/column averages the pixels that exist."""
    a = np.concatenate([a, a[-1:]], 0) if a.shape[0] % 2 else a
    a = np.concatenate([a, a[:, -1:]], 1) if a.shape[1] % 2 else a
    s = a[0::2, 0::2].astype(np.uint16) + a[1::2, 0::2] + a[0::2, 1::2] + a[1::2, 1::2]
    return ((s + 2) >> 2).astype(np.uint8)


def _reference(files, cols, rows, cell, bg, spec):
    """Every tile of every level, cut from one whole canvas halved level by level."""
    canvas = np.empty((rows * cell[1], cols * cell[0], 3), np.uint8)
    canvas[:] = bg
    for i, f in enumerate(files):
        r, c = divmod(i, cols)
        canvas[r * cell[1]:(r + 1) * cell[1], c * cell[0]:(c + 1) * cell[0]] = np.asarray(Image.open(f))
    tiles, level = {}, canvas
    t, o = spec.size, spec.overlap
    for n in range(math.ceil(math.log2(max(canvas.shape[:2]))), -1, -1):
        h, w = level.shape[:2]
        for r in range(math.ceil(h / t)):
            for c in range(math.ceil(w / t)):
                tiles[f"{n}/{c}_{r}"] = level[max(r * t - o, 0):min((r + 1) * t + o, h),
                                              max(c * t - o, 0):min((c + 1) * t + o, w)]
        level = _half(level) if n else level
    return tiles


@pytest.mark.parametrize("workers", [1, 2])
def test_block_pyramid_equals_one_canvas_pyramid(tmp_path, workers):
    cols, rows, cell, bg = 7, 5, (40, 30), (10, 200, 30)  # 280 x 150 px, odd sizes at several levels
    spec = mosaic.TileSpec(size=16, overlap=1, format="png")  # blocks of 128 px: 3 x 2 blocks
    files = _cells(tmp_path, cols, rows, cell)
    dzi = mosaic.build(files, cols, rows, cell, list(bg), spec, tmp_path / "out", workers=workers)
    want = _reference(files, cols, rows, cell, bg, spec)
    got = {f"{p.parent.name}/{p.stem}": p for p in (tmp_path / "out" / "mosaic_files").rglob("*.png")}
    assert sorted(got) == sorted(want)
    for name, px in want.items():
        assert np.array_equal(np.asarray(Image.open(got[name]).convert("RGB")), px), name
    assert 'Width="280"' in dzi.read_text() and 'Height="150"' in dzi.read_text()


def test_build_with_given_features_skips_the_cnn_and_uses_them(demo_collection, tmp_path):

    from conftest import demo_settings

    from pipeline.build import build
    images, csv = demo_collection
    names = sorted(p.name for p in images.iterdir())
    rng = np.random.default_rng(0)
    feats = rng.normal(size=(len(names) - 1, 32)).astype(np.float32)  # the last image has no row
    feats[1] = feats[0] * 2  # same direction: cosine 1, each other's nearest
    np.savez(tmp_path / "f.npz", ids=np.array(names[:-1]), features=feats)
    out = tmp_path / "site"
    rep = build(demo_settings(images, csv, out, tmp_path / "cache", features=str(tmp_path / "f.npz")))
    assert rep.items == len(names) - 1
    assert rep.skipped == {names[-1]: "no row for it in the --features file"}
    assert not (tmp_path / "cache" / "features").exists()  # no CNN features were computed
    collection = read_collection(out)
    chunk = site_items(out)
    first = next(i for i, item in enumerate(chunk) if item["id"] == names[0])
    second = next(i for i, item in enumerate(chunk) if item["id"] == names[1])
    assert chunk[first]["similar"][0][0] == second  # (neighbours are found after PCA)
    assert chunk[first]["similar"][0][1] > 0.99
    assert collection["count"] == len(names) - 1


def test_given_features_npy_with_ids_file_and_bad_files(tmp_path):
    from pipeline import UserError, features
    np.save(tmp_path / "f.npy", np.eye(3, dtype=np.float32))
    (tmp_path / "f.npy.ids.txt").write_text("a/x.jpg\nb/y.jpg\nz.png\n")
    m, failed = features.load_given(tmp_path / "f.npy", ["b/y.jpg", "q/z.png", "x.jpg", "none.jpg"])
    assert m[0].tolist() == [0, 1, 0] and m[1].tolist() == [0, 0, 1]  # by path, then unique file name
    assert m[2].tolist() == [1, 0, 0]
    assert failed == {"none.jpg": "no row for it in the --features file"}
    (tmp_path / "f.npy.ids.txt").write_text("a\nb\n")
    with pytest.raises(UserError, match="one id per row"):
        features.load_given(tmp_path / "f.npy", ["a"])
    (tmp_path / "g.csv").write_text("x")
    with pytest.raises(UserError, match="npz"):
        features.load_given(tmp_path / "g.csv", ["a"])


def _clustered(n, dim=16, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(20, dim))
    return (centres[rng.integers(0, 20, n)] + 0.5 * rng.normal(size=(n, dim))).astype(np.float32)


def test_exact_neighbours_equal_brute_force_with_ties():
    from pipeline import neighbours
    x = _clustered(1500)
    x[7] = x[3]  # a tie: equal scores are ordered by index
    x[9] = x[3]
    idx, score = neighbours.nearest(x, 5, block=256, method="exact")
    unit = x / np.linalg.norm(x, axis=1, keepdims=True)
    sims = unit @ unit.T
    np.fill_diagonal(sims, -np.inf)
    best = -np.sort(-sims, axis=1)[:, :5]
    assert np.allclose(score, best, atol=1e-5)  # the k best scores, best first
    assert np.allclose(np.take_along_axis(sims, idx, 1), score, atol=1e-5)  # and the items that have them
    assert sorted(idx[3][:2].tolist()) == [7, 9] and np.allclose(score[3][:2], 1)


def test_annoy_neighbours_recall_groups_and_determinism():
    from pipeline import neighbours
    x = _clustered(3000)
    exact, _ = neighbours.nearest(x, 10, method="exact")
    approx, score = neighbours.nearest(x, 10, method="annoy")
    recall = np.mean([len(set(a) & set(e)) / 10 for a, e in zip(approx, exact)])
    assert recall > 0.9
    assert np.array_equal(approx, neighbours.nearest(x, 10, method="annoy")[0])
    assert (np.diff(score, axis=1) <= 1e-6).all() and (approx != np.arange(3000)[:, None]).all()
    groups = np.array(["a", "b", "c"])[np.arange(3000) % 3]
    g_idx, _ = neighbours.nearest(x, 10, groups, method="annoy")
    assert (groups[g_idx] == groups[:, None]).all()


def test_neighbour_export_from_cache_is_identical_and_linked(tmp_path):
    from pipeline import neighbours
    ids = ["a.jpg", "b/c.jpg", "d,e.jpg"]
    idx = np.array([[1, 2], [0, -1], [1, 0]])
    score = np.array([[0.9, 0.5], [0.9, 0], [0.7, 0.5]], dtype=np.float32)
    neighbours.export(ids, idx, score, tmp_path / "plain")
    for run in ("one", "two"):
        neighbours.export(ids, idx, score, tmp_path / run, tmp_path / "cache")
    for name in ("neighbours.csv", "neighbours.json"):
        plain = (tmp_path / "plain" / name).read_bytes()
        assert (tmp_path / "one" / name).read_bytes() == plain == (tmp_path / "two" / name).read_bytes()
        assert (tmp_path / "one" / name).stat().st_ino == (tmp_path / "two" / name).stat().st_ino
    assert (tmp_path / "plain" / "neighbours.csv").read_text().splitlines()[1:3] == ["a.jpg,1,b/c.jpg,0.9",
                                                                                      "a.jpg,2,\"d,e.jpg\",0.5"]


def test_split_grid_fills_the_first_cells_once_and_keeps_layout():
    from pipeline import grid
    rng = np.random.default_rng(3)
    xy = rng.random((2503, 2)).astype(np.float32)
    cols, rows = grid.shape(len(xy))
    cells = grid.assign(xy, cols, rows, "split")
    assert sorted(cells.tolist()) == list(range(len(xy)))  # each of the first N cells once
    assert np.array_equal(cells, grid.assign(xy, cols, rows, "split"))
    pos = np.column_stack([(cells % cols + 0.5) / cols, (cells // cols + 0.5) / rows * rows / (len(xy) / cols)])
    assert np.abs(pos - xy).max() < 0.1  # every point lands near where t-SNE put it
    big = rng.random((4999, 2)).astype(np.float32)  # above the exact limit, auto splits
    assert np.array_equal(grid.assign(big, *grid.shape(4999), "auto"), grid.assign(big, *grid.shape(4999), "split"))
