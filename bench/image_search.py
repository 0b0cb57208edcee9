"""Search by image in Chromium: download sizes and time per query on a built site.

  .venv/bin/python bench/image_search.py SITE QUERY.jpg [QUERY2.png …] [--repeat 5]

Serves SITE with http-server, opens the page in headless Chromium, opens search by image,
uploads each query `repeat` times and prints the bytes fetched for search, the one-off load
time and the per-query times (median) the page measured: prepare (decode + resample),
model (onnxruntime-web, WASM, one thread), rank (PCA + int8 scores + sort) and total.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def serve(site: Path) -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(["npx", "http-server", str(site), "-a", "127.0.0.1", "-p", str(port), "-c-1"],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    return proc, f"http://127.0.0.1:{port}/"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("site", type=Path)
    ap.add_argument("queries", type=Path, nargs="+")
    ap.add_argument("--repeat", type=int, default=5)
    a = ap.parse_args()
    from playwright.sync_api import sync_playwright
    desc = json.loads((a.site / "data" / "collection.json").read_text())["image_search"]
    print(f"items {desc['vectors']['count']}: model {desc['model']['bytes']:,} B, runtime {desc['runtime']['bytes']:,} B, "
          f"pca {desc['pca']['bytes']:,} B, vectors {desc['vectors']['bytes']:,} B")
    proc, url = serve(a.site)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=shutil.which("chromium") or "/usr/bin/chromium", args=ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            fetched: dict[str, int] = {}
            page.on("response", lambda r: fetched.__setitem__(r.url, int(r.headers.get("content-length") or 0)))
            page.goto(url + "index.html")
            page.wait_for_selector("body[data-ready=true]", timeout=120_000)
            before = dict(fetched)
            t = time.perf_counter()
            page.click("#image-search-open")
            n, rows = 0, {}
            for q in a.queries:
                for _ in range(a.repeat):
                    n += 1
                    page.set_input_files("#image-search-file", str(q))
                    page.wait_for_selector(f'#image-search[data-queries="{n}"]', state="attached", timeout=300_000)
                    if n == 1:
                        first = time.perf_counter() - t
                    rows.setdefault(q.name, []).append(page.evaluate("() => window.salonImageSearch.last.timings"))
            extra = {u: b for u, b in fetched.items() if u not in before}
            engine = {u: b for u, b in extra.items() if "/data/image-search/" in u or "/assets/ort/" in u}
            print(f"fetched for search: {sum(engine.values()):,} B in {len(engine)} files (model, runtime, PCA, "
                  f"vectors; uncompressed), plus {sum(extra.values()) - sum(engine.values()):,} B of result "
                  f"thumbnails and CSS")
            print(f"open + first result: {first:.2f} s (engine load {rows[a.queries[0].name][0]['load'] / 1000:.2f} s)")
            for name, ts in rows.items():
                med = {k: statistics.median(r[k] for r in ts[1:] or ts) for k in ("prepare", "model", "rank", "total")}
                print(f"{name}: first {ts[0]['total']:.0f} ms; then median " +
                      ", ".join(f"{k} {v:.0f} ms" for k, v in med.items()))
            browser.close()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main())
