"""The .pth reader on the real torchvision checkpoint and on hostile ones, crafted here with
pickle and zipfile alone (no torch): code payloads and tensors that reach past their storage."""
import io
import os
import pickle
import shlex
import struct
import subprocess
import sys
import types
import zipfile
from collections import OrderedDict

import numpy as np
import pytest

from pipeline import mobilenet_v2
from pipeline.torch_weights import _LEGACY_MAGIC, CheckpointError, load_state_dict


def test_reads_torchvision_checkpoint_without_torch():
    state = load_state_dict(mobilenet_v2.default_weights())
    assert sum(v.size for k, v in state.items() if not k.endswith("num_batches_tracked")) == 3_538_984
    assert state["features.0.0.weight"].shape == (32, 3, 3, 3)
    assert state["classifier.1.weight"].dtype == np.float32
    # scalars are read after the pickle in the legacy format: they must hold the real value
    assert int(state["features.0.1.num_batches_tracked"]) > 0
    assert np.isfinite(state["features.5.conv.1.1.running_var"]).all()
    assert "torch" not in sys.modules


# ---- a checkpoint writer, standing in for torch.save -------------------------------------------

class Storage:
    def __init__(self, key: str, values: np.ndarray, numel: int | None = None):
        self.key, self.values = key, values.astype("<f4")
        self.numel = len(values) if numel is None else numel


class Tensor:
    """Pickles as torch does: _rebuild_tensor_v2(storage, offset, size, stride, ...)."""

    def __init__(self, storage: Storage, offset: int, size: tuple, stride: tuple):
        self.args = (storage, offset, size, stride, False, OrderedDict())

    def __reduce__(self):
        return sys.modules["torch._utils"]._rebuild_tensor_v2, self.args


@pytest.fixture
def fake_torch(monkeypatch):
    """Just enough of a `torch` module for pickle to write torch's global names."""
    torch, utils = types.ModuleType("torch"), types.ModuleType("torch._utils")
    storage_cls = type("FloatStorage", (), {"__module__": "torch"})

    def _rebuild_tensor_v2(*args):
        raise AssertionError("never called: only pickled")
    _rebuild_tensor_v2.__module__, _rebuild_tensor_v2.__qualname__ = "torch._utils", "_rebuild_tensor_v2"
    torch.FloatStorage, torch._utils, utils._rebuild_tensor_v2 = storage_cls, utils, _rebuild_tensor_v2
    monkeypatch.setitem(sys.modules, "torch", torch)
    monkeypatch.setitem(sys.modules, "torch._utils", utils)
    return storage_cls


def pickled(obj, storage_cls) -> bytes:
    buf = io.BytesIO()
    p = pickle.Pickler(buf, protocol=2)
    p.persistent_id = lambda o: (("storage", storage_cls, o.key, "cpu", o.numel)
                                 if isinstance(o, Storage) else None)
    p.dump(obj)
    return buf.getvalue()


def write_checkpoint(path, tensors: dict, storage_cls, legacy: bool = False, raw: bytes | None = None):
    """``tensors``: {name: Tensor}; their storages are written with their real values.
    ``raw`` replaces the pickled object (a payload)."""
    storages = {t.args[0].key: t.args[0] for t in tensors.values()}
    body = raw if raw is not None else pickled(OrderedDict(tensors), storage_cls)
    if legacy:
        with open(path, "wb") as f:
            for header in (_LEGACY_MAGIC, 1001, {"protocol_version": 1001, "little_endian": True}):
                pickle.dump(header, f, protocol=2)
            f.write(body)
            pickle.dump(list(storages), f, protocol=2)
            for s in storages.values():
                f.write(struct.pack("<q", len(s.values)) + s.values.tobytes())
    else:
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("archive/data.pkl", body)
            for s in storages.values():
                z.writestr(f"archive/data/{s.key}", s.values.tobytes())
    return path


class Payload:
    def __init__(self, marker):
        self.command = f"touch {shlex.quote(str(marker))}"

    def __reduce__(self):
        return os.system, (self.command,)


@pytest.mark.parametrize("legacy", [False, True])
def test_crafted_checkpoint_round_trips(tmp_path, fake_torch, legacy):
    """The writer above makes checkpoints the reader accepts: the refusals below are about the forgeries."""
    s = Storage("0", np.arange(12))
    path = write_checkpoint(tmp_path / "ok.pth", {"w": Tensor(s, 2, (2, 3), (1, 2)),
                                                  "b": Tensor(s, 11, (), ())}, fake_torch, legacy)
    state = load_state_dict(path)
    np.testing.assert_array_equal(state["w"], [[2, 4, 6], [3, 5, 7]])
    assert state["b"] == 11


