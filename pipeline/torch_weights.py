"""Read a PyTorch checkpoint (.pth) with numpy alone, without importing torch.

Two layouts exist: the zip layout of torch >= 1.6 (``data.pkl`` plus one raw file per
storage) and the older "legacy" stream (pickled header, pickled object, then raw storages).
Both describe tensors with the same pickle calls, which we answer with numpy arrays.

A weights file is untrusted: no pickle here may name any class or function beyond the few
that describe tensors (so nothing in the file can run code), and every tensor's offset, size
and stride must lie inside its storage, whose length must match the bytes the file holds.
"""
from __future__ import annotations

import io
import pickle
import struct
import zipfile
from collections import OrderedDict
from collections.abc import Callable
from math import prod
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

_DTYPES = {
    "FloatStorage": "<f4", "DoubleStorage": "<f8", "HalfStorage": "<f2",
    "LongStorage": "<i8", "IntStorage": "<i4", "ShortStorage": "<i2",
    "CharStorage": "i1", "ByteStorage": "u1", "BoolStorage": "?",
}
_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
MAX_STORAGE_BYTES = 2 ** 30   # a deflated zip member could claim any size; real weights are far smaller


class CheckpointError(ValueError):
    """The file is not a checkpoint we can read safely (the message says what is wrong)."""


class _StorageType:
    def __init__(self, name: str):
        self.name, self.dtype = name, np.dtype(_DTYPES[name])


class _Refused:
    """A tensor whose layout does not fit its storage; reported by name once its key is known."""

    def __init__(self, reason: str):
        self.reason = reason


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _layout_error(storage: Any, offset: Any, size: Any, stride: Any) -> str | None:
    """Why this tensor view would reach outside its storage, or None when it fits."""
    if not isinstance(storage, np.ndarray):
        return "its storage is not a storage"
    if not _is_int(offset) or offset < 0:
        return f"bad storage offset {offset!r}"
    if not isinstance(size, tuple) or not isinstance(stride, tuple) or len(size) != len(stride):
        return f"bad size {size!r} or stride {stride!r}"
    if not all(_is_int(v) and v >= 0 for v in size + stride):
        return f"bad size {size!r} or stride {stride!r}"
    numel = prod(size)
    if numel == 0:
        return None
    if numel > len(storage):  # weights are dense: a view larger than its storage is a forgery
        return f"{numel} values in a storage of {len(storage)}"
    last = offset + sum((n - 1) * s for n, s in zip(size, stride))
    if last >= len(storage):
        return f"offset {offset}, size {size} and stride {stride} reach element {last} of a storage of {len(storage)}"
    return None


def _rebuild_tensor(storage: Any, offset: Any, size: Any, stride: Any, *_: Any) -> np.ndarray | _Refused:
    # Return a view, not a copy: in the legacy format the storages are only filled
    # after the whole object has been unpickled; load_state_dict copies at the end.
    size, stride = tuple(size) if isinstance(size, (tuple, list)) else size, \
        tuple(stride) if isinstance(stride, (tuple, list)) else stride
    reason = _layout_error(storage, offset, size, stride)
    if reason:
        return _Refused(reason)
    if prod(size) == 0:
        return np.zeros(size, storage.dtype)
    item = storage.dtype.itemsize
    return np.lib.stride_tricks.as_strided(storage[offset:], shape=size, strides=tuple(s * item for s in stride),
                                           writeable=False)


class _Plain(pickle.Unpickler):
    """Reads plain data only (numbers, strings, lists, dicts): any class or function is refused."""

    def find_class(self, module: str, name: str) -> Any:
        raise CheckpointError(f"refused to load {module}.{name} (a checkpoint may only describe tensors)")

    def persistent_load(self, pid: Any) -> Any:
        raise CheckpointError("unexpected storage reference in a checkpoint header")


class _Unpickler(_Plain):
    """Maps torch's pickled tensor classes onto numpy; everything else is refused."""

    def __init__(self, file: BinaryIO, load_storage: Callable[[_StorageType, str, int], np.ndarray]):
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
        return super().find_class(module, name)

    def persistent_load(self, pid: Any) -> np.ndarray:
        # ('storage', storage_type, key, location, numel[, view_metadata])
        if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage"
                and isinstance(pid[1], _StorageType) and isinstance(pid[2], str) and _is_int(pid[4]) and pid[4] >= 0):
            raise CheckpointError(f"bad storage reference {str(pid)[:80]}")
        _, storage_type, key, _location, numel = pid[:5]
        if numel * storage_type.dtype.itemsize > MAX_STORAGE_BYTES:
            raise CheckpointError(f"storage {key} claims {numel} values, more than any weights file holds")
        have = self._storages.get(key)
        if have is None:
            have = self._storages[key] = self._load_storage(storage_type, key, numel)
        if have.dtype != storage_type.dtype or len(have) != numel:
            raise CheckpointError(f"storage {key} is described twice, differently")
        return have


