"""Bytes Chromium transfers for search by image's files, served by http-server as `npm start` serves
them, from a built site with and without the pre-compressed copies (pipeline/compress.py).

  .venv/bin/python bench/search_libs/transfer.py SITE
"""
from __future__ import annotations

import json
import shlex
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def serve(site: Path, flags: list[str]) -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([str(ROOT / "node_modules/.bin/http-server"), str(site), *flags, "-p", str(port), "-s"])
    base = f"http://127.0.0.1:{port}/"
    for _ in range(300):
        try:
            urllib.request.urlopen(base + "index.html", timeout=2)
            return proc, base
        except OSError:
            time.sleep(0.1)
    raise SystemExit("http-server did not start")


def measure(base: str, files: list[str]) -> dict:
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=["--no-sandbox"])
        page = browser.new_page()
        page.goto(base + "index.html")
        got = page.evaluate("""async (files) => {
            const out = {};
            for (const f of files) { const r = await fetch(f, {cache: 'no-store'}); await r.arrayBuffer();
              out[f] = r.headers.get('content-encoding') || 'identity'; }
            for (const e of performance.getEntriesByType('resource'))
              for (const f of files) if (e.name.endsWith(f)) out[f] += ' ' + e.encodedBodySize;
            return out; }""", files)
        browser.close()
    return got


def main() -> None:
    site = Path(sys.argv[1])
    c = json.loads((site / "data/collection.json").read_text())
    d = c["image_search"]
    files = [d["model"]["file"], d["vectors"]["file"], d["pca"]["file"],
             *[d["runtime"]["dir"] + f for f in ("ort.wasm.min.mjs", "ort-wasm-simd-threaded.mjs",
                                                 "ort-wasm-simd-threaded.wasm")], c["text_index"]]
    start = shlex.split(json.loads((ROOT / "package.json").read_text())["scripts"]["start"])
    flags = [f for f in start[2:] if f not in ("-p", "8080")]
    for name, fl in (("before (no copies served)", [f for f in flags if f not in ("--brotli", "--gzip")]),
                     ("after (npm start: --brotli --gzip)", flags)):
        proc, base = serve(site, fl)
        try:
            got = measure(base, files)
        finally:
            proc.terminate()
        total = sum(int(v.split()[1]) for v in got.values())
        print(f"{name}: {total / 1e6:.2f} MB")
        for f, v in got.items():
            print(f"  {f}: {v} (file {(site / f).stat().st_size} bytes)")


if __name__ == "__main__":
    main()
