"""Shared fixtures: real collections (OpenMoji artworks from the demo package, Pillow images)
and one site built from them by the real pipeline."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline import demo  # noqa: E402
from pipeline.build import Settings, build  # noqa: E402

ARTIFACTS = ROOT / "tests" / "artifacts"


def site_items(site: Path) -> list[dict]:
    """Every item record of a built site, in order (data/items/*.json holds them in chunks)."""
    import json
    chunks = sorted((site / "data" / "items").glob("*.json"), key=lambda p: int(p.stem))
    return [it for p in chunks for it in json.loads(p.read_text("utf-8"))["items"]]


@pytest.fixture(scope="session")
def demo_collection(tmp_path_factory) -> tuple[Path, Path]:
    """120 OpenMoji artworks (SVG) and their CSV: (image folder, metadata CSV)."""
    return demo.prepare(tmp_path_factory.mktemp("openmoji"), limit=120)


@pytest.fixture(scope="session")
def site_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cache")


def demo_settings(images: Path, csv: Path, out: Path, cache: Path, **kw) -> Settings:
    return Settings(images=str(images), metadata=str(csv), id="openmoji", out=out, cache=cache,
                    name="OpenMoji test", url="https://openmoji.org/library/emoji-{hexcode}/",
                    categories=["category", "subcategory"], **kw)


@pytest.fixture(scope="session")
def built_site(demo_collection, site_cache, tmp_path_factory) -> Path:
    """The site folder of the demo collection, built once per test session."""
    out = tmp_path_factory.mktemp("built") / "site"
    build(demo_settings(*demo_collection, out, site_cache))
    return out


# ---- browser tests: one Chromium per test module, the built demo site served on 127.0.0.1 ----

@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    from browser_helpers import CHROMIUM, CHROMIUM_ARGS
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def base(built_site):
    from browser_helpers import serve
    with serve(built_site) as url:
        yield url


@pytest.fixture(scope="module")
def rows(demo_collection) -> dict[str, dict[str, str]]:
    """The demo collection's CSV rows by file name."""
    from browser_helpers import read_csv
    return {r["filename"]: r for r in read_csv(demo_collection[1])}