def _load_zip(path: Path) -> Any:
    with zipfile.ZipFile(path) as zf:
        pkl = next((n for n in zf.namelist() if n.endswith("data.pkl")), None)
        if pkl is None:
            raise CheckpointError("a zip without data.pkl")
        root = pkl[: -len("data.pkl")]

        def load(st: _StorageType, key: str, numel: int) -> np.ndarray:
            name = f"{root}data/{key}"
            try:
                info = zf.getinfo(name)
            except KeyError:
                raise CheckpointError(f"storage {key} is missing from the file") from None
            want = numel * st.dtype.itemsize
            if info.file_size != want:
                raise CheckpointError(f"storage {key} holds {info.file_size} bytes, its description says {want}")
            data = zf.read(name)
            if len(data) != want:
                raise CheckpointError(f"storage {key}: read {len(data)} bytes, expected {want}")
            return np.frombuffer(data, dtype=st.dtype, count=numel)

        return _Unpickler(io.BytesIO(zf.read(pkl)), load).load()


def _load_legacy(path: Path) -> Any:
    file_bytes = path.stat().st_size
    with open(path, "rb") as f:
        try:
            magic = _Plain(f).load()
        except pickle.UnpicklingError:
            magic = None
        if magic != _LEGACY_MAGIC:
            raise CheckpointError("not a PyTorch checkpoint")
        _Plain(f).load()  # protocol version
        info = _Plain(f).load()  # system info (endianness, type sizes)
        if isinstance(info, dict) and info.get("little_endian") is False:
            raise CheckpointError("a big-endian checkpoint")
        pending: dict[str, np.ndarray] = {}

        def load(st: _StorageType, key: str, numel: int) -> np.ndarray:
            if numel * st.dtype.itemsize > file_bytes:
                raise CheckpointError(f"storage {key} claims {numel} values, more than the file holds")
            arr = pending[key] = np.zeros(numel, dtype=st.dtype)  # filled below, after the key list
            return arr

        obj = _Unpickler(f, load).load()
        keys = _Plain(f).load()
        if not isinstance(keys, list) or set(keys) != set(pending) or len(keys) != len(pending):
            raise CheckpointError("the storage list does not match the tensors")
        for key in keys:
            arr = pending[key]
            head = f.read(8)
            stored = struct.unpack("<q", head)[0] if len(head) == 8 else -1
            if stored != len(arr):
                raise CheckpointError(f"storage {key} holds {stored} values, its description says {len(arr)}")
            data = f.read(arr.nbytes)
            if len(data) != arr.nbytes:
                raise CheckpointError(f"storage {key} is cut short ({len(data)} of {arr.nbytes} bytes)")
            arr[:] = np.frombuffer(data, dtype=arr.dtype)
        return obj


def load_state_dict(path: str | Path) -> dict[str, np.ndarray]:
    """Return the checkpoint's tensors as ``{name: ndarray}``.

    Raises CheckpointError (naming the tensor, where one is at fault) for anything that is not
    a plain checkpoint of tensors, never running code from the file or reading past its storages.
    """
    path = Path(path)
    try:
        obj = _load_zip(path) if zipfile.is_zipfile(path) else _load_legacy(path)
    except CheckpointError:
        raise
    except Exception as e:  # malformed pickle, truncated file, bad zip: all the file's fault
        raise CheckpointError(f"not a readable PyTorch checkpoint ({type(e).__name__}: {str(e)[:120]})") from e
    if isinstance(obj, dict) and isinstance(obj.get("state_dict"), dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict):
        raise CheckpointError(f"holds a {type(obj).__name__}, not a state dict of tensors")
    out = {}
    for name, value in obj.items():
        if isinstance(value, _Refused):
            raise CheckpointError(f"tensor {str(name)[:80]!r}: {value.reason}")
        if isinstance(value, np.ndarray):
            out[str(name)] = np.array(value, order="C")
    return out
