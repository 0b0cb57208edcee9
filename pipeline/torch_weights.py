"""Read a PyTorch checkpoint (.pth) with numpy alone, without importing torch.

Two layouts exist: the zip layout of torch >= 1.6 (``data.pkl`` plus one raw file per
storage) and the older "legacy" stream (pickled header, pickled object, then raw storages).
Both describe tensors with the same pickle calls, which we answer with numpy arrays.
"""
from __future__ import annotations

import io
import pickle
import zipfile
from collections import OrderedDict
from pathlib import Path
from typing import Any, Callable

import numpy as np

_DTYPES = {
    "FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16,
    "LongStorage": np.int64, "IntStorage": np.int32, "ShortStorage": np.int16,
    "CharStorage": np.int8, "ByteStorage": np.uint8, "BoolStorage": np.bool_,
}
_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C


class _StorageType:
    def __init__(self, name: str):
        self.dtype = np.dtype(_DTYPES[name])


def _rebuild_tensor(storage: np.ndarray, offset: int, size: tuple, stride: tuple, *_: Any) -> np.ndarray:
    # Return a view, not a copy: in the legacy format the storages are only filled
    # after the whole object has been unpickled; load_state_dict copies at the end.
    if not size:
        return storage[offset:offset + 1].reshape(())
    item = storage.dtype.itemsize
    return np.lib.stride_tricks.as_strided(storage[offset:], shape=tuple(size),
                                           strides=tuple(s * item for s in stride))


class _Unpickler(pickle.Unpickler):
    """Maps torch's pickled classes onto numpy; everything else torch-specific is refused."""

    def __init__(self, file: Any, load_storage: Callable[[_StorageType, str, int], np.ndarray]):
        super().__init__(file)
        self._load_storage = load_storage
        self._storages: dict[str, np.ndarray] = {}

    def find_class(self, module: str, name: str) -> Any:
        if module == "collections" and name == "OrderedDict":
            return OrderedDict
        if module == "torch._utils" and name in ("_rebuild_tensor", "_rebuild_tensor_v2"):
            return _rebuild_tensor
        if module == "torch" and name in _DTYPES:
            return _StorageType(name)
        if module == "torch" and name == "Size":
            return tuple
        raise pickle.UnpicklingError(f"unsupported object in checkpoint: {module}.{name}")

    def persistent_load(self, pid: tuple) -> np.ndarray:
        # ('storage', storage_type, key, location, numel[, view_metadata])
        _, storage_type, key, _location, numel = pid[:5]
        if key not in self._storages:
            self._storages[key] = self._load_storage(storage_type, key, numel)
        return self._storages[key]


def _load_zip(path: Path) -> dict[str, np.ndarray]:
    with zipfile.ZipFile(path) as zf:
        pkl = next(n for n in zf.namelist() if n.endswith("data.pkl"))
        root = pkl[: -len("data.pkl")]

        def load(st: _StorageType, key: str, numel: int) -> np.ndarray:
            return np.frombuffer(zf.read(f"{root}data/{key}"), dtype=st.dtype, count=numel)

        return _Unpickler(io.BytesIO(zf.read(pkl)), load).load()


def _load_legacy(path: Path) -> dict[str, np.ndarray]:
    with open(path, "rb") as f:
        if pickle.load(f) != _LEGACY_MAGIC:
            raise ValueError(f"{path} is not a PyTorch checkpoint")
        pickle.load(f)  # protocol version
        pickle.load(f)  # system info (endianness, type sizes)
        pending: dict[str, tuple[_StorageType, np.ndarray]] = {}

        def load(st: _StorageType, key: str, numel: int) -> np.ndarray:
            arr = np.empty(numel, dtype=st.dtype)  # filled below, after the key list
            pending[key] = (st, arr)
            return arr

        obj = _Unpickler(f, load).load()
        for key in pickle.load(f):
            st, arr = pending[key]
            numel = int(np.frombuffer(f.read(8), dtype="<i8")[0])
            arr[:] = np.frombuffer(f.read(numel * st.dtype.itemsize), dtype=st.dtype)
        return obj


def load_state_dict(path: str | Path) -> dict[str, np.ndarray]:
    """Return the checkpoint's tensors as ``{name: ndarray}``."""
    path = Path(path)
    obj = _load_zip(path) if zipfile.is_zipfile(path) else _load_legacy(path)
    if isinstance(obj, dict) and "state_dict" in obj:
        obj = obj["state_dict"]
    return {k: np.array(v, order="C") for k, v in obj.items() if isinstance(v, np.ndarray)}
