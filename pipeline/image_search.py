"""Image search: ship the feature model, the PCA and the items' vectors so a browser (or the
``search`` CLI) can find the items most like any image, with no server.

The default model (torchvision's MobileNetV2) is written as an ONNX graph straight from its
state dict: batch norm folded into the convolutions, ReLU6 as Clip(0, 6), and the ImageNet
mean/std normalisation at the front, so the graph takes raw RGB pixels (0..255, NHWC).
Weights are stored as float16 (half the download) and cast back to float32 when loaded.
The build's vectors are PCA projections of the features; the browser repeats that projection
and scores items by cosine similarity against int8 codes with a per-item scale.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import UserError, features
from .cache import link_or_copy, read_json, write_bytes

FOLDER = "data/image-search"             # inside the site
ORT_DIR = "assets/ort"                   # onnxruntime-web, copied from node_modules
ORT_FILES = ["ort.wasm.min.mjs", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm"]
SCHEMA = 1


# ---- the model as ONNX ---------------------------------------------------------------------

class _Graph:
    """Collects ONNX nodes and float16 initializers (cast to float32 inside the graph)."""

    def __init__(self, half: bool):
        self.nodes, self.inits, self.half, self._n = [], [], half, 0

    def name(self, base: str) -> str:
        self._n += 1
        return f"{base}_{self._n}"

    def const(self, base: str, value: np.ndarray, exact: bool = False) -> str:
        from onnx import helper, numpy_helper
        name = self.name(base)
        if not self.half or exact:
            self.inits.append(numpy_helper.from_array(value.astype(np.float32), name))
            return name
        self.inits.append(numpy_helper.from_array(value.astype(np.float16), name + "_h"))
        self.nodes.append(helper.make_node("Cast", [name + "_h"], [name], to=1))  # 1 = FLOAT
        return name

    def op(self, kind: str, inputs: list[str], **attrs) -> str:
        from onnx import helper
        out = self.name(kind.lower())
        self.nodes.append(helper.make_node(kind, inputs, [out], **attrs))
        return out


def _folded(state: dict[str, np.ndarray], conv: str, bn: str) -> tuple[np.ndarray, np.ndarray]:
    """Convolution weights with the following batch norm folded in (eval mode, eps 1e-5)."""
    scale = state[f"{bn}.weight"] / np.sqrt(state[f"{bn}.running_var"] + 1e-5)
    w = state[f"{conv}.weight"] * scale[:, None, None, None]
    return w, state[f"{bn}.bias"] - state[f"{bn}.running_mean"] * scale


def mobilenet_v2_onnx(state: dict[str, np.ndarray], size: int = 224, half: bool = True):
    """torchvision MobileNetV2 (pooled 1280-d features) as an ONNX model taking RGB 0..255 NHWC."""
    from onnx import TensorProto, helper
    from .mobilenet_v2 import MEAN, STD, ConvBN, blocks
    g = _Graph(half)
    zero, six = g.const("zero", np.array(0, np.float32), True), g.const("six", np.array(6, np.float32), True)

    def conv_bn(x: str, spec: ConvBN) -> str:
        w, b = _folded(state, spec.conv, spec.bn)
        k = spec.kernel
        y = g.op("Conv", [x, g.const("w", w), g.const("b", b)], kernel_shape=[k, k],
                 strides=[spec.stride] * 2, pads=[k // 2] * 4, group=w.shape[0] if spec.depthwise else 1)
        return g.op("Clip", [y, zero, six]) if spec.relu else y

    x = g.op("Sub", ["pixels", g.const("mean", MEAN, True)])
    x = g.op("Mul", [x, g.const("inv_std", 1 / STD, True)])
    x = g.op("Transpose", [x], perm=[0, 3, 1, 2])
    for convs, residual in blocks():
        y = x
        for spec in convs:
            y = conv_bn(y, spec)
        x = g.op("Add", [x, y]) if residual else y
    x = g.op("GlobalAveragePool", [x])
    g.nodes.append(helper.make_node("Flatten", [x], ["features"], axis=1))
    graph = helper.make_graph(
        g.nodes, "mobilenetv2_torchvision_features",
        [helper.make_tensor_value_info("pixels", TensorProto.FLOAT, ["batch", size, size, 3])],
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["batch", 1280])], g.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)],
                              producer_name="salon")
    model.ir_version = 8  # readable by onnxruntime >= 1.10 (and every onnxruntime-web in use)
    return model


def model_file(cache: Path, model_key: str, weights: Path) -> Path:
    """The browser model for ``model_key``, written once into the cache."""
    path = cache / "image-search" / f"{model_key}-onnx{SCHEMA}.onnx"
    if not path.is_file():
        from .torch_weights import load_state_dict
        write_bytes(path, mobilenet_v2_onnx(load_state_dict(weights)).SerializeToString())
    return path


# ---- vectors --------------------------------------------------------------------------------

def quantize(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unit-length rows as int8 codes and one float32 scale per row: row ~= scale * codes."""
    unit = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    scales = (np.abs(unit).max(axis=1) / 127).astype(np.float32)
    codes = np.rint(unit / np.where(scales > 0, scales, 1)[:, None]).astype(np.int8)
    return scales, codes


