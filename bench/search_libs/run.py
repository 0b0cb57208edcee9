"""Search library benchmark: index bytes, load, first-query and per-keystroke times in Chromium.

  .venv/bin/python bench/search_libs/run.py [--work DIR] [--n 100000] [--runs 3] [--libs a,b]

Makes the collection and the indexes (make_data.py, make_minisearch.js, and the build's own
pipeline/textindex_prebuild.js for the postings) unless WORK has them, serves
WORK with the libraries and the page's modules from a local HTTP server, and times each library in
a fresh headless Chromium page, --runs times (the median is reported). Prints a Markdown table and
writes WORK/results.json. See bench/README.md, "Text search library".
"""
from __future__ import annotations

import argparse
import functools
import gzip
import http.server
import json
import shutil
import statistics
import subprocess
import sys
import threading
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
LIBS = {"minisearch": "docs.json", "minisearch-json": "minisearch.json", "lunr": "lunr.json",
        "postings": "postings"}  # name -> its index in WORK (a file, or the folder of the site's files)
TYPED = ["cat face", "red heart", "flag of france", "person running", "smiling eyes", "grinning cat",
         "woman technologist", "yellow circle"]
LINKS = {  # served name -> file in the project
    "lib/minisearch.js": "node_modules/minisearch/dist/es/index.js",
    "lib/lunr.js": "node_modules/lunr/lunr.js",
    "lib/rules.js": "templates/assets/js/rules.js",
    "lib/rules.json": "templates/assets/rules.json",
    "lib/textsearch.js": "templates/assets/js/textsearch.js",
    "lib/postings.js": "templates/assets/js/postings.js",
    "lib/columns.js": "templates/assets/js/columns.js",
}
NODE_HEAP = "--max-old-space-size=12000"  # MiniSearch needs ~8 GB at a million items of ~40 words
PAGE = """<!doctype html><meta charset="utf-8"><script src="lib/lunr.js"></script>
<script type="module" src="bench.js"></script>"""


def prepare(work: Path, n: int, libs: list[str]) -> Path:
    if not (work / "docs.json").is_file() or ("lunr" in libs and not (work / "lunr.json").is_file()):
        subprocess.run([sys.executable, str(HERE / "make_data.py"), str(work), str(n), *(["--lunr"] * ("lunr" in libs))],
                       check=True)
    if "minisearch-json" in libs and not (work / "minisearch.json").is_file():
        subprocess.run(["node", NODE_HEAP, str(HERE / "make_minisearch.js"), str(work)], check=True, cwd=ROOT)
    if "postings" in libs and not (work / "postings" / "textindex.json").is_file():
        (work / "postings").mkdir(exist_ok=True)
        subprocess.run(["node", NODE_HEAP, str(ROOT / "pipeline" / "textindex_prebuild.js"), str(work / "docs.json"),
                        str(work / "postings")], check=True, cwd=ROOT)
    www = work / "www"
    shutil.rmtree(www, ignore_errors=True)
    (www / "lib").mkdir(parents=True)
    (www / "data").mkdir()
    for name, src in LINKS.items():
        shutil.copyfile(ROOT / src, www / name)
    # textsearch.js imports ./rules.js: the copies sit side by side in lib/ as in assets/js/
    shutil.copyfile(HERE / "bench.js", www / "bench.js")
    (www / "index.html").write_text(PAGE, "utf-8")
    for lib in libs:
        if lib == "postings":  # as a site holds them: data/textindex.json, its columns in data/columns/
            (www / "data" / "columns").mkdir()
            for f in (work / "postings").iterdir():
                (www / "data" / ("columns/" * (f.suffix == ".bin")) / f.name).symlink_to(f)
        else:
            (www / "data" / LIBS[lib]).symlink_to(work / LIBS[lib])
    return www


