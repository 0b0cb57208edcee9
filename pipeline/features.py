"""Features: a CNN's pooled activations for every image, batched, cached per image.

Which network, weights and runtime: pipeline/model.py (``Model``, resolved once per build).
"""
from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from tqdm import tqdm

from . import UserError
from .cache import load_npy, save_npy
from .model import DEFAULT_MODEL, MODELS, Model  # noqa: F401  (the CLI's choices and defaults)
from .thumbnails import CNN_INPUT_VERSION, cnn_input

PREFETCH = 2   # batches decoded ahead of the model (beside those in it)


def _cache_path(cache: Path, key: str, digest: str) -> Path:
    # the input's version too: vectors of an older way of making the CNN input are recomputed
    return cache / "features" / f"{key}-in{CNN_INPUT_VERSION}" / digest[:2] / f"{digest}.npy"


def extract(root: Path, items: list[tuple[str, str]], cache: Path, model: Model, background: list[int],
            batch: int = 32) -> tuple[np.ndarray, dict[str, str]]:
    """Features for ``[(relpath, digest)]`` in order, computing only the uncached ones.

    The model is loaded (``model.load()``) only when some image is not cached yet.
    Returns the (N, D) matrix (rows of failed images are zero) and ``{relpath: reason}`` failures.
    """
    key, size = model.key, model.input_size
    rows = [load_npy(_cache_path(cache, key, d)) for _, d in items]
    todo = [i for i, r in enumerate(rows) if r is None]
    failed: dict[str, str] = {}
    if todo:

        def load(i: int) -> np.ndarray | str:
            try:
                # the thumbnail stage's input (made from its one decode), else made the same way
                return cnn_input(root, items[i][0], items[i][1], cache, size, background)
            except Exception as e:
                return f"cannot decode for features: {str(e).strip().splitlines()[0][:200]}"

        def decode_batch(pool: ThreadPoolExecutor, idx: list[int]) -> list[Future]:
            return [pool.submit(load, i) for i in idx]

        batches = [todo[s:s + batch] for s in range(0, len(todo), batch)]
        cores = len(os.sched_getaffinity(0))
        with ThreadPoolExecutor(cores) as pool, ThreadPoolExecutor(cores) as infer, \
                tqdm(total=len(todo), desc="features", unit="img", leave=False) as bar:
            # decoding runs PREFETCH batches ahead of the model, and starts while the model loads;
            # up to ex.at_once batches are in the model at once
            ahead = deque(decode_batch(pool, b) for b in batches[:PREFETCH])
            ex = model.load()
            running: deque[tuple[list[int], Future]] = deque()

            def finish() -> None:
                done, fut = running.popleft()
                for i, f in zip(done, fut.result()):
                    save_npy(_cache_path(cache, key, items[i][1]), f)
                    rows[i] = f
                bar.update(len(done))

            for n, idx in enumerate(batches):
                decoded = [f.result() for f in ahead.popleft()]
                if n + PREFETCH < len(batches):
                    ahead.append(decode_batch(pool, batches[n + PREFETCH]))
                good = [(i, a) for i, a in zip(idx, decoded) if not isinstance(a, str)]
                for i, a in zip(idx, decoded):
                    if isinstance(a, str):
                        failed[items[i][0]] = a
                bar.update(len(idx) - len(good))
                if good:
                    running.append(([i for i, _ in good], infer.submit(ex, np.stack([a for _, a in good]))))
                while len(running) >= max(1, ex.at_once):
                    finish()
            while running:
                finish()
    dim = next((r.shape[0] for r in rows if r is not None), 0)
    matrix = np.zeros((len(items), dim), dtype=np.float32)
    for i, r in enumerate(rows):
        if r is not None:
            matrix[i] = r
    return matrix, failed


class Stream:
    """Features made while the thumbnail stage decodes: ``feed`` (its sink) takes each image's CNN
    input from that stage's one decode, and full batches go to the model at once, so decoding and
    inference share the cores instead of taking turns. Vectors go to the cache, where ``extract``
    finds them. The model loads on the first feed: a build whose thumbnails are made loads nothing.

    A feeder waits while the model is PREFETCH batches behind, so memory stays bounded. A batch
    that fails here is only not cached: the features stage makes it again and reports why."""

    def __init__(self, cache: Path, model: Model, batch: int = 32):
        self.cache, self.model, self.batch = cache, model, batch
        self._lock = threading.Lock()
        self._pending: list[tuple[str, np.ndarray]] = []
        self._running: list[Future] = []
        self._pool: ThreadPoolExecutor | None = None

    def feed(self, digest: str, rgb: np.ndarray) -> None:
        if _cache_path(self.cache, self.model.key, digest).exists():
            return
        with self._lock:
            if self._pool is None:
                cores = len(os.sched_getaffinity(0))
                self._pool = ThreadPoolExecutor(cores)
                self._room = threading.BoundedSemaphore(cores + PREFETCH)
                self._ex = self._pool.submit(self._load)
            self._pending.append((digest, rgb))
            if len(self._pending) < self.batch:
                return
            full, self._pending = self._pending, []
        self._submit(full)

    def _load(self):
        ex = self.model.load()
        self._calls = threading.Semaphore(max(1, ex.at_once))
        return ex

    def _submit(self, batch: list[tuple[str, np.ndarray]]) -> None:
        assert self._pool is not None
        self._room.acquire()  # the feeding thread waits while the model is behind
        fut = self._pool.submit(self._infer, batch)
        fut.add_done_callback(lambda _: self._room.release())
        with self._lock:
            self._running.append(fut)

    def _infer(self, batch: list[tuple[str, np.ndarray]]) -> None:
        ex = self._ex.result()
        with self._calls:
            vectors = ex(np.stack([rgb for _, rgb in batch]))
        for (digest, _), v in zip(batch, vectors):
            save_npy(_cache_path(self.cache, self.model.key, digest), v)

    def close(self) -> None:
        """Run what is left and wait for every batch."""
        if self._pool is None:
            return
        if self._pending:
            self._submit(self._pending)
            self._pending = []
        for fut in self._running:
            fut.exception()  # waits; a failure leaves those images to the features stage
        self._pool.shutdown()


@contextmanager
def streaming(cache: Path, model: Model, batch: int = 32) -> Iterator[Stream]:
    stream = Stream(cache, model, batch)
    try:
        yield stream
    finally:
        stream.close()


# ---------------------------------------------------------------- bring-your-own features

GIVEN_FORMATS = ".npz (arrays 'ids' and 'features') or .npy with its ids in <file>.ids.txt, one per line"


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
        at = row.get(rel)
        if at is None and len(by_name.get(rel.rsplit("/", 1)[-1], [])) == 1:
            at = by_name[rel.rsplit("/", 1)[-1]][0]
        picks.append(-1 if at is None else at)
    picks_a = np.array(picks, dtype=np.int64)
    out = np.zeros((len(items), matrix.shape[1]), np.float32)
    found = picks_a >= 0
    bad = np.zeros(len(items), bool)
    for s in range(0, len(items), 65_536):  # in slices: no whole-size temporaries (5 GB at a million)
        rows, src = slice(s, s + 65_536), picks_a[s:s + 65_536]
        out[rows][src >= 0] = matrix[src[src >= 0]]
        bad[rows] = found[rows] & ~np.isfinite(out[rows]).all(axis=1)
    failed = {rel: "no row for it in the --features file" for rel, ok in zip(items, found) if not ok}
    failed.update({rel: "its --features row has NaN or infinite values" for rel, b in zip(items, bad) if b})
    return out, failed
