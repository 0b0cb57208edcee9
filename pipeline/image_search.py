"""Image search: ship the feature model, the PCA and the items' vectors so a browser (or the
``search`` CLI) can find the items most like any image, with no server.

The default model (torchvision's MobileNetV2) is written as the same ONNX graph the build runs
(``mobilenet_v2.to_onnx``: raw RGB pixels 0..255, NHWC, in; pooled features out), with its large
convolution weights stored as int8 codes with one scale per output channel (``weight_quantized``:
a quarter of the float32 bytes; activations stay float32, so features match the build's closely).
The build's vectors are PCA projections of the features; the browser repeats that projection
(components stored as int8 rows with a scale each) and scores items by cosine similarity against
int8 codes with a per-item scale.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import UserError
from .cache import link_or_copy, read_json, write_bytes
from .columns import read_collection
from .model import DEFAULT_MODEL, Model

FOLDER = "data/image-search"             # inside the site
ORT_DIR = "assets/ort"                   # onnxruntime-web, copied from node_modules
ORT_FILES = ["ort.wasm.min.mjs", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm"]
SCHEMA = 2                               # 2: pca.bin's matrix as int8 rows with a scale each
MODEL_FORMAT = 2                         # the browser model in the cache: 1 float16, 2 int8 weights
# Weight-only int8 (bench/README.md, "Inference backends"): convolution weights of QUANT_MIN values
# or more become int8 codes (symmetric, one scale per output channel); smaller ones (the first
# layers', where rounding costs the most for the fewest bytes) and the biases stay float16.
QUANT_MIN = 4096
# "No close match" (bench/README.md, "Search by image: when is a match close?"): the best item is a
# close match only if its score is at least MATCH_MIN and MATCH_TYPICAL x the collection's typical
# nearest-neighbour score, and it stands out from the second best by MATCH_MARGIN, unless it scores
# MATCH_SURE or more. Measured on the demo: 85 % of true matches (crops, shrunk, re-encoded copies)
# kept, no unrelated photo, seascape, noise or flat colour called a match.
MATCH_MIN, MATCH_TYPICAL, MATCH_MARGIN, MATCH_SURE = 0.70, 1.1, 0.05, 0.85
TYPICAL_SAMPLE = 500                     # items whose best neighbour gives the typical score


# ---- the model as ONNX ---------------------------------------------------------------------

def model_file(cache: Path, model: Model) -> Path:
    """The browser model (int8 weights, ``weight_quantized``) for ``model``, written once into the cache."""
    path = cache / "image-search" / f"{model.key}-web{MODEL_FORMAT}.onnx"
    if not path.is_file():
        write_bytes(path, weight_quantized(model.onnx()))
    return path


def _int8_rows(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric int8 codes of ``w`` with one float32 scale per row (first axis): w ~= scale * codes."""
    amax = np.abs(w.reshape(len(w), -1)).max(axis=1)
    scale = (np.where(amax > 0, amax, 1) / 127).astype(np.float32)
    codes = np.clip(np.rint(w / scale.reshape(-1, *[1] * (w.ndim - 1))), -127, 127).astype(np.int8)
    return codes, scale


def weight_quantized(graph: bytes, min_values: int = QUANT_MIN) -> bytes:
    """A float32 ONNX graph with its Conv weights of ``min_values`` values or more stored as int8
    codes and per-output-channel scales, restored by a DequantizeLinear node (axis 0) in front of
    the Conv; its other Conv weights and biases as float16, restored by a Cast. Nothing else changes:
    activations and arithmetic stay float32 (a static int8 model lost neighbours, bench/README.md)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    m = onnx.load_from_string(graph)
    convs = [n for n in m.graph.node if n.op_type == "Conv"]
    weights, biases = {n.input[1] for n in convs}, {n.input[2] for n in convs if len(n.input) > 2}
    kept, added, restore = [], [], []
    for init in m.graph.initializer:
        if init.name not in weights | biases or init.data_type != TensorProto.FLOAT:
            kept.append(init)
            continue
        w = numpy_helper.to_array(init)
        if init.name in weights and w.size >= min_values:
            codes, scale = _int8_rows(w)
            added += [numpy_helper.from_array(codes, f"{init.name}_q"), numpy_helper.from_array(scale, f"{init.name}_s")]
            restore.append(helper.make_node("DequantizeLinear", [f"{init.name}_q", f"{init.name}_s"], [init.name], axis=0))
        else:
            added.append(numpy_helper.from_array(w.astype(np.float16), f"{init.name}_h"))
            restore.append(helper.make_node("Cast", [f"{init.name}_h"], [init.name], to=TensorProto.FLOAT))
    del m.graph.initializer[:]
    m.graph.initializer.extend(kept + added)
    nodes = list(m.graph.node)
    del m.graph.node[:]
    m.graph.node.extend(restore + nodes)  # restored weights first: the graph stays topologically sorted
    onnx.checker.check_model(m)
    return m.SerializeToString()


# ---- vectors --------------------------------------------------------------------------------

def quantize(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unit-length rows as int8 codes and one float32 scale per row: row ~= scale * codes."""
    unit = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    scales = (np.abs(unit).max(axis=1) / 127).astype(np.float32)
    codes = np.rint(unit / np.where(scales > 0, scales, 1)[:, None]).astype(np.int8)
    return scales, codes


