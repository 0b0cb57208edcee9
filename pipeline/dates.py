"""Dates as curators write them, read into a year range (earliest, latest).

One definition for the whole build: the year facet, the timeline and the report all use
``year_range``. The reading is done by two libraries from the field:

* PyPI ``undate`` parses Library of Congress EDTF (``1890~``, ``189X``, ``1890/1895``,
  ``../1900``) and ISO 8601 dates into earliest and latest dates;
* PyPI ``edtf``'s ``text_to_edtf`` turns curators' prose ("c. 1890", "1890s", "19th century",
  "ca. 1650-1700", "before 1900", "3 May 1890") into EDTF, which ``undate`` then reads.

In front of them a small normaliser (``_normalise``) covers what they get wrong: en and em
dashes between years ("1890–1895" would lose its start), "between 1890 and 1895", "19th c." (read as a day of the
month), and century ranges ("17th-18th century", read as the 17th only). Plain years and ISO
dates take a direct path: the same result, without the parsers' 1-2 ms per value (100,000
distinct ISO dates would cost minutes).
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

# what curators write for "no date": empty for the timeline, not reported as unreadable
NO_DATE = {"n.d.", "nd", "n. d.", "s.d.", "s. d.", "o.j.", "o. j.", "undated", "unknown", "unbekannt",
           "inconnu", "sans date", "?", "-", "--", "—", "none", "null", "n/a", "na"}
WIDEST = 2000  # years: a wider range ("XXXX", an open "../..") says nothing about when

_ISO = re.compile(r"^(-?\d{4})(?:-(\d{2})(?:-(\d{2})(?:[T ][0-9:.+Z-]*)?)?)?$")
_DASHES = re.compile(r"\s*[\u2010-\u2015\u2212]\s*")
_BETWEEN = re.compile(r"^between\s+(\S+)\s+and\s+(\S+)$", re.I)
_CENTURY_ABBR = re.compile(r"\b(\d{1,2})(st|nd|rd|th)\s*c\.?(?=\s|$|,)", re.I)
_CENTURY_RANGE = re.compile(r"^(?:(?:c\.|ca\.?|circa)\s*)?(\d{1,2})(?:st|nd|rd|th)\s*(?:century\s*)?-\s*"
                            r"(\d{1,2})(?:st|nd|rd|th)\s+centur(?:y|ies)$", re.I)


@dataclass(frozen=True)
class YearRange:
    earliest: int | None   # None: open start ("before 1900")
    latest: int | None     # None: open end ("after 1900")

    @property
    def year(self) -> int:
        """The single year the facet and the timeline place the item at: its earliest year
        (archives sort by start), else its latest for an open start."""
        return self.earliest if self.earliest is not None else self.latest  # type: ignore[return-value]


@lru_cache(maxsize=65536)
def year_range(value: str) -> YearRange | None:
    """The years a date string covers, or None if it is empty, says "no date" or cannot be read."""
    text = value.strip()
    if not text or text.lower() in NO_DATE:
        return None
    iso = _ISO.match(text)
    if iso and (iso.group(2) is None or 1 <= int(iso.group(2)) <= 12):
        return YearRange(int(iso.group(1)), int(iso.group(1)))
    text = _normalise(text)
    century = _CENTURY_RANGE.match(text)
    if century:
        first, last = int(century.group(1)), int(century.group(2))
        return YearRange((first - 1) * 100, last * 100 - 1) if first <= last else None
    return _edtf_range(text) or _edtf_range(_prose_to_edtf(text))


def is_date(value: str) -> bool:
    return year_range(value) is not None


def year_of(value: str) -> int | None:
    """The single year of a date string (see ``YearRange.year``), or None."""
    r = year_range(value)
    return r.year if r else None


def unreadable(values: list[str]) -> Counter[str]:
    """The non-empty values that are neither a date nor a "no date" marker, with their counts."""
    return Counter(v.strip() for v in values
                   if v.strip() and v.strip().lower() not in NO_DATE and year_range(v) is None)


def describe_unreadable(column: str, values: list[str], examples: int = 5) -> str | None:
    """One report line naming how many values of ``column`` could not be read, with examples."""
    bad = unreadable(values)
    if not bad:
        return None
    shown = ", ".join(f"{v[:40]!r} ({n})" if n > 1 else repr(v[:40]) for v, n in bad.most_common(examples))
    total = sum(bad.values())
    return (f"column {column!r}: {total} value{'s' * (total != 1)} not readable as a date "
            f"({len(bad)} distinct), e.g. {shown}; these items are undated on the timeline")


def _normalise(text: str) -> str:
    text = _DASHES.sub("-", text)  # "1890–1895": edtf's prose reader keeps only the end
    text = _BETWEEN.sub(r"\1-\2", text)  # "between 1890 and 1895": not read at all
    return _CENTURY_ABBR.sub(lambda m: f"{m.group(1)}{m.group(2)} century", text)


def _prose_to_edtf(text: str) -> str:
    from edtf import text_to_edtf
    try:
        return text_to_edtf(text) or ""
    except Exception:  # noqa: BLE001 - untrusted text; any failure means "not a date"
        return ""


def _edtf_range(text: str) -> YearRange | None:
    """Earliest and latest year of an EDTF string, read by undate."""
    if not text:
        return None
    from undate import Undate, UndateInterval
    try:
        parsed = Undate.parse(text, "EDTF")
        if isinstance(parsed, UndateInterval):
            lo = parsed.earliest.earliest.year if parsed.earliest else None
            hi = parsed.latest.latest.year if parsed.latest else None
        else:
            lo, hi = parsed.earliest.year, parsed.latest.year
    except Exception:  # noqa: BLE001 - the parser raises several types on bad input
        return None
    if lo is None and hi is None or lo is not None and hi is not None and (hi < lo or hi - lo > WIDEST):
        return None
    if any(y is not None and abs(y) > 9999 for y in (lo, hi)):
        return None
    return YearRange(lo, hi)
