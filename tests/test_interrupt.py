"""Interruptions: Ctrl-C says how to resume; kill -9 at any stage, then a rerun, gives the same
site as an uninterrupted build; the published site is swapped whole; a full disk fails clearly
and leaves the previous site intact."""
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT

from pipeline import demo, site

KILL_AT = [("thumbnails", 0.3), ("features", 3.0), ("tsne", 0.05), ("mosaic", 0.05), ("site", 0.0)]


@pytest.fixture(scope="module")
def small_collection(tmp_path_factory):
    return demo.prepare(tmp_path_factory.mktemp("moji40"), limit=40)


def command(images, csv_path, out, cache, *extra):
    return [sys.executable, str(ROOT / "run.py"), "--images", str(images), "--metadata", str(csv_path),
            "--out", str(out), "--cache", str(cache), "--id", "moji", *extra]


def start(cmd):
    """The build as a terminal starts it: Ctrl-C acts even when this suite runs in the background
    (a shell's `&` starts jobs with SIGINT ignored, and Python keeps an ignored SIGINT ignored)."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def wait_for(proc, text: str, timeout: float = 120) -> bool:
    """Read the build's stderr until ``text`` appears (True) or the build ends (False)."""
    seen = b""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        chunk = proc.stderr.read1(4096)
        if not chunk:
            return False
        seen += chunk
        if text.encode() in seen:
            return True
    raise TimeoutError(text)


def site_files(out: Path) -> dict[str, bytes]:
    """Every file of a site but the report (which holds timings)."""
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*"))
            if p.is_file() and p.name != "report.json"}


def test_kill_9_at_every_stage_then_rerun_gives_the_same_site(small_collection, tmp_path):
    images, csv_path = small_collection
    reference = tmp_path / "reference"
    subprocess.run(command(images, csv_path, reference, tmp_path / "cache-ref"), check=True, capture_output=True)
    out, cache = tmp_path / "site", tmp_path / "cache"
    killed = []
    for stage, delay in KILL_AT:
        proc = start(command(images, csv_path, out, cache))
        if wait_for(proc, f"… {stage}"):
            time.sleep(delay)
            proc.send_signal(signal.SIGKILL)
            killed.append(stage)
        proc.wait()
        assert stage == "site" or not out.exists()  # killed before publishing: nothing published
        proc.stderr.close()
        proc.stdout.close()
    assert len(killed) >= 4, killed  # the build was really cut short, stage after stage
    done = subprocess.run(command(images, csv_path, out, cache), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    want, got = site_files(reference), site_files(out)
    assert sorted(got) == sorted(want)
    assert [name for name in want if got[name] != want[name]] == []
    assert json.loads((out / "report.json").read_text())["items"] == 40
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache", "cache-ref", "reference", "site"]  # no leftovers


def test_ctrl_c_during_thumbnails_stops_without_finishing_them(demo_collection, tmp_path):
    proc = start(command(*demo_collection, tmp_path / "site", tmp_path / "cache"))
    assert wait_for(proc, "… thumbnails")
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130 and b"run the same command again to resume" in err, err[-2000:]
    made = list((tmp_path / "cache" / "thumbs").rglob("*.cell.jpg"))
    assert len(made) < 120  # the images not started yet were dropped, not decoded first


def test_ctrl_c_stops_cleanly_and_says_how_to_resume(small_collection, tmp_path):
    proc = start(command(*small_collection, tmp_path / "site", tmp_path / "cache"))
    assert wait_for(proc, "… features")
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err[-2000:]
    assert b"run the same command again to resume" in err and b"Traceback" not in err
    assert not (tmp_path / "site").exists()
    assert list(tmp_path.glob(".site.*")) == []


def test_publish_swaps_whole_and_keeps_the_old_site_on_failure(tmp_path):
    out = tmp_path / "site"
    out.mkdir()
    (out / "index.html").write_text("old")
    site.write_marker(out)  # published by an earlier build
    with pytest.raises(FileNotFoundError):
        site.publish(tmp_path / "missing-staging", out)
    assert (out / "index.html").read_text() == "old" and sorted(os.listdir(tmp_path)) == ["site"]
    with pytest.raises(RuntimeError):
        with site.staging_dir(out) as staging:
            (staging / "index.html").write_text("half")
            raise RuntimeError("the build failed here")
    assert sorted(os.listdir(tmp_path)) == ["site"]
    with site.staging_dir(out) as staging:
        (staging / "index.html").write_text("new")
        site.publish(staging, out)
    assert (out / "index.html").read_text() == "new" and sorted(os.listdir(tmp_path)) == ["site"]


def test_leftovers_of_a_killed_build_are_cleaned_and_a_half_swap_undone(tmp_path):
    dead, dead2 = (subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                                  capture_output=True, text=True).stdout.strip() for _ in range(2))
    out = tmp_path / "site"
    (tmp_path / f".site.old-{dead}").mkdir()  # killed between the two renames of publish
    (tmp_path / f".site.old-{dead}" / "index.html").write_text("old")
    site.write_marker(tmp_path / f".site.old-{dead}")  # a published site carries the marker
    (tmp_path / f".site.building-{dead}").mkdir()
    (tmp_path / f".site.building-{dead}" / site.MARKER).write_text('{"to')  # killed while marking it
    (tmp_path / f".site.building-{os.getppid()}").mkdir()  # a live build's: left alone
    (tmp_path / f".site.old-{dead2}").mkdir()  # a dead pid's look-alike holding a user's file
    (tmp_path / f".site.old-{dead2}" / "notes.txt").write_text("mine")
    with site.staging_dir(out):
        pass
    assert (out / "index.html").read_text() == "old"
    assert sorted(os.listdir(tmp_path)) == [f".site.building-{os.getppid()}", f".site.old-{dead2}", "site"]