def _pca_bytes(mean: np.ndarray, components: np.ndarray) -> bytes:
    """The mean (float32), one scale per component (float32), then the components as int8 rows."""
    codes, scales = _int8_rows(components)
    return mean.astype("<f4").tobytes() + scales.astype("<f4").tobytes() + codes.tobytes()


def typical_neighbour_score(scales: np.ndarray, codes: np.ndarray) -> float:
    """Median, over up to TYPICAL_SAMPLE evenly spread items, of the best score of another item,
    computed from the quantized vectors the page scores with."""
    n = len(codes)
    if n < 2:
        return 0.0
    vec = scales[:, None] * codes.astype(np.float32)
    pick = np.unique(np.linspace(0, n - 1, min(n, TYPICAL_SAMPLE)).astype(int))
    sims = vec[pick] @ vec.T
    sims[np.arange(len(pick)), pick] = -np.inf
    return float(np.median(sims.max(axis=1)))


def match_rule(scales: np.ndarray, codes: np.ndarray) -> dict:
    """The "no close match" rule for this collection, for the page and the CLI."""
    typical = typical_neighbour_score(scales, codes)
    return {"min_score": round(max(MATCH_MIN, MATCH_TYPICAL * typical), 4), "min_margin": MATCH_MARGIN,
            "sure_score": MATCH_SURE, "typical_neighbour": round(typical, 4),
            "rule": "close match: top >= min_score and (top - second >= min_margin or top >= sure_score)"}


def is_close(match: dict, scores: list[float]) -> bool:
    """Whether the best of ``scores`` (best first) is a close match under ``match`` (match_rule)."""
    if not scores or scores[0] < match["min_score"]:
        return False
    second = scores[1] if len(scores) > 1 else -1.0
    return scores[0] - second >= match["min_margin"] or scores[0] >= match["sure_score"]


# ---- export ---------------------------------------------------------------------------------

def ort_dist() -> Path:
    from .site import PROJECT
    return PROJECT / "node_modules" / "onnxruntime-web" / "dist"


def export(out: Path, reduced: np.ndarray, mean: np.ndarray, components: np.ndarray,
           model: Model, background: list[int], cache: Path) -> dict:
    """Write the model, runtime, PCA and vectors into the site folder ``out``; return their
    description (collection.json's ``image_search``). Only a ``model.browser`` model has an
    export (others would need a Keras-to-ONNX converter)."""
    dist = ort_dist()
    if not all((dist / f).is_file() for f in ORT_FILES):
        raise UserError("onnxruntime-web is missing (image search needs it): run `npm install` "
                        "in the project folder, or build with --no-image-search")
    folder = out / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    link_or_copy(str(model_file(cache, model)), str(folder / "model.onnx"))
    (out / ORT_DIR).mkdir(parents=True, exist_ok=True)
    for f in ORT_FILES:
        link_or_copy(str(dist / f), str(out / ORT_DIR / f))
    scales, codes = quantize(reduced)
    write_bytes(folder / "vectors.bin", scales.astype("<f4").tobytes() + codes.tobytes())
    write_bytes(folder / "pca.bin", _pca_bytes(mean, components))
    n, k = codes.shape
    d = mean.shape[0]
    version = json.loads((dist.parent / "package.json").read_text("utf-8"))["version"]
    size = lambda rel: (out / rel).stat().st_size  # noqa: E731
    return {
        "schema": SCHEMA,
        "model": {"file": f"{FOLDER}/model.onnx", "bytes": size(f"{FOLDER}/model.onnx"), "key": model.key,
                  "input": "pixels", "output": "features", "size": [model.input_size] * 2, "layout": "NHWC",
                  "pixels": "RGB 0..255, whole image stretched to size, alpha over background",
                  "background": list(background), "dims": d},
        "pca": {"file": f"{FOLDER}/pca.bin", "bytes": size(f"{FOLDER}/pca.bin"), "dims": d, "components": k,
                "mean": {"offset": 0, "dtype": "float32", "shape": [d]},
                "scales": {"offset": 4 * d, "dtype": "float32", "shape": [k]},
                "matrix": {"offset": 4 * d + 4 * k, "dtype": "int8", "shape": [k, d]}},
        "vectors": {"file": f"{FOLDER}/vectors.bin", "bytes": size(f"{FOLDER}/vectors.bin"), "count": n, "dims": k,
                    "scales": {"offset": 0, "dtype": "float32", "shape": [n]},
                    "codes": {"offset": 4 * n, "dtype": "int8", "shape": [n, k]}},
        "runtime": {"name": "onnxruntime-web", "version": version, "dir": f"{ORT_DIR}/",
                    "module": f"{ORT_DIR}/{ORT_FILES[0]}",
                    "bytes": sum(size(f"{ORT_DIR}/{f}") for f in ORT_FILES)},
        "match": match_rule(scales, codes),
    }


