"""Search by image in Chromium: download sizes and time per query on a built site.

  .venv/bin/python bench/image_search.py SITE QUERY.jpg [QUERY2.png …] [--repeat 5]

Serves SITE with http-server, opens the page in headless Chromium, opens search by image,
uploads each query `repeat` times and prints the bytes fetched for search, the one-off load
time and the per-query times (median) the page measured: prepare (decode + resample),
model (onnxruntime-web, WASM, one thread), rank (PCA + int8 scores + sort) and total.

  .venv/bin/python bench/image_search.py --fidelity SITE [OTHER.onnx …] [--images DIR]

Fidelity of the browser's query path (no browser: the site's model.onnx run by ONNX Runtime, as
`run.py search` runs it; each OTHER.onnx too): every item's own file is queried and compared
with the build (float32 features, PCA, int8 codes). Prints the features' cosine to the build's
(min / mean, items and photos), how often the item itself comes first, P@5 of the next five by
the category column, and the overlap of the top 10 with the same query made with float32 features.
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

from pipeline.columns import read_collection

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


def fidelity(site: Path, others: list[Path], images: Path, group: str = "category") -> None:
    import numpy as np

    from pipeline import image_search
    from pipeline.model import ort_session, resolve
    index = image_search.load_index(site)
    coll = index.collection
    chunks = sorted((site / "data" / "items").glob("*.json"), key=lambda p: int(p.stem))
    items = [it for p in chunks for it in json.loads(p.read_text("utf-8"))["items"]]
    col = [f["key"] for f in coll["fields"]].index(group)
    labels = np.array([it["values"][col] for it in items])
    photos = sorted((Path(np.__file__).parent.parent / "sklearn" / "datasets" / "images").glob("*.jpg"))
    x = np.stack([image_search.pixels(index, p) for p in [images / it["id"] for it in items] + photos])
    n = len(items)
    ref = resolve().load()(x)                                  # the build's features (float32)
    ref_top = [[i for i, _ in image_search.rank(index, v, 10)] for v in (ref - index.mean) @ index.matrix.T]
    models: list[tuple[str, str | None]] = [("float32 (the build)", None),
                                            ("site model.onnx", str(site / coll["image_search"]["model"]["file"]))]
    models += [(p.name, str(p)) for p in others]
    print(f"{n} items + {len(photos)} photos; group column {group!r}")
    print("| model | bytes | cosine to float32, items min / mean | photos min | own item first | P@5 | top-10 overlap |")
    print("|---|---:|---|---|---:|---:|---:|")
    for name, file in models:
        feats = ref if file is None else ort_session(file).run(["features"], {"pixels": x.astype(np.float32)})[0]
        cos = (feats * ref).sum(1) / np.linalg.norm(feats, axis=1) / np.linalg.norm(ref, axis=1)
        tops = [[i for i, _ in image_search.rank(index, v, 10)] for v in (feats[:n] - index.mean) @ index.matrix.T]
        first = np.mean([t[0] == i for i, t in enumerate(tops)])
        p5 = np.mean([labels[[j for j in t if j != i][:5]] == labels[i] for i, t in enumerate(tops)])
        overlap = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(tops, ref_top)])
        size = f"{Path(file).stat().st_size:,}" if file else "-"
        print(f"| {name} | {size} | {cos[:n].min():.5f} / {cos[:n].mean():.5f} | {cos[n:].min():.5f} | "
              f"{first:.3f} | {p5:.4f} | {overlap:.4f} |")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("site", type=Path)
    ap.add_argument("queries", type=Path, nargs="*")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--fidelity", action="store_true", help="compare the query path with the build (no browser)")
    ap.add_argument("--images", type=Path, default=ROOT / "node_modules" / "openmoji" / "color" / "svg")
    a = ap.parse_args()
    if a.fidelity:
        sys.path.insert(0, str(ROOT))
        fidelity(a.site, a.queries, a.images)
        return
    if not a.queries:
        ap.error("give at least one query image (or --fidelity)")
    from playwright.sync_api import sync_playwright
    desc = read_collection(a.site)["image_search"]
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
            n, rows = 0, dict[str, list[dict]]()
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
    main()
