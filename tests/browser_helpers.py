"""Helpers for the browser tests: serve a site folder with the project's http-server, drive
Debian's Chromium with Playwright, and collect every console error and failed request."""
from __future__ import annotations

import csv
import json
import os
import re
import shlex
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pipeline.site import fold  # noqa: F401  (the build's search folding, for the tests' expectations)

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
HTTP_SERVER = ROOT / "node_modules" / ".bin" / "http-server"
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serve(site: Path, port: int | None = None) -> Iterator[str]:
    """The site folder served as `npm start` serves it (http-server, no cache); yields the base URL.
    port: a given one (a site built for its address, IIIF ids being absolute), else a free one."""
    port = port or free_port()
    start = shlex.split(json.loads((ROOT / "package.json").read_text("utf-8"))["scripts"]["start"])
    flags = start[2:]  # after "http-server site": npm start's own flags, its port replaced
    flags[flags.index("-p") + 1] = str(port)
    proc = subprocess.Popen([str(HTTP_SERVER), str(site), *flags, "-s"],
                            cwd=ROOT, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                if proc.poll() is not None or time.time() > deadline:
                    raise RuntimeError("http-server did not start") from None
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/"
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        proc.wait(10)


class Watch:
    """Everything that went wrong on a page: console errors, page errors, failed requests,
    HTTP errors, dialogs (alert() from injected markup would land here), off-site requests."""

    def __init__(self, page, base: str):
        self.problems: list[str] = []
        self.dialogs: list[str] = []
        self.base = base
        page.on("console", lambda m: m.type == "error" and self.problems.append(f"console: {m.text}"))
        page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        page.on("requestfailed", lambda r: self.problems.append(f"request failed: {r.url} {r.failure}"))
        page.on("response", lambda r: r.status >= 400 and self.problems.append(f"HTTP {r.status}: {r.url}"))
        page.on("request", lambda r: (r.url.startswith(base) or r.url.startswith(("data:", "blob:")))
                or self.problems.append(f"off-site request: {r.url}"))

        def on_dialog(d):
            self.dialogs.append(f"{d.type}: {d.message}")
            d.dismiss()
        page.on("dialog", on_dialog)


def open_site(page, base: str, hash_: str = "", settle: bool = True) -> None:
    page.goto(base + "index.html" + hash_)
    page.wait_for_selector("body[data-ready=true]", timeout=30_000)
    if settle:
        wait_settled(page)


def wait_settled(page, timeout: float = 30_000) -> None:
    """Until the view stops moving and what it shows is loaded. The page counts a move asked for
    the next frame as unsettled too, so this never returns before a flight has begun."""
    page.wait_for_function("() => window.salon && window.salon.settled()", timeout=timeout, polling=50)


def wait_search_index(page) -> None:
    """Until the ranked text index is in (before it, search covers titles only). The page fetches
    it when the visitor first comes to the search box: this goes there."""
    page.focus("#search")
    page.wait_for_selector("body[data-search-index=ready]", state="attached", timeout=30_000)


def stem(word: str) -> str:
    """The page's plural folding (assets/js/textsearch.js stem), for the tests' expectations."""
    if len(word) <= 3 or not word.endswith("s"):
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if re.search(r"(?:x|z|ch|sh|ss)es$", word):
        return word[:-2]
    if re.search(r"(?:ss|us|is)$", word):
        return word
    return word[:-1]


def words(text: str) -> list[str]:
    """The words the text search indexes: folded, apostrophes dropped, split at non-letters, stemmed."""
    return [stem(w) for w in re.split(r"[^\w]|_", re.sub(r"['\u2019\u02bc]", "", fold(text))) if w]


def finds(query: str, text: str) -> bool:
    """Whether the text search finds `text` for a one-word query: one of its words is the query's
    word or starts with it (never a match inside a word)."""
    q = stem(fold(query).strip())
    return any(w.startswith(q) for w in words(text))


def shot(page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8-sig") as f:
        return list(csv.DictReader(f))
