"""A built site in headless Chromium (issue 15): time from navigation to the first paint (the
mosaic shown), to the page's ready state and to a settled first view, the data bytes fetched by
the first paint and by ready (as sent: http-server serves the .br/.gz copies), and the time of
each interaction from the action to the state it leads to (search keystroke, facet click,
layout switch to its first moving frame and to its end, record open).

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

        def data_bytes() -> tuple[int, list]:
            data = {u.removeprefix(base): n for u, n in got.items() if u.removeprefix(base).startswith("data/")}
            return sum(data.values()), sorted(((n, u) for u, n in data.items()), reverse=True)[:5]
        t = time.perf_counter()
        page.goto(base + "index.html")
        page.wait_for_selector("body[data-painted=true]", timeout=600_000)
        out["painted_s"] = round(time.perf_counter() - t, 2)
        out["data_bytes_by_paint"], out["data_files_by_paint"] = data_bytes()
        page.wait_for_selector("body[data-ready=true]", timeout=600_000)
        out["ready_s"] = round(time.perf_counter() - t, 2)
        out["bytes_by_ready"] = sum(got.values())
        out["data_bytes_by_ready"], out["largest_data_by_ready"] = data_bytes()
        wait_settled(page, 600_000)
        out["settled_s"] = round(time.perf_counter() - t, 2)

        def timed(action, state: str) -> float:
            t0 = time.perf_counter()
            action()
            page.wait_for_function(state, timeout=600_000, polling="raf")
            return round((time.perf_counter() - t0) * 1000, 1)

        filtered = "() => document.body.classList.contains('is-filtered')"
        unfiltered = "() => !document.body.classList.contains('is-filtered')"
        # the first keystroke loads the ranked index; the next ones use it
        out["search_first_keystroke_ms"] = timed(lambda: page.fill("#search", query[:1]), filtered)
        page.wait_for_function("() => window.salon.filters.text !== null", timeout=600_000)
        out["search_keystrokes_ms"] = [timed(lambda k=k: page.fill("#search", query[:k]), filtered)
                                       for k in range(2, len(query) + 1)]
        out["clear_search_ms"] = timed(lambda: page.fill("#search", ""), unfiltered)
        out["facet_click_ms"] = timed(lambda: page.click(".facet-btn >> nth=0"), filtered)
        out["facet_unclick_ms"] = timed(lambda: page.click(".facet-btn >> nth=0"), unfiltered)
        wait_settled(page, 600_000)
        out["layout_switch_first_frame_ms"] = timed(
            lambda: page.click("[data-layout=tsne]"),
            "() => document.body.dataset.layout === 'tsne' && (window.salon.viewer.transition || window.salon.settled())")
        page.wait_for_function("() => window.salon.settled()", timeout=600_000, polling="raf")
        out["layout_switch_to_end_ms"] = round(out["layout_switch_first_frame_ms"]
                                               + timed(lambda: None, "() => window.salon.settled()"), 1)
        # from the open to the record's title shown (a click on the mosaic first waits out
        # OpenSeadragon's double-click time, 300 ms, by design)
        out["record_open_ms"] = timed(lambda: page.evaluate("() => window.salon.openItem(window.salon.coll.n >> 1)"),
                                      "() => !document.getElementById('panel').hidden"
                                      " && document.getElementById('panel-title').textContent !== ''")
        browser.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("site", type=Path)
    ap.add_argument("--query", default="cat", help="typed one letter at a time")
    ap.add_argument("--json")
    o = ap.parse_args()
    res = measure(o.site, o.query)
    print(json.dumps(res, indent=1))
    if o.json:
        Path(o.json).write_text(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