def sizes(path: Path) -> dict:
    """Bytes of an index (the sum over a folder's files), raw and compressed."""
    out: dict[str, int] = {}
    for f in sorted(path.iterdir()) if path.is_dir() else [path]:
        raw = f.read_bytes()
        found = {"bytes": len(raw), "gzip": len(gzip.compress(raw, 6, mtime=0))}
        try:
            import brotli
            found["br"] = len(brotli.compress(raw, quality=9 if len(raw) > 2**24 else 11, lgwin=24))
        except ImportError:
            pass
        for k, v in found.items():
            out[k] = out.get(k, 0) + v
    return out


def serve(www: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *a):
            pass
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(www)))
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, f"http://127.0.0.1:{srv.server_address[1]}/"


def measure(url: str, runs: int, libs: list[str]) -> dict:
    from playwright.sync_api import sync_playwright
    results: dict[str, list] = {lib: [] for lib in libs}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                    args=["--no-sandbox", "--enable-precise-memory-info"])
        for _ in range(runs):
            for lib in libs:
                page = browser.new_page()
                page.goto(url)
                page.wait_for_function("window.benchReady === true")
                results[lib].append(page.evaluate("([lib, typed]) => window.runBench(lib, typed)", [lib, TYPED]))
                r = results[lib][-1]
                print(f"{lib}: load {r['load']:.0f} ms, first query {r['firstQuery']:.1f} ms, keystrokes median "
                      f"{sorted(r['keys'])[len(r['keys']) // 2]:.1f} ms, max {max(r['keys']):.0f} ms", flush=True)
                page.close()
        browser.close()
    return results


def summarise(work: Path, results: dict) -> dict:
    out = {}
    for lib, runs in results.items():
        keys = sorted(k for r in runs for k in r["keys"])
        out[lib] = {**sizes(work / LIBS[lib]),
                    "load_ms": statistics.median(r["load"] for r in runs),
                    "first_query_ms": statistics.median(r["firstQuery"] for r in runs),
                    "key_median_ms": statistics.median(keys), "key_p95_ms": keys[int(0.95 * (len(keys) - 1))],
                    "key_max_ms": keys[-1], "heap_mb": statistics.median(r["heap"] for r in runs) / 2**20,
                    "cat_hits": runs[0]["firstHits"], "top": runs[0]["top"]}
    return out


def table(summary: dict) -> str:
    lines = ["| library | index | bytes | gzip | brotli | load | first query "
             "| per keystroke: median / p95 / max | JS heap |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    names = {"minisearch": ("MiniSearch 7.2.0", "documents, indexed in the page"),
             "minisearch-json": ("MiniSearch 7.2.0", "its serialized index, `loadJSON`"),
             "lunr": ("Lunr 2.3.9", "prebuilt in Python (`lunr` 0.8.0)"),
             "postings": ("postings.js", "MiniSearch's index as typed arrays, by the build")}
    mb = lambda b: f"{b / 1e6:.1f} MB"  # noqa: E731
    for lib, s in summary.items():
        lines.append(f"| {names[lib][0]} | {names[lib][1]} | {mb(s['bytes'])} | {mb(s['gzip'])} | "
                     f"{mb(s['br']) if 'br' in s else '-'} | {s['load_ms'] / 1000:.2f} s | {s['first_query_ms']:.1f} ms | "
                     f"{s['key_median_ms']:.1f} / {s['key_p95_ms']:.1f} / {s['key_max_ms']:.1f} ms "
                     f"| {s['heap_mb']:.0f} MB |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--work", type=Path, default=Path("/tmp/salon-search-bench"))
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--libs", default=",".join(LIBS), help=f"comma-separated, of: {', '.join(LIBS)} (default: all)")
    a = ap.parse_args()
    libs = [v for v in a.libs.split(",") if v]
    if unknown := set(libs) - set(LIBS):
        ap.error(f"unknown --libs {', '.join(sorted(unknown))}")
    www = prepare(a.work, a.n, libs)
    srv, url = serve(www)
    try:
        summary = summarise(a.work, measure(url, a.runs, libs))
    finally:
        srv.shutdown()
    (a.work / "results.json").write_text(json.dumps({"n": a.n, "typed": TYPED, "libraries": summary}, indent=1))
    print(table(summary))


if __name__ == "__main__":
    main()
