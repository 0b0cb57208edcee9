"""Untrusted text (file names, CSV values, reasons that quote them) made safe for a terminal."""
from __future__ import annotations

import unicodedata

# bidirectional overrides and isolates reorder what the curator reads (a name can show as another)
_BIDI_CONTROLS = {"LRE", "RLE", "LRO", "RLO", "PDF", "LRI", "RLI", "FSI", "PDI"}


def _safe_char(c: str) -> str:
    category = unicodedata.category(c)
    if category == "Cc" or (category == "Cf" and unicodedata.bidirectional(c) in _BIDI_CONTROLS):
        return " "  # escapes (ESC, CSI), newlines, tabs, bidi overrides
    if category == "Cs":
        return "\ufffd"  # a non-UTF-8 byte of a file name: printing it would raise
    return c


def plain(text: object) -> str:
    """One line of text with no control characters: each becomes a space, runs of spaces one."""
    return " ".join("".join(map(_safe_char, str(text))).split())


def plain_lines(text: object) -> str:
    """A message of several lines whose parts may be untrusted: each line made plain, its indent kept."""
    return "\n".join(" " * (len(line) - len(line.lstrip(" "))) + plain(line) for line in str(text).split("\n"))
