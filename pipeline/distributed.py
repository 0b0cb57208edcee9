"""Where the image-bound stages run: on this machine's threads, or as tasks on a Dask cluster.

Thumbnails and features hand their work to ``Executor.run_batches(fn, batches, on_result)``:
``fn(batch)`` runs on a worker (a local thread, or a Dask worker process anywhere) and returns
plain data (thumbnail bytes, feature vectors); ``on_result(batch, result)`` runs here, in the
client, as each batch comes back, and writes it into the content-keyed cache. So workers need
to read the inputs (shared filesystem) but never write anything, and a client killed mid-run
keeps every batch that came back: a rerun sends out only what is missing. Where every worker
sees this build's cache folder (a local cluster, or a shared filesystem: the probe checks),
workers write their results into it themselves, with the same atomic writes as a local build,
and send nothing back: the client then does no per-item work.

``--dask ADDRESS`` connects to a running scheduler; ``--workers N`` starts a LocalCluster of N
processes here. A worker lost mid-run is Dask's business: its tasks run again elsewhere, and
since every task is a pure function of its inputs, the output is the same as a local build.
"""
from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from functools import partial
from itertools import islice
from pathlib import Path
from typing import Any, TypeVar

from tqdm import tqdm

from . import UserError, __version__

B = TypeVar("B", bound=Sequence)
CONNECT_TIMEOUT = 5          # seconds to reach a scheduler before giving up (exit 2)
WORKERS_TIMEOUT = 60         # seconds to wait for a scheduler's first worker
PROBE_FILES = 16             # input files every worker is asked to open before real work
TEST_DELAY_ENV = "SALON_TEST_TASK_DELAY"  # tests only: seconds each task sleeps on its worker

_CACHE: dict[str, Any] = {}
_CACHE_LOCK = threading.Lock()


def worker_cached(key: str, factory: Callable[[], Any]) -> Any:
    """One object per process under ``key`` (a loaded model): made on first use, then kept, so
    each worker loads the model once however many batches it runs."""
    with _CACHE_LOCK:
        if key not in _CACHE:
            _CACHE[key] = factory()
        return _CACHE[key]


def batched(items: Sequence, size: int) -> list[list]:
    return [list(items[i:i + size]) for i in range(0, len(items), max(1, size))]


def _task(fn: Callable[[Any], Any], batch: Any) -> Any:
    delay = float(os.environ.get(TEST_DELAY_ENV) or 0)
    if delay:  # lets the tests kill a worker while it holds work
        time.sleep(delay)
    return fn(batch)


def environment() -> dict[str, str]:
    """Versions that decide the bytes of a thumbnail or a feature vector: a worker must match."""
    import numpy
    import PIL
    import pyvips
    env = {"salon": __version__, "python": "{}.{}".format(*sys.version_info[:2]), "numpy": numpy.__version__,
           "pillow": PIL.__version__, "libvips": ".".join(str(pyvips.version(i)) for i in range(3))}
    try:
        import onnxruntime
        env["onnxruntime"] = onnxruntime.__version__
    except ImportError:
        pass
    return env


def probe(paths: list[str], token: tuple[str, str] | None = None) -> dict[str, Any]:
    """Run on each worker: the first of ``paths`` it cannot read (with why), its versions, and
    whether it reads ``token`` (path, text): the client's cache folder is its cache folder too."""
    try:
        sees = token is not None and Path(token[0]).read_text() == token[1]
    except OSError:
        sees = False
    for p in paths:
        try:
            if os.path.isdir(p):
                os.listdir(p)
            else:
                with open(p, "rb") as f:
                    f.read(1)
        except OSError as e:
            return {"unreadable": [p, e.strerror or type(e).__name__], "env": environment(), "cache": sees}
    return {"unreadable": None, "env": environment(), "cache": sees}