@pytest.mark.parametrize("where", ["zip", "legacy-object", "legacy-header", "legacy-keys"])
def test_code_in_a_checkpoint_never_runs(tmp_path, fake_torch, where):
    marker = tmp_path / "ran"
    payload = pickle.dumps(Payload(marker), protocol=2)
    assert not marker.exists()
    path = tmp_path / "evil.pth"
    if where == "zip":
        write_checkpoint(path, {}, fake_torch, raw=payload)
    elif where == "legacy-object":
        write_checkpoint(path, {}, fake_torch, legacy=True, raw=payload)
    elif where == "legacy-header":
        path.write_bytes(payload)
    else:  # a valid object, then the payload where the storage key list belongs
        head = b"".join(pickle.dumps(h, protocol=2) for h in (_LEGACY_MAGIC, 1001, {}))
        path.write_bytes(head + pickled(OrderedDict(), fake_torch) + payload)
    with pytest.raises(CheckpointError, match="refused to load posix.system"):
        load_state_dict(path)
    assert not marker.exists()


@pytest.mark.parametrize("legacy", [False, True])
@pytest.mark.parametrize("offset,size,stride,why", [
    (0, (4096, 4096), (4096, 1), "values in a storage of 12"),       # size far past the storage
    (0, (3, 4), (1_000_000, 1), "reach element"),                      # stride past the storage
    (10, (2, 2), (2, 1), "reach element"),                             # offset + extent past the end
    (2 ** 40, (1,), (1,), "reach element"),                            # offset alone far past the end
    (0, (2, -3), (1, 1), "bad size"),                                  # negative sizes
    (0, (2, 2), (-1, 1), "bad size"),                                  # negative strides
    (0, (2 ** 62, 2 ** 62), (0, 0), "values in a storage"),            # stride 0: a huge copy, no overrun
])
def test_tensors_outside_their_storage_are_refused_by_name(tmp_path, fake_torch, legacy, offset, size, stride, why):
    s = Storage("0", np.arange(12))
    path = write_checkpoint(tmp_path / "bad.pth", {"features.0.0.weight": Tensor(s, offset, size, stride)},
                            fake_torch, legacy)
    with pytest.raises(CheckpointError, match=f"tensor 'features.0.0.weight': .*{why}"):
        load_state_dict(path)


@pytest.mark.parametrize("legacy", [False, True])
def test_storage_lengths_must_match_the_bytes(tmp_path, fake_torch, legacy):
    """A storage described as longer than the bytes the file holds is refused, not read past."""
    s = Storage("0", np.arange(4), numel=1000)
    path = write_checkpoint(tmp_path / "short.pth", {"w": Tensor(s, 0, (1000,), (1,))}, fake_torch, legacy)
    with pytest.raises(CheckpointError, match="storage 0"):
        load_state_dict(path)
    s = Storage("0", np.arange(4), numel=2 ** 50)  # a claim no file could back
    path = write_checkpoint(tmp_path / "huge.pth", {"w": Tensor(s, 0, (1,), (1,))}, fake_torch, legacy)
    with pytest.raises(CheckpointError, match="storage 0 claims"):
        load_state_dict(path)


def test_forged_strides_neither_crash_nor_leak_memory(tmp_path, fake_torch):
    """The forgery that crashed Python (exit 139) before: now one error line, in a child process."""
    s = Storage("0", np.arange(12))
    path = write_checkpoint(tmp_path / "crash.pth", {"w": Tensor(s, 0, (64, 1024), (2 ** 40, 1))}, fake_torch)
    code = ("from pipeline.torch_weights import load_state_dict, CheckpointError\n"
            f"try: load_state_dict({str(path)!r})\nexcept CheckpointError as e: print('refused:', e)")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         cwd=os.path.dirname(os.path.dirname(__file__)))
    assert res.returncode == 0 and res.stdout.startswith("refused: tensor 'w'"), (res.returncode, res.stderr)


@pytest.mark.parametrize("content", [b"", b"not a checkpoint at all", b"PK\x03\x04broken zip"])
def test_junk_files_are_refused(tmp_path, content):
    path = tmp_path / "junk.pth"
    path.write_bytes(content)
    with pytest.raises(CheckpointError):
        load_state_dict(path)
