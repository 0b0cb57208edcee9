"""Atomic writes and content-keyed caching, shared by every stage."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

_UMASK = os.umask(0o022)
os.umask(_UMASK)


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only on success."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp" + path.suffix)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600 files; a web server must read them
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def link_or_copy(src: str | Path, dst: str | Path) -> None:
    """Hard-link a cached file into place (a copy where links are impossible): no bytes rewritten."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def write_bytes(path: Path, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def json_text(obj: Any, compact: bool = True) -> str:
    return (json.dumps(obj, ensure_ascii=False, separators=(",", ":")) if compact
            else json.dumps(obj, ensure_ascii=False, indent=2))


def write_json(path: Path, obj: Any, compact: bool = True) -> None:
    write_bytes(path, json_text(obj, compact).encode("utf-8"))


def read_json(path: Path, default: Any = None) -> Any:
    try:
        return json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return default


def save_npy(path: Path, arr: np.ndarray) -> None:
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.save(f, arr, allow_pickle=False)


def load_npy(path: Path) -> np.ndarray | None:
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError):
        return None


def file_digest(path: Path) -> str:
    """Content hash of a file (BLAKE2b, 128 bits, hex)."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, lambda: hashlib.blake2b(digest_size=16)).hexdigest()


def key(*parts: Any) -> str:
    """A short stable key for any JSON-serialisable description of an input."""
    blob = json.dumps(parts, sort_keys=True, default=str, separators=(",", ":")).encode()
    return hashlib.blake2b(blob, digest_size=10).hexdigest()


class Memo:
    """Stage outputs stored under a key of their inputs: a rerun with equal inputs loads them."""

    def __init__(self, root: Path):
        self.root = root

    def get(self, stage: str, k: str, compute: Callable[[], dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
        """The stage's arrays stored under key ``k``, else ``compute()``'s, stored for next time."""
        got = self.arrays(stage, k)
        if got is None:
            got = compute()
            self.save_arrays(stage, k, **got)
        return got

    def arrays(self, stage: str, k: str) -> dict[str, np.ndarray] | None:
        try:
            with np.load(self.root / f"{stage}-{k}.npz", allow_pickle=False) as z:
                return {name: z[name] for name in z.files}
        except (OSError, ValueError):
            return None

    def save_arrays(self, stage: str, k: str, **arrays: np.ndarray) -> None:
        for old in self.root.glob(f"{stage}-*.npz"):  # keep one version per stage
            old.unlink(missing_ok=True)
        with atomic_path(self.root / f"{stage}-{k}.npz") as tmp, open(tmp, "wb") as f:
            np.savez(f, allow_pickle=False, **arrays)