def probe_paths(root: Path, rels: Sequence[str], count: int = PROBE_FILES) -> list[str]:
    """The image folder and up to ``count`` of its files, spread over the list."""
    step = max(1, len(rels) // count)
    return [str(root)] + [str(root / r) for r in list(rels)[::step][:count]]


class Executor:
    """Runs ``fn`` over batches on local threads (this base class) and reports as they finish."""

    name = "local"
    shared: Path | None = None  # a cache folder the workers write themselves (see the module's note)

    def __init__(self, threads: int | None = None):
        self.threads = threads or os.cpu_count() or 2

    def slots(self) -> int:
        """How many batches can run at once (to size batches)."""
        return self.threads

    def check_inputs(self, root: Path, rels: Sequence[str], cache: Path) -> None:
        """Local threads read what this process reads: nothing to check."""

    def run_batches(self, fn: Callable[[B], Any], batches: Iterable[B], on_result: Callable[[B, Any], None],
                    desc: str, total: int | None = None, unit: str = "img") -> None:
        """``on_result(batch, fn(batch))`` for every batch, in the order they finish; at most
        2 batches per thread are in flight, so results never pile up in memory."""
        it = iter(batches)
        with ThreadPoolExecutor(self.threads) as pool, _bar(desc, total, unit) as bar:
            running: dict[Future, B] = {}

            def submit(n: int) -> None:
                for b in islice(it, n):
                    running[pool.submit(fn, b)] = b

            submit(2 * self.threads)
            while running:
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for f in done:
                    batch = running.pop(f)
                    on_result(batch, f.result())
                    bar.update(len(batch))
                submit(len(done))

    def close(self) -> None:
        pass

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class DaskExecutor(Executor):
    """Batches as Dask tasks; results gathered here as they complete (``as_completed``)."""

    name = "dask"

    def __init__(self, client: Any, cluster: Any = None):
        self.client, self.cluster = client, cluster
        self.checked = False

    def slots(self) -> int:
        return max(1, sum(self.client.nthreads().values()))

    def check_inputs(self, root: Path, rels: Sequence[str], cache: Path) -> None:
        """Before real work: every worker opens the image folder and a spread of its files,
        and runs the same versions as this process (else the output would differ). When every
        worker also reads a token written into ``cache``, they write their results there."""
        import secrets

        from .cache import write_bytes
        paths = probe_paths(root, rels)
        here = environment()
        token = (str(cache / f".dask-probe-{os.getpid()}"), secrets.token_hex(16))
        write_bytes(Path(token[0]), token[1].encode())
        try:
            answers = self.client.run(probe, paths, token)
        except ModuleNotFoundError as e:
            raise UserError(f"the Dask workers cannot import Salon ({e}): install Salon, the same version, "
                            "on every worker (or start them from its folder)") from None
        finally:  # read or not, the token is done with: it never stays in the cache
            Path(token[0]).unlink(missing_ok=True)
        for worker, got in sorted(answers.items()):
            if got["unreadable"]:
                path, why = got["unreadable"]
                raise UserError(f"Dask worker {worker} cannot read {path} ({why}). Workers read the "
                                "images from the same paths as this machine: mount the image folder "
                                "on every worker at the same path (a shared filesystem).")
            diff = [f"{k} {v} here, {got['env'].get(k, 'missing')} on the worker"
                    for k, v in here.items() if got["env"].get(k) != v]
            if diff:
                raise UserError(f"Dask worker {worker} runs other versions ({'; '.join(diff)}): "
                                "install the same Salon environment on every worker, so that the "
                                "site is the same with or without Dask.")
        self.shared = cache if answers and all(got["cache"] for got in answers.values()) else None
        self.checked = True

    def run_batches(self, fn: Callable[[B], Any], batches: Iterable[B], on_result: Callable[[B, Any], None],
                    desc: str, total: int | None = None, unit: str = "img") -> None:
        """Submit a window of batches (4 per worker thread), gather each as it completes, write
        it (``on_result``) and release it on the cluster, then submit the next one."""
        from distributed import as_completed
        it = iter(batches)
        running: dict[str, B] = {}
        pending = as_completed(loop=self.client.loop)

        def submit(n: int) -> None:
            for b in islice(it, n):
                f = self.client.submit(_task, fn, b, pure=False)
                running[f.key] = b
                pending.add(f)

        with _bar(desc, total, unit) as bar:
            submit(4 * self.slots())
            for f in pending:
                batch = running.pop(f.key)
                result = f.result()  # a task that failed on 3 workers raises here
                f.release()
                on_result(batch, result)
                bar.update(len(batch))
                submit(1)

    def close(self) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def _bar(desc: str, total: int | None, unit: str) -> tqdm:
    return tqdm(total=total, desc=desc, unit=unit, leave=False)


def executor(address: str | None = None, workers: int | None = None) -> Executor:
    """Local threads, a client of the Dask scheduler at ``address``, or a LocalCluster of
    ``workers`` processes. An unreachable scheduler is a UserError within CONNECT_TIMEOUT s."""
    if address and workers:
        raise UserError("give --dask ADDRESS (a running cluster) or --workers N (a local one), not both")
    if not address and not workers:
        return Executor()
    if workers is not None and workers < 1:
        raise UserError(f"--workers {workers}: give a number of processes, 1 or more")
    import logging

    from distributed import Client, LocalCluster
    cluster = None
    if workers:
        # one thread per process: the work is CPU-bound, and libvips and the model use their own threads
        # Dask's nanny gives its workers MALLOC_TRIM_THRESHOLD_, which also freezes glibc's mmap
        # threshold: each image buffer is then mapped and page-faulted afresh (the workers spent
        # twice the system time of a local build); they keep the allocator a local build has
        import dask
        environ = {k: v for k, v in dask.config.get("distributed.nanny.pre-spawn-environ").items()
                   if not k.startswith("MALLOC_")}
        # the scheduler and the nannies run in this process, beside the build: their watching (event
        # loop ticks every 20 ms, memory every 100 ms) and the workers' sampling profiler took ~5 %
        # of a core here; slower, they leave the cores to the images
        quiet = {"distributed.worker.profile.enabled": False, "distributed.admin.tick.interval": "500ms",
                 "distributed.worker.memory.monitor-interval": "1s", "distributed.admin.system-monitor.interval": "2s"}
        with dask.config.set({"distributed.nanny.pre-spawn-environ": environ, **quiet}):
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                                   dashboard_address="127.0.0.1:0", silence_logs=logging.ERROR)
        address = cluster.scheduler_address
    try:
        client = Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as e:
        if cluster is not None:
            cluster.close()
        raise UserError(f"cannot reach the Dask scheduler at {address} within {CONNECT_TIMEOUT} s "
                        f"({type(e).__name__}: {str(e).splitlines()[0] if str(e) else 'no answer'}). "
                        "Is it running, and is the address (tcp://HOST:PORT) right?") from None
    try:
        client.wait_for_workers(1, timeout=WORKERS_TIMEOUT)
    except TimeoutError:
        client.close()
        raise UserError(f"the Dask scheduler at {address} has no workers (waited {WORKERS_TIMEOUT} s): "
                        "start some with `dask worker " + str(address) + "`") from None
    n = len(client.scheduler_info().get("workers", {}))
    link = client.dashboard_link if _has_dashboard(client) else "none (install bokeh for it)"
    print(f"Dask: {n} worker{'s' * (n != 1)} at {address}; dashboard: {link}", file=sys.stderr)
    return DaskExecutor(client, cluster)