def _pca_bytes(mean: np.ndarray, components: np.ndarray) -> bytes:
    return mean.astype("<f4").tobytes() + components.astype("<f2").tobytes()


# ---- export ---------------------------------------------------------------------------------

def ort_dist() -> Path:
    from .site import PROJECT
    return PROJECT / "node_modules" / "onnxruntime-web" / "dist"


def supported(model: str) -> bool:
    """Only the default model has a browser export (others would need a Keras-to-ONNX converter)."""
    return model == features.DEFAULT_MODEL


def export(out: Path, reduced: np.ndarray, mean: np.ndarray, components: np.ndarray,
           model: str, weights: str | None, background: list[int], cache: Path) -> dict:
    """Write the model, runtime, PCA and vectors into the site folder ``out``; return their
    description (collection.json's ``image_search``)."""
    dist = ort_dist()
    if not all((dist / f).is_file() for f in ORT_FILES):
        raise UserError("onnxruntime-web is missing (image search needs it): run `npm install` "
                        "in the project folder, or build with --no-image-search")
    mkey = features.model_key(model, weights)
    folder = out / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    link_or_copy(str(model_file(cache, mkey, features.weights_path(model, weights))), str(folder / "model.onnx"))
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
        "model": {"file": f"{FOLDER}/model.onnx", "bytes": size(f"{FOLDER}/model.onnx"), "key": mkey,
                  "input": "pixels", "output": "features", "size": [224, 224], "layout": "NHWC",
                  "pixels": "RGB 0..255, whole image stretched to size, alpha over background",
                  "background": list(background), "dims": d},
        "pca": {"file": f"{FOLDER}/pca.bin", "bytes": size(f"{FOLDER}/pca.bin"), "dims": d, "components": k,
                "mean": {"offset": 0, "dtype": "float32", "shape": [d]},
                "matrix": {"offset": 4 * d, "dtype": "float16", "shape": [k, d]}},
        "vectors": {"file": f"{FOLDER}/vectors.bin", "bytes": size(f"{FOLDER}/vectors.bin"), "count": n, "dims": k,
                    "scales": {"offset": 0, "dtype": "float32", "shape": [n]},
                    "codes": {"offset": 4 * n, "dtype": "int8", "shape": [n, k]}},
        "runtime": {"name": "onnxruntime-web", "version": version, "dir": f"{ORT_DIR}/",
                    "module": f"{ORT_DIR}/{ORT_FILES[0]}",
                    "bytes": sum(size(f"{ORT_DIR}/{f}") for f in ORT_FILES)},
    }


# ---- query ----------------------------------------------------------------------------------

@dataclass
class Index:
    """A site's exported image search, loaded for querying from Python."""
    site: Path
    collection: dict         # data/collection.json
    desc: dict
    session: object          # onnxruntime.InferenceSession
    mean: np.ndarray         # (D,)
    matrix: np.ndarray       # (k, D) PCA components
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
    coll = read_json(site / "data" / "collection.json")
    if not isinstance(coll, dict):
        raise UserError(f"{site} is not a Salon site (no readable data/collection.json)")
    desc = coll.get("image_search")
    if not desc:
        raise UserError(f"{site} was built without image search (--no-image-search, or a --model "
                        f"other than {features.DEFAULT_MODEL}); rebuild it to search by image")
    import onnxruntime
    try:
        session = onnxruntime.InferenceSession(str(site / desc["model"]["file"]), providers=["CPUExecutionProvider"])
        pca = (site / desc["pca"]["file"]).read_bytes()
        vec = (site / desc["vectors"]["file"]).read_bytes()
        return Index(site, coll, desc, session, _view(pca, desc["pca"]["mean"]), _view(pca, desc["pca"]["matrix"]),
                     _view(vec, desc["vectors"]["scales"]), _view(vec, desc["vectors"]["codes"]))
    except Exception as e:  # missing, truncated or foreign files: a rebuild fixes them
        raise UserError(f"the image search files of {site} are missing or damaged "
                        f"({type(e).__name__}: {str(e)[:160]}); rebuild the site") from e


def pixels(index: Index, path: Path) -> np.ndarray:
    """The query image as the model input: decoded like the build decodes collection images."""
    from .intake import decode, to_array
    w, h = index.desc["model"]["size"]
    try:
        return to_array(decode(Path(path), w, h, "force", index.desc["model"]["background"]))
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
    chunk, chunks = coll["chunk_size"], {}
    hits = []
    for i, score in rank(index, vec[0], k):
        c = chunks.setdefault(i // chunk, read_json(index.site / "data" / "items" / f"{i // chunk}.json"))
        hits.append({"index": i, "id": c["items"][i - c["start"]]["id"] if c else str(i),
                     "title": coll["items"]["title"][i], "score": round(score, 4)})
    return hits
