"""A built site in headless Chromium (issue 15): time from navigation to the page's ready state
and to a settled first view, the bytes fetched by then (as sent: http-server serves the .br/.gz
copies), and the time of a few interactions, each from the action to the state it leads to.

    .venv/bin/python bench/site_chromium.py SITE [--query WORD] [--json out.json]

Chromium is Debian's (/usr/bin/chromium), driven by Playwright; the site is served as `npm start`
serves it. Numbers are for this machine; a visitor's laptop has more cores for the page.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))


def measure(site: Path, query: str) -> dict:
    from browser_helpers import CHROMIUM, CHROMIUM_ARGS, serve, wait_settled
    from playwright.sync_api import sync_playwright
    out: dict = {"site": str(site)}
    with serve(site) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        got: dict[str, int] = {}
        page.on("response", lambda r: got.__setitem__(r.url, int(r.headers.get("content-length") or 0)))
        t = time.perf_counter()
        page.goto(base + "index.html")
        page.wait_for_selector("body[data-ready=true]", timeout=600_000)
        out["ready_s"] = round(time.perf_counter() - t, 2)
        out["bytes_by_ready"] = sum(got.values())
        out["largest_by_ready"] = sorted(((n, u.removeprefix(base)) for u, n in got.items()), reverse=True)[:5]
        wait_settled(page, 600_000)
        out["settled_s"] = round(time.perf_counter() - t, 2)

        def timed(action, state: str) -> float:
            t0 = time.perf_counter()
            action()
            page.wait_for_function(state, timeout=600_000, polling="raf")
            return round((time.perf_counter() - t0) * 1000, 1)

        out["search_keystroke_ms"] = timed(lambda: page.fill("#search", query),
                                           "() => document.body.classList.contains('is-filtered')")
        out["clear_search_ms"] = timed(lambda: page.fill("#search", ""),
                                       "() => !document.body.classList.contains('is-filtered')")
        # to the end of the animated move to the map, not to its first frame
        out["layout_switch_ms"] = timed(lambda: page.click("[data-layout=tsne]"),
                                        "() => window.salon && window.salon.settled()")
        browser.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("site", type=Path)
    ap.add_argument("--query", default="cat")
    ap.add_argument("--json")
    o = ap.parse_args()
    res = measure(o.site, o.query)
    print(json.dumps(res, indent=1))
    if o.json:
        Path(o.json).write_text(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