def _has_dashboard(client: Any) -> bool:
    return bool(client.scheduler_info().get("services", {}).get("dashboard"))


# ---------------------------------------------------------------- the image stages as tasks
# Each stage's content-keyed cache is filled from the cluster first; the stage itself then runs
# as in a local build and finds every item cached (the same code decides every outcome).

def batch_size(todo: int, slots: int, most: int) -> int:
    """Items per task: at least 8 tasks per worker thread (a lost worker costs little, the bar
    moves), at most ``most``."""
    return max(1, min(most, -(-todo // (8 * slots))))


Made = tuple[dict, bytes | None, bytes | None, bytes | None, Any]  # outcome, cell, preview, CNN input, vector


def thumbnail_batch(root: Path, spec: Any, max_megapixels: float, model: Any, shared: Path | None,
                    batch: list[tuple[str, str]]) -> list[Made] | None:
    """On a worker: each ``(relpath, digest)``'s outcome, its cell, preview and stored CNN input
    (large images only) bytes, made by the thumbnail stage's own code in a scratch folder (the
    worker keeps nothing), and its feature vector (None: the features pass makes it): one decode
    feeds all four, as in a local build. ``model``: None for no features here. With a ``shared``
    cache folder, all of it is written there instead, and nothing returned."""
    import tempfile

    import numpy as np

    from .cache import save_npy
    from .features import _cache_path
    from .thumbnails import _make, cnn_input_path, thumbnail_paths
    out = []
    inputs: dict[str, Any] = {}  # digest -> CNN input, from the stage's sink
    sink = inputs.__setitem__ if model is not None else None
    if shared is not None:
        for rel, digest in batch:
            _make(root, shared, spec, rel, digest, max_megapixels, sink)
        if inputs:
            for digest, v in zip(inputs, worker_cached(model.key, model.load)(np.stack(list(inputs.values())))):
                save_npy(_cache_path(shared, model.key, digest), v)
        return None
    with tempfile.TemporaryDirectory(prefix="salon-thumbs-") as tmp:
        for rel, digest in batch:
            outcome = _make(root, Path(tmp), spec, rel, digest, max_megapixels, sink)
            paths = [*thumbnail_paths(Path(tmp), spec, digest),
                     cnn_input_path(Path(tmp), spec.cnn, spec.background, digest) if spec.cnn else None]
            cell, preview, cnn = (p.read_bytes() if p is not None and p.exists() else None for p in paths)
            out.append((outcome, cell, preview, cnn))
    vectors = (dict(zip(inputs, worker_cached(model.key, model.load)(np.stack(list(inputs.values())))))
               if inputs else {})
    return [(*o, vectors.get(digest)) for o, (_, digest) in zip(out, batch)]


def thumbnails(ex: Executor, root: Path, digests: dict[str, str], cache: Path, spec: Any,
               max_megapixels: float, model: Any = None) -> None:
    """Make the missing thumbnails on the cluster, writing each batch into the cache as it comes;
    with a ``model``, each new image's feature vector too, so the features pass has nothing left
    to send out (a large image's stored CNN input still comes back: the cache is a local build's)."""
    from .cache import save_npy, write_bytes, write_json
    from .features import _cache_path
    from .thumbnails import _done, _note_path, _vips_version, cnn_input_path, thumbnail_paths
    folder = f"{cache}/thumbs/{spec.folder}"
    todo = sorted({d: r for r, d in digests.items() if not _done(folder, d)
                   and not _note_path(cache, spec, d).exists()}.items())  # one task per content
    work = [(rel, d) for d, rel in todo]

    def keep(batch: list[tuple[str, str]], results: list[Made] | None) -> None:
        for (_, digest), (outcome, cell, preview, cnn, vector) in zip(batch, results or []):
            paths = [*thumbnail_paths(cache, spec, digest),
                     cnn_input_path(cache, spec.cnn, spec.background, digest) if spec.cnn else None]
            for data, path in zip((cell, preview, cnn), paths):
                if data is not None and path is not None:
                    write_bytes(path, data)
            if vector is not None:
                save_npy(_cache_path(cache, model.key, digest), vector)
            if outcome:
                write_json(_note_path(cache, spec, digest), {**outcome, "vips": _vips_version()})

    if work:
        fn = partial(thumbnail_batch, root, spec, max_megapixels, model, ex.shared)
        ex.run_batches(fn, batched(work, batch_size(len(work), ex.slots(), 64)), keep, "thumbnails", len(work))


def feature_batch(root: Path, model: Any, background: list[int], shared: Path | None,
                  batch: list[tuple[str, str, bytes | None]]) -> list[Any] | None:
    """On a worker: each image's feature vector, or why it could not be decoded (a string), from
    the CNN input the thumbnail stage stored (sent with the batch, or read from a ``shared``
    cache) or, for a small image, made again from the file. The model is loaded on the worker's
    first batch and kept. With a ``shared`` cache the vectors are saved there, nothing returned."""
    import numpy as np

    from .cache import save_npy
    from .features import _cache_path
    from .thumbnails import _png_array, cnn_input, cnn_input_path
    arrays: list[Any] = []
    for rel, digest, png in batch:
        if png is None and shared is not None:
            stored = cnn_input_path(shared, model.input_size, background, digest)
            png = stored.read_bytes() if stored.is_file() else None
        try:  # made as the local stage makes it (no cache here: the worker keeps nothing)
            arrays.append(_png_array(png) if png is not None
                          else cnn_input(root, rel, digest, None, model.input_size, background))
        except Exception as e:  # the local stage decodes it again and reports it
            arrays.append(str(e)[:200] or type(e).__name__)
    good = [a for a in arrays if not isinstance(a, str)]
    feats = iter(worker_cached(model.key, model.load)(np.stack(good)) if good else [])
    out = [a if isinstance(a, str) else next(feats) for a in arrays]
    if shared is None:
        return out
    for (_, digest, _), f in zip(batch, out):
        if not isinstance(f, str):
            save_npy(_cache_path(shared, model.key, digest), f)
    return None


def features(ex: Executor, root: Path, items: list[tuple[str, str]], cache: Path, model: Any,
             background: list[int], most: int) -> None:
    """Compute the uncached feature vectors on the cluster, saving each batch as it comes."""
    from .cache import save_npy
    from .features import _cache_path
    from .thumbnails import cnn_input_path
    todo = sorted({d: r for r, d in items if not _cache_path(cache, model.key, d).exists()}.items())
    work = [(rel, d) for d, rel in todo]

    def keep(batch: list[tuple[str, str, bytes | None]], results: list[Any] | None) -> None:
        for (_, digest, _), f in zip(batch, results or []):
            if not isinstance(f, str):
                save_npy(_cache_path(cache, model.key, digest), f)

    def with_inputs(batch: list[tuple[str, str]]) -> list[tuple[str, str, bytes | None]]:
        """The batch with each image's stored CNN input, read as the batch is sent (not all at once)."""
        if ex.shared:  # the workers read them there
            return [(rel, d, None) for rel, d in batch]
        stored = [cnn_input_path(cache, model.input_size, background, d) for _, d in batch]
        return [(rel, d, p.read_bytes() if p.is_file() else None) for (rel, d), p in zip(batch, stored)]

    if work:
        fn = partial(feature_batch, root, model, background, ex.shared)
        batches = (with_inputs(b) for b in batched(work, batch_size(len(work), ex.slots(), most)))
        ex.run_batches(fn, batches, keep, "features", len(work))
