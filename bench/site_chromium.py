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
        def data_bytes(*only: str) -> tuple[int, list]:
            """Bytes of data/ files as sent (the .br copies http-server serves), largest first."""
            sent = page.evaluate("""() => performance.getEntriesByType('resource')
                .map((e) => [e.encodedBodySize, new URL(e.name).pathname.replace(/^\\//, '')])""")
            data = [(n, u) for n, u in sent if u.startswith("data/") and (not only or u in only)]
            return sum(n for n, _ in data), sorted(data, reverse=True)[:6]
        t = time.perf_counter()
        page.goto(base + "index.html")
        page.wait_for_selector("body[data-painted=true]", timeout=600_000)
        out["painted_s"] = round(time.perf_counter() - t, 2)
        # what the first paint waits for (tests/test_layouts_browser.py holds the rest back and it paints)
        out["first_paint_data_bytes"], _ = data_bytes("data/collection.json", "data/columns/cell.bin")
        page.wait_for_selector("body[data-ready=true]", timeout=600_000)
        out["ready_s"] = round(time.perf_counter() - t, 2)
        out["data_bytes_by_ready"], out["largest_data_by_ready"] = data_bytes()
        wait_settled(page, 600_000)
        out["settled_s"] = round(time.perf_counter() - t, 2)

        def timed(action: str, state: str) -> float:
            """In the page: from the action to the first frame painted after its state holds (rAF
            after rAF), so Playwright's own round trips are not counted."""
            return round(page.evaluate("""async ([action, state]) => {
                const frame = () => new Promise((r) => requestAnimationFrame(r));
                const act = new Function(action), done = new Function(`return (${state})()`);
                const t0 = performance.now();
                act();
                while (!done()) await frame();
                await frame();
                return performance.now() - t0;
            }""", [action, state]), 1)

        def typed(q: str) -> str:  # what a keystroke does: the box's value changes, an input event
            return (f"const b = document.getElementById('search'); b.value = {json.dumps(q)};"
                    " b.dispatchEvent(new Event('input', {bubbles: true}));")

        shown = "() => window.salon.filters.q === {q} && !window.salon.app.pendingQ"
        page.focus("#search")  # the index is fetched when the visitor comes to the box
        t0 = time.perf_counter()
        out["search_first_keystroke_ms"] = timed(typed(query[:1]), shown.format(q=json.dumps(query[:1])))
        page.wait_for_selector("body[data-search-index=ready]", state="attached", timeout=600_000)
        out["search_index_ready_s"] = round(time.perf_counter() - t0, 2)
        out["search_keystrokes_ms"] = [timed(typed(query[:k]), shown.format(q=json.dumps(query[:k])))
                                       for k in range(1, len(query) + 1)]
        out["search_matches"] = page.evaluate("() => window.salon.result.count")
        out["clear_search_ms"] = timed(typed(""), shown.format(q='""'))
        facet = "document.querySelector('.facet-btn')"
        out["facet_click_ms"] = timed(f"{facet}.click()", "() => document.body.classList.contains('is-filtered')")
        out["facet_matches"] = page.evaluate("() => window.salon.result.count")
        out["facet_unclick_ms"] = timed(f"{facet}.click()", "() => !document.body.classList.contains('is-filtered')")
        wait_settled(page, 600_000)
        out["layout_switch_first_frame_ms"] = timed(
            "document.querySelector('[data-layout=tsne]').click()",
            "() => document.body.dataset.layout === 'tsne' && (window.salon.viewer.transition || window.salon.settled())")
        out["layout_switch_to_end_ms"] = round(out["layout_switch_first_frame_ms"]
                                               + timed("", "() => window.salon.settled()"), 1)
        # from the open to the record's title shown (a click on the mosaic first waits out
        # OpenSeadragon's double-click time, 300 ms, by design)
        out["record_open_ms"] = timed("window.salon.openItem(window.salon.coll.n >> 1)",
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
