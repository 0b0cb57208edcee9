"""--dask and --workers with the real engine: a scheduler and two workers started from the
`dask` CLI (package `distributed`) on 127.0.0.1, a worker killed with SIGKILL mid-run, and the
site compared with a local build file by file."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT
from PIL import Image, ImageDraw

from pipeline import UserError, distributed
from pipeline.build import Settings, build

DASK = Path(sys.executable).parent / "dask"
DELAY = "0.4"  # seconds each task sleeps on the workers: they are still busy when one is killed


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(condition, what: str, timeout: float = 120) -> None:
    """Poll a state change (a port opening, files arriving) until it holds."""
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def cluster(tmp_path):
    """`dask scheduler` and two `dask worker` processes (one thread each, no nanny, so that a
    SIGKILL ends the worker itself); stopped at teardown."""
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": str(ROOT), distributed.TEST_DELAY_ENV: DELAY}
    logs = tmp_path / "dask-logs"
    logs.mkdir()
    procs: list[subprocess.Popen] = []

    def start(name: str, *args: str) -> subprocess.Popen:
        log = open(logs / f"{name}.log", "w")
        procs.append(subprocess.Popen([str(DASK), *args], cwd=ROOT, env=env, stdout=log, stderr=log))
        return procs[-1]

    try:
        start("scheduler", "scheduler", "--host", "127.0.0.1", "--port", str(port),
              "--dashboard-address", "127.0.0.1:0")
        _wait(lambda: _listening(port), "the scheduler's port")
        workers = [start(f"worker{i}", "worker", address, "--nthreads", "1", "--no-nanny", "--host", "127.0.0.1",
                         "--name", f"w{i}", "--local-directory", str(tmp_path / f"w{i}")) for i in range(2)]
        from distributed import Client
        with Client(address, timeout=30) as c:
            c.wait_for_workers(2, timeout=120)
        yield address, workers
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
        for p in procs:
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def _collection(folder: Path, n: int = 24) -> Path:
    """n different pictures (gradients and shapes), JPEG and PNG; small, and every eighth large
    enough for the thumbnail stage to store its CNN input (which the workers' features then use)."""
    rng = np.random.default_rng(5)
    images = folder / "images"
    images.mkdir(parents=True)
    for i in range(n):
        w, h = int(rng.integers(60, 200)), int(rng.integers(60, 200))
        if i % 8 == 0:
            w, h = w + 600, h + 600
        ramp = np.linspace(0, 1, w)[None, :, None] * rng.integers(0, 256, 3)
        im = Image.fromarray(np.broadcast_to(ramp, (h, w, 3)).astype(np.uint8))
        d = ImageDraw.Draw(im)
        for _ in range(3):
            x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
            d.ellipse((x - 20, y - 15, x + 20, y + 15), fill=tuple(int(v) for v in rng.integers(0, 256, 3)))
        im.save(images / f"p{i:02d}.{'png' if i % 3 == 0 else 'jpg'}")
    return images


def _files(site: Path) -> dict[str, bytes]:
    return {str(p.relative_to(site)): p.read_bytes() for p in sorted(site.rglob("*"))
            if p.is_file() and p.name != "report.json"}  # report.json holds timings


def _run(*args: str, **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(ROOT / "run.py"), *args], cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)


def test_dask_build_with_a_worker_killed_equals_local_build(cluster, tmp_path):
    address, workers = cluster
    images = _collection(tmp_path)
    build(Settings(images=str(images), out=tmp_path / "local", cache=tmp_path / "cache-local"))
    cache = tmp_path / "cache-dask"
    p = _run("--images", str(images), "--out", str(tmp_path / "dask"), "--cache", str(cache), "--dask", address)
    from distributed import Client
    with Client(address, timeout=30) as c:
        w0 = next(a for a, w in c.scheduler_info()["workers"].items() if w["name"] == "w0")
        # features come back batch by batch into the client's cache: once some have, and while
        # worker w0 holds a feature task, kill it
        _wait(lambda: any((cache / "features").rglob("*.npy")) or p.poll() is not None, "the first features")
        _wait(lambda: c.processing(workers=[w0]).get(w0) or p.poll() is not None, "a task on w0")
        assert p.poll() is None, "the build ended before a worker could be killed"
        os.kill(workers[0].pid, signal.SIGKILL)
    out, err = p.communicate(timeout=600)
    assert p.returncode == 0, err[-3000:]
    assert "dashboard: http" in err
    assert len(list((cache / "cnn-input").rglob("*.png"))) == 3  # the large images' CNN inputs, from the workers
    local, remote = _files(tmp_path / "local"), _files(tmp_path / "dask")
    assert sorted(local) == sorted(remote)
    assert [name for name in local if local[name] != remote[name]] == []


def test_workers_are_probed_for_the_input_paths_before_work(cluster, tmp_path):
    address, _ = cluster
    images = _collection(tmp_path, 2)
    ex = distributed.executor(address)
    cache = tmp_path / "cache"
    try:
        ex.check_inputs(images, ["p00.png", "p01.jpg"], cache)  # readable: no error
        assert ex.shared == cache and not list(cache.iterdir())  # the workers see it (this machine); token gone
        with pytest.raises(UserError, match=r"cannot read .*gone\.jpg \(No such file or directory\)"):
            ex.check_inputs(images, ["p00.png", "gone.jpg"], cache)
        assert not list(cache.iterdir())  # a refused probe leaves no token behind either
    finally:
        ex.close()


def test_results_come_back_to_the_client_where_workers_cannot_see_its_cache(cluster, tmp_path, monkeypatch):
    address, _ = cluster
    images = _collection(tmp_path, 12)
    build(Settings(images=str(images), out=tmp_path / "local", cache=tmp_path / "cache-local"))
    probed = distributed.DaskExecutor.check_inputs

    def unshared(self, *a):  # as on workers of another machine: every result is sent back
        probed(self, *a)
        self.shared = None
    monkeypatch.setattr(distributed.DaskExecutor, "check_inputs", unshared)
    came, run = [], distributed.DaskExecutor.run_batches

    def recorded(self, fn, batches, on_result, *a, **kw):
        return run(self, fn, batches, lambda b, r: (came.append(r is not None), on_result(b, r)), *a, **kw)
    monkeypatch.setattr(distributed.DaskExecutor, "run_batches", recorded)
    build(Settings(images=str(images), out=tmp_path / "dask", cache=tmp_path / "cache-dask", dask=address))
    assert came and all(came) and len(list((tmp_path / "cache-dask" / "cnn-input").rglob("*.png"))) == 2
    local, remote = _files(tmp_path / "local"), _files(tmp_path / "dask")
    assert sorted(local) == sorted(remote)
    assert [name for name in local if local[name] != remote[name]] == []


def test_unreachable_scheduler_exits_2_within_seconds(tmp_path):
    images = _collection(tmp_path, 2)
    start = time.monotonic()
    p = _run("--images", str(images), "--out", str(tmp_path / "site"), "--cache", str(tmp_path / "c"),
             "--dask", f"tcp://127.0.0.1:{_free_port()}")
    out, err = p.communicate(timeout=120)
    assert p.returncode == 2, err[-2000:]
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:" in err
    assert time.monotonic() - start < 30  # 5 s connect timeout, plus Python and library imports
    assert not (tmp_path / "site").exists()
