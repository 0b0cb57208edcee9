"""Rules the build shares with the page, read from the one file both use (templates/assets/rules.json,
published as site/assets/rules.json and read there by assets/js/rules.js)."""
from __future__ import annotations

import json
from pathlib import Path

RULES_FILE = Path(__file__).resolve().parent.parent / "templates" / "assets" / "rules.json"
RULES: dict = json.loads(RULES_FILE.read_text("utf-8"))


def chars(ranges: list[list[int]]) -> str:
    """The characters of inclusive code-point ranges, as one string."""
    return "".join(chr(c) for lo, hi in ranges for c in range(lo, hi + 1))


FOLD_MAP = str.maketrans(RULES["fold"]["map"])
URL = RULES["url"]
URL_TRIM = chars(URL["trim"])
URL_FORBIDDEN = frozenset(chars(URL["forbidden"]) + URL["forbidden_chars"])
URL_SCHEMES = tuple(URL["schemes"])
FACET = RULES["facet"]
