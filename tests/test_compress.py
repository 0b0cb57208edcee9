"""Pre-compressed copies of the large files (pipeline/compress.py), served by `npm start`'s http-server."""
from __future__ import annotations

import gzip
import json
import os
import shlex
import socket
import subprocess
import time
import urllib.request

import brotli
import pytest
from conftest import ROOT

from pipeline import compress


def test_copies_decompress_to_the_originals_and_are_cached_by_content(tmp_path):
    site, cache = tmp_path / "site", tmp_path / "cache"
    (site / "data").mkdir(parents=True)
    (site / "tiles").mkdir()
    text = json.dumps([{"title": f"artwork {i}", "tags": ["cat", "face", str(i % 17)]} for i in range(4000)]).encode()
    (site / "data" / "big.json").write_bytes(text)
    (site / "data" / "small.json").write_bytes(b"[1, 2, 3]")
    (site / "data" / "noise.bin").write_bytes(os.urandom(200_000))
    (site / "tiles" / "big.json").write_bytes(text)
    got = compress.precompress(site, cache)
    assert gzip.decompress((site / "data" / "big.json.gz").read_bytes()) == text
    assert brotli.decompress((site / "data" / "big.json.br").read_bytes()) == text
    assert got["files"] == 2 and got[".br"] < got[".gz"] < got["bytes"]
    assert not (site / "data" / "small.json.gz").exists()      # too small to matter
    assert not (site / "data" / "noise.bin.br").exists()       # random bytes do not compress: no copy
    assert not (site / "tiles" / "big.json.gz").exists()       # image folders are not walked
    # a second site with the same content reuses the cached copies (hard links: same inode)
    other = tmp_path / "other"
    (other / "data").mkdir(parents=True)
    (other / "data" / "big.json").write_bytes(text)
    compress.precompress(other, cache)
    assert (other / "data" / "big.json.br").stat().st_ino == (site / "data" / "big.json.br").stat().st_ino


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def served(built_site):
    """The built site served with the flags of package.json's start script (on a free port)."""
    start = shlex.split(json.loads((ROOT / "package.json").read_text())["scripts"]["start"])
    assert start[:2] == ["http-server", "site"] and "--brotli" in start and "--gzip" in start
    port = _free_port()
    flags = start[2:]
    flags[flags.index("-p") + 1] = str(port)
    args = [str(ROOT / "node_modules" / ".bin" / "http-server"), str(built_site), *flags, "-s"]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}/"
    for _ in range(600):
        try:
            urllib.request.urlopen(base + "index.html", timeout=2)
            break
        except OSError:
            assert proc.poll() is None, "http-server exited"
            time.sleep(0.1)  # waiting for the server to listen, polled
    yield built_site, base
    proc.terminate()
    proc.wait(timeout=10)


def fetch(url, encoding):
    req = urllib.request.Request(url, headers={"Accept-Encoding": encoding} if encoding else {})
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.headers.get("Content-Encoding"), r.headers.get("Content-Type"), r.read()


def test_npm_start_serves_the_copies_with_the_original_type(served):
    site, base = served
    report = json.loads((site / "report.json").read_text())["compressed"]
    assert "assets/ort/ort-wasm-simd-threaded.wasm" in report["large"]
    wasm = (site / "assets/ort/ort-wasm-simd-threaded.wasm").read_bytes()
    enc, kind, body = fetch(base + "assets/ort/ort-wasm-simd-threaded.wasm", "gzip, deflate, br")
    assert (enc, kind) == ("br", "application/wasm") and brotli.decompress(body) == wasm
    assert len(body) < len(wasm) / 4
    enc, kind, body = fetch(base + "assets/ort/ort-wasm-simd-threaded.wasm", "gzip")
    assert (enc, kind) == ("gzip", "application/wasm") and gzip.decompress(body) == wasm
    enc, _, body = fetch(base + "assets/ort/ort-wasm-simd-threaded.wasm", None)
    assert enc is None and body == wasm
    model = (site / "data/image-search/model.onnx").read_bytes()
    enc, _, body = fetch(base + "data/image-search/model.onnx", "br")
    assert enc == "br" and brotli.decompress(body) == model