# ---- query ----------------------------------------------------------------------------------

@dataclass
class Index:
    """A site's exported image search, loaded for querying from Python."""
    site: Path
    collection: dict         # data/collection.json
    desc: dict
    session: Any             # onnxruntime.InferenceSession
    mean: np.ndarray         # (D,)
    matrix: np.ndarray       # (k, D) PCA components, as the page restores them
    scales: np.ndarray       # (N,)
    codes: np.ndarray        # (N, k) int8


def _view(blob: bytes, spec: dict) -> np.ndarray:
    dtype = np.dtype({"float32": "<f4", "float16": "<f2", "int8": "i1"}[spec["dtype"]])
    count = int(np.prod(spec["shape"]))
    return np.frombuffer(blob, dtype, count, spec["offset"]).reshape(spec["shape"]).astype(
        np.float32 if dtype.kind == "f" else dtype)


def load_index(site: Path) -> Index:
    """Open the image search files of a built site (``collection.json``'s ``image_search``)."""
    site = Path(site)
    coll = read_collection(site)
    desc = coll.get("image_search")
    if not desc:
        raise UserError(f"{site} was built without image search (--no-image-search, or a --model "
                        f"other than {DEFAULT_MODEL}); rebuild it to search by image")
    if desc.get("schema") != SCHEMA:
        raise UserError(f"{site}'s image search files are of an older format; rebuild the site")
    import onnxruntime
    try:
        session = onnxruntime.InferenceSession(str(site / desc["model"]["file"]), providers=["CPUExecutionProvider"])
        pca = (site / desc["pca"]["file"]).read_bytes()
        vec = (site / desc["vectors"]["file"]).read_bytes()
        p = desc["pca"]
        matrix = _view(pca, p["scales"])[:, None] * _view(pca, p["matrix"]).astype(np.float32)
        return Index(site, coll, desc, session, _view(pca, p["mean"]), matrix,
                     _view(vec, desc["vectors"]["scales"]), _view(vec, desc["vectors"]["codes"]))
    except Exception as e:  # missing, truncated or foreign files: a rebuild fixes them
        raise UserError(f"the image search files of {site} are missing or damaged "
                        f"({type(e).__name__}: {str(e)[:160]}); rebuild the site") from e


def pixels(index: Index, path: Path) -> np.ndarray:
    """The query image as the model input: decoded like the build decodes collection images."""
    from .decode import DEFAULT_MAX_MEGAPIXELS, decode, to_array
    w, h = index.desc["model"]["size"]
    try:  # bounded like a collection image; an SVG is drawn from its bytes, reading no other file
        return to_array(decode(Path(path), w, h, "force", index.desc["model"]["background"],
                               max_megapixels=DEFAULT_MAX_MEGAPIXELS))
    except Exception as e:
        raise UserError(f"cannot read the query image {path}: {str(e).strip().splitlines()[0][:200]}") from e


def embed(index: Index, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Model features (N, D) and PCA vectors (N, k) of uint8 RGB images (N, h, w, 3)."""
    feats = index.session.run(["features"], {"pixels": rgb.astype(np.float32)})[0]
    return feats, (feats - index.mean) @ index.matrix.T


def rank(index: Index, vector: np.ndarray, k: int = 10) -> list[tuple[int, float]]:
    """The k items most similar to a PCA vector: [(item index, cosine)], best first."""
    q = vector / max(float(np.linalg.norm(vector)), 1e-12)
    scores = index.scales * (index.codes.astype(np.float32) @ q)
    k = min(k, len(scores))
    top = np.argpartition(-scores, k - 1)[:k] if k else np.array([], int)
    top = top[np.lexsort((top, -scores[top]))]  # by score, then index: deterministic
    return [(int(i), float(scores[i])) for i in top]


def search(site: Path, query: Path, k: int = 10) -> list[dict]:
    """Top ``k`` items for an image file: [{"index", "id", "title", "score"}], best first."""
    index = load_index(Path(site))
    _, vec = embed(index, pixels(index, query)[None])
    coll = index.collection
    chunk = coll["chunk_size"]
    chunks: dict[int, Any] = {}
    hits = []
    for i, score in rank(index, vec[0], k):
        c = chunks.setdefault(i // chunk, read_json(index.site / "data" / "items" / f"{i // chunk}.json"))
        hits.append({"index": i, "id": c["items"][i - c["start"]]["id"] if c else str(i),
                     "title": coll["items"]["title"][i], "score": round(score, 4)})
    return hits
