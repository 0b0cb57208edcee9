"""The rules the build shares with the page (templates/assets/rules.json): the build's side against
the same case tables `node --test tests/js/` checks the page's side with, and both sides against each
other on every character Unicode assigns."""
from __future__ import annotations

import json
import shutil
import subprocess
import unicodedata
from pathlib import Path

import pytest

from pipeline.metadata import _kind, safe_url
from pipeline.rules import FACET, RULES_FILE
from pipeline.site import fold

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"


def cases(name: str) -> list[dict]:
    return json.loads((FIXTURES / name).read_text("utf-8"))["cases"]


@pytest.mark.parametrize("case", cases("folding.json"), ids=lambda c: c["why"])
def test_fold(case):
    assert fold(case["in"]) == case["out"]


def test_every_spelling_of_strasse_finds_die_strasse():
    for query in ("strasse", "straße", "STRASSE", "Straße", "STRAẞE"):
        assert fold(query) in fold("Die Straße"), query


@pytest.mark.parametrize("case", cases("safe_url.json"), ids=lambda c: c["why"])
def test_safe_url(case):
    assert safe_url(case["in"]) == case["out"]


def test_facet_threshold_is_the_shared_one():
    lo, hi = FACET["min_values"], FACET["max_values"]
    rows = 4 * hi  # enough rows that the share of distinct values never decides

    def kind(distinct: int) -> str:
        return _kind("colour", [f"v{i % distinct}" for i in range(rows)])

    assert [kind(lo - 1), kind(lo), kind(hi), kind(hi + 1)] == ["text", "category", "category", "text"]


@pytest.mark.skipif(not shutil.which("node"), reason="needs node")
def test_the_page_folds_every_character_as_the_build_does(tmp_path):
    """fold() and rules.js' fold() agree on every assigned code point (145,000), not just the table."""
    cps = [c for c in range(0x110000) if unicodedata.category(chr(c)) not in ("Cn", "Cs", "Co")]
    (tmp_path / "cps.json").write_text(json.dumps(cps))
    script = tmp_path / "fold.mjs"
    script.write_text(
        "import fs from 'node:fs';\n"
        f"import {{ useRules, fold }} from {json.dumps((ROOT / 'templates/assets/js/rules.js').as_uri())};\n"
        f"useRules(JSON.parse(fs.readFileSync({json.dumps(str(RULES_FILE))}, 'utf8')));\n"
        "const cps = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));\n"
        "process.stdout.write(JSON.stringify(cps.map((c) => fold(String.fromCodePoint(c)))));\n")
    out = subprocess.run(["node", str(script), str(tmp_path / "cps.json")], capture_output=True, text=True,
                         check=True, timeout=120).stdout
    page = json.loads(out)
    differ = [(hex(c), fold(chr(c)), p) for c, p in zip(cps, page) if fold(chr(c)) != p]
    assert not differ, differ[:20]