def test_a_deletion_cut_short_keeps_the_marker_so_the_next_build_finishes_it(tmp_path, monkeypatch):
    """A build killed while it deletes a leftover (seen: the next build's site stage killed during
    its clean-up) must leave a folder that still proves it is Salon's: the marker goes last."""
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    left = tmp_path / f".site.building-{dead}"
    for sub in ("assets", "data", "iiif", "tiles"):
        (left / sub).mkdir(parents=True)
        (left / sub / "f.json").write_text("{}")
    (left / "index.html").write_text("x")
    site.write_marker(left)
    real = shutil.rmtree

    def cut_short(path, *args, **kwargs):
        real(path, *args, **kwargs)
        raise KeyboardInterrupt  # killed after the first folder
    monkeypatch.setattr(site.shutil, "rmtree", cut_short)
    with pytest.raises(KeyboardInterrupt):
        site._remove(left)
    monkeypatch.undo()
    assert site.is_salon_site(left) and len(os.listdir(left)) < 6
    with site.staging_dir(tmp_path / "site"):
        pass
    assert os.listdir(tmp_path) == []


def limited(megabytes: int):
    """Run the child with a file-size limit: writes past it fail (EFBIG) as on a full disk."""
    def apply():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (megabytes << 20, megabytes << 20))
    return apply


def test_file_size_limit_fails_clearly_and_keeps_the_previous_site(small_collection, built_site, tmp_path):
    """With a 1 MB limit per file (ulimit -f), writing the image-search model fails as a full disk would."""
    import shutil
    out = tmp_path / "site"
    shutil.copytree(built_site, out)
    before = site_files(out)
    r = subprocess.run(command(*small_collection, out, tmp_path / "cache"), capture_output=True, text=True,
                       preexec_fn=limited(1))
    assert r.returncode == 2, r.stderr[-3000:]
    assert "error: a file grew past the file-size limit" in r.stderr and "Traceback" not in r.stderr
    assert site_files(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache", "site"]


@pytest.fixture
def small_disk(tmp_path, built_site):
    """A tmpfs with room for the built site and half as much again, not for a second copy (needs the
    right to mount, as root in CI containers; skipped otherwise)."""
    disk = tmp_path / "disk"
    disk.mkdir()
    size_kb = sum(p.stat().st_size for p in built_site.rglob("*") if p.is_file()) * 3 // 2 // 1024
    if subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(disk)],
                      capture_output=True).returncode:
        pytest.skip("cannot mount a small tmpfs here")
    yield disk
    subprocess.run(["umount", str(disk)], check=True)


def test_full_disk_fails_clearly_and_keeps_the_previous_site(small_collection, built_site, small_disk):
    import shutil
    out = small_disk / "site"
    shutil.copytree(built_site, out)  # no room for a second copy beside it
    before = site_files(out)
    r = subprocess.run(command(*small_collection, out, small_disk / "cache"), capture_output=True, text=True)
    assert r.returncode == 2, r.stderr[-3000:]
    assert "error: the disk is full" in r.stderr and "Traceback" not in r.stderr
    assert site_files(out) == before
    assert sorted(p.name for p in small_disk.iterdir()) == ["cache", "site"]


def test_a_ctrl_c_a_library_dropped_stops_the_build_at_the_next_stage(monkeypatch):
    """A KeyboardInterrupt raised inside a C library's callback is printed and dropped by ctypes
    (it once let an interrupted build finish); the stage it came in ends by raising it again."""
    from pipeline import report
    monkeypatch.setattr(report, "_interrupted", False)  # restored after the test
    rep = report.Report(settings={})
    with pytest.raises(KeyboardInterrupt):
        with rep.stage("pca"):
            try:
                report.on_interrupt(signal.SIGINT, None)
            except KeyboardInterrupt:
                pass  # what ctypes does with it
    with pytest.raises(KeyboardInterrupt):
        with rep.stage("tsne"):
            raise AssertionError("a stage started after Ctrl-C")
