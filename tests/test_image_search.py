"""Search by image: the exported browser model, PCA and vectors, and the `search` CLI, on the
demo collection's real artworks and on real photos (scikit-learn's sample JPEGs)."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, demo_settings, site_items

from pipeline import image_search, projection
from pipeline.build import Settings, build
from pipeline.columns import read_collection
from pipeline.decode import decode, to_array
from pipeline.model import ort_session as model_session
from pipeline.model import resolve

PHOTOS = [Path(p) for p in sorted((Path(np.__file__).parent.parent / "sklearn" / "datasets" / "images").glob("*.jpg"))]


def collection(site):
    return read_collection(site)


def ids(site):
    return site_items(site)


@pytest.fixture(scope="module")
def index(built_site):
    return image_search.load_index(built_site)


def raster(svg: Path, out: Path, size: int = 480) -> Path:
    """A collection artwork as a flattened PNG, the kind of file a visitor would have."""
    decode(svg, size, size, "contain", [255, 255, 255]).write_to_file(str(out))
    return out


def test_export_is_described_and_complete(built_site):
    desc = collection(built_site)["image_search"]
    assert desc["schema"] == image_search.SCHEMA == 2 and desc["model"]["key"] == "mobilenetv2-tv-imagenet-v1"
    for part in ("model", "pca", "vectors"):
        f = built_site / desc[part]["file"]
        assert f.is_file() and f.stat().st_size == desc[part]["bytes"]
    v = desc["vectors"]
    assert v["count"] == 120 and v["bytes"] == 120 * 4 + 120 * v["dims"]
    k = desc["pca"]["components"]
    assert desc["pca"]["bytes"] == 4 * 1280 + 4 * k + k * 1280  # mean, row scales, int8 rows
    runtime = [built_site / desc["runtime"]["dir"] / f for f in image_search.ORT_FILES]
    assert all(f.is_file() for f in runtime) and desc["runtime"]["module"].startswith("assets/")
    html = (built_site / "index.html").read_text("utf-8")
    assert 'id="image-search-open"' in html


def test_onnx_graph_equals_the_keras_model_on_real_images(demo_collection, site_cache):
    """One graph: the build's features (ONNX Runtime, float32), the page's model (int8 weights;
    cosine >= 0.9977 to float32 on 600 demo artworks, bench/README.md) and the Keras port of the
    same network agree on artworks and photos."""
    files = sorted(demo_collection[0].glob("*.svg"))[:6] + PHOTOS
    x = np.stack([to_array(decode(p, 224, 224, "force", [255, 255, 255])) for p in files])
    keras_feats = resolve(backend="keras").load()(x)
    browser = model_session(str(image_search.model_file(site_cache, resolve())))
    for name, feats, floor in (("build", resolve().load()(x), 0.99999),  # what the cache shares with Keras
                               ("page", browser.run(["features"], {"pixels": x.astype(np.float32)})[0], 0.995)):
        cos = (feats * keras_feats).sum(1) / np.linalg.norm(feats, axis=1) / np.linalg.norm(keras_feats, axis=1)
        assert cos.min() >= floor, (name, cos)


def test_browser_model_is_weight_quantised_and_small(built_site):
    """The exported model.onnx: every large convolution weight is int8 codes with one float32 scale
    per output channel, restored by DequantizeLinear (axis 0) right before use; activations stay
    float (no QuantizeLinear); the rest is float16. Half the float16 export's 4.43 MB, and still
    2.1 MB or less once Brotli-compressed, as a host sends it."""
    import brotli
    import onnx
    from onnx import TensorProto, numpy_helper
    path = built_site / collection(built_site)["image_search"]["model"]["file"]
    m = onnx.load(str(path))
    inits = {i.name: i for i in m.graph.initializer}
    made_by = {n.output[0]: n for n in m.graph.node}
    convs = [n for n in m.graph.node if n.op_type == "Conv"]
    assert len(convs) == 52 and not [n for n in m.graph.node if n.op_type == "QuantizeLinear"]
    int8_values = 0
    for conv in convs:
        restore = made_by[conv.input[1]]
        if restore.op_type == "DequantizeLinear":
            codes, scale = (numpy_helper.to_array(inits[name]) for name in restore.input[:2])
            assert codes.dtype == np.int8 and scale.dtype == np.float32
            assert scale.shape == (codes.shape[0],) and (scale > 0).all()
            assert [a.i for a in restore.attribute if a.name == "axis"] == [0]
            assert np.abs(codes.reshape(len(codes), -1)).max(axis=1).min() == 127  # each channel's full range
            int8_values += codes.size
        else:
            assert restore.op_type == "Cast" and inits[restore.input[0]].data_type == TensorProto.FLOAT16
    total = sum(int(np.prod(i.dims)) for i in inits.values())
    assert int8_values > 0.95 * total
    scales = {n.input[1] for n in m.graph.node if n.op_type == "DequantizeLinear"}
    assert not [i.name for i in inits.values()  # float32: the scales and the input's mean and std alone
                if i.data_type == TensorProto.FLOAT and np.prod(i.dims) > 3 and i.name not in scales]
    raw = path.read_bytes()
    assert len(raw) < 2_400_000 and len(brotli.compress(raw, quality=9, lgwin=24)) < 2_200_000


def test_pca_rows_as_int8_project_like_float():
    x = np.random.default_rng(2).normal(size=(300, 1280)).astype(np.float32)
    _, mean, comps = projection.pca_fit(x, 64, 0)
    codes, scales = image_search._int8_rows(comps)
    assert codes.dtype == np.int8 and scales.shape == (64,)
    exact, approx = (x - mean) @ comps.T, (x - mean) @ (scales[:, None] * codes).T
    cos = (exact * approx).sum(1) / np.linalg.norm(exact, axis=1) / np.linalg.norm(approx, axis=1)
    assert cos.min() > 0.9999


def test_query_vectors_reproduce_the_builds_vectors(built_site, demo_collection, index):
    """Model + PCA + int8 codes together: every item queried with its own file scores >= 0.99
    against its stored vector and comes back first."""
    items = ids(built_site)
    rgb = np.stack([image_search.pixels(index, demo_collection[0] / it["id"]) for it in items])
    _, vecs = image_search.embed(index, rgb)
    stored = index.scales[:, None] * index.codes.astype(np.float32)
    unit = vecs / np.linalg.norm(vecs, axis=1, keepdims=True)
    assert ((unit * stored).sum(1) >= 0.99).all()
    assert [image_search.rank(index, v, 1)[0][0] for v in vecs] == list(range(len(items)))


def test_int8_codes_keep_the_float_ranking(built_site):
    reduced = np.random.default_rng(0).normal(size=(500, 64)).astype(np.float32)
    scales, codes = image_search.quantize(reduced)
    approx = scales[:, None] * codes
    unit = reduced / np.linalg.norm(reduced, axis=1, keepdims=True)
    assert np.abs((approx * unit).sum(1) - 1).max() < 0.01  # each code is its vector, cosine > 0.99
    exact, quant = unit @ unit[:20].T, approx @ unit[:20].T
    top_exact, top_quant = np.argsort(-exact, 0)[:5], np.argsort(-quant, 0)[:5]
    assert (top_exact[0] == top_quant[0]).all()


def test_pca_fit_projects_new_vectors_like_the_build():
    x = np.random.default_rng(1).normal(size=(50, 30)).astype(np.float32)
    reduced, mean, comps = projection.pca_fit(x, 8, 0)
    np.testing.assert_allclose((x - mean) @ comps.T, reduced, atol=1e-4)
    np.testing.assert_array_equal(projection.pca(x, 8, 0), reduced)
    assert projection.pca_fit(x[:1], 8, 0)[2].shape == (1, 30)


def run_search(site, query, k=3):
    res = subprocess.run([sys.executable, str(ROOT / "run.py"), "search", "--site", str(site), str(query),
                          "--k", str(k)], capture_output=True, text=True, timeout=120)
    return res.returncode, [line.split("\t") for line in res.stdout.splitlines()], res.stderr


@pytest.mark.parametrize("n", [3, 47, 101])
def test_cli_finds_an_artwork_first_and_its_copies_in_the_top_3(built_site, demo_collection, tmp_path, n):
    import pyvips
    item = ids(built_site)[n]
    title = collection(built_site)["items"]["title"][n]
    code, rows, err = run_search(built_site, demo_collection[0] / item["id"], k=5)
    assert code == 0, err
    assert rows[0][0] == item["id"] and rows[0][1] == title and float(rows[0][2]) > 0.98
    assert [float(r[2]) for r in rows] == sorted((float(r[2]) for r in rows), reverse=True)
    png = raster(demo_collection[0] / item["id"], tmp_path / "copy.png")
    base = pyvips.Image.new_from_file(str(png))
    copies = {
        "crop": base.crop(40, 30, 400, 420),                       # 75-85 % of each side
        "rescaled": base.resize(0.3),                              # 144 px, smaller than the CNN input
        "recompressed": base,                                      # JPEG quality 25 below
    }
    for name, im in copies.items():
        path = tmp_path / f"{name}.jpg"
        im.write_to_file(f"{path}[Q={25 if name == 'recompressed' else 85}]")
        top = [h["id"] for h in image_search.search(built_site, path, 3)]
        assert item["id"] in top, (name, top)


def test_cli_finds_a_photo_crop_among_photos(tmp_path, site_cache):
    """On real photos: a crop of each photo finds that photo first."""
    import pyvips
    images = tmp_path / "photos"
    images.mkdir()
    for p in PHOTOS:
        im = pyvips.Image.new_from_file(str(p))
        for k, (x, y) in enumerate([(0, 0), (320, 0), (0, 213), (320, 213)]):  # four quarters each
            im.crop(x, y, 320, 214).write_to_file(str(images / f"{p.stem}-{k}.jpg"))
    out = tmp_path / "site"
    build(Settings(images=str(images), out=out, cache=site_cache))
    query = tmp_path / "q.jpg"
    pyvips.Image.new_from_file(str(images / "china-1.jpg")).crop(30, 20, 250, 180).write_to_file(str(query))
    code, rows, err = run_search(out, query, k=3)
    assert code == 0, err
    assert rows[0][0] == "china-1.jpg", rows


def test_no_image_search_builds_without_it(demo_collection, site_cache, tmp_path):
    out = tmp_path / "site"
    build(demo_settings(*demo_collection, out, site_cache, image_search=False))
    assert collection(out)["image_search"] is None
    assert not (out / "data" / "image-search").exists() and not (out / "assets" / "ort").exists()
    assert 'id="image-search-open"' not in (out / "index.html").read_text("utf-8")
    code, rows, err = run_search(out, demo_collection[0] / ids(out)[0]["id"])
    assert code == 2 and "without image search" in err and not rows


def test_cli_reports_unreadable_queries(built_site, tmp_path):
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8 not really a jpeg")
    code, rows, err = run_search(built_site, bad)
    assert code == 2 and err.startswith("error: cannot read the query image") and not rows
    code, _, err = run_search(built_site, tmp_path / "missing.jpg")
    assert code == 2 and "not found" in err


def test_cli_reports_damaged_search_files(built_site, tmp_path):
    import shutil
    site = tmp_path / "site"
    shutil.copytree(built_site / "data", site / "data")
    (site / "data" / "image-search" / "vectors.bin").write_bytes(b"\0" * 10)  # truncated
    code, rows, err = run_search(site, built_site / "thumbs" / next((built_site / "thumbs").iterdir()).name)
    assert code == 2 and "missing or damaged" in err and not rows
