"""Metadata: read the collection's CSV and join its rows to the image files."""
from __future__ import annotations

import csv
import io
import re
import string
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from . import UserError

_YEAR = re.compile(r"(?<!\d)(1[0-9]{3}|20[0-9]{2})(?!\d)")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


@dataclass
class Table:
    columns: list[str]
    rows: list[dict[str, str]]


@dataclass
class Record:
    title: str
    url: str | None
    values: list[str]


@dataclass
class Joined:
    fields: list[dict]                     # {key, label, kind}
    records: dict[str, Record]             # image relpath -> record
    rows_without_image: list[str] = field(default_factory=list)
    images_without_row: list[str] = field(default_factory=list)
    duplicate_rows: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _decode(raw: bytes, encoding: str | None) -> str:
    if encoding:
        return raw.decode(encoding)
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")  # what Excel writes on Windows


def read_table(path: Path, encoding: str | None = None, delimiter: str | None = None) -> Table:
    """Read a CSV whatever its encoding (UTF-8, UTF-16, Windows-1252) and delimiter (, ; tab)."""
    try:
        text = _decode(Path(path).read_bytes(), encoding)
    except OSError as e:
        raise UserError(f"cannot read the metadata CSV {path}: {e.strerror}") from e
    if not text.strip():
        return Table([], [])
    if not delimiter:
        try:
            delimiter = csv.Sniffer().sniff(text[:20000], delimiters=",;\t|").delimiter
        except csv.Error:
            delimiter = ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = [h.strip() for h in next(reader, [])]
    rows = [dict(zip(header, (v.strip() for v in row))) for row in reader if any(v.strip() for v in row)]
    return Table(header, rows)


def safe_url(url: str) -> str | None:
    """Keep http(s) and relative links; anything else (javascript:, data:, …) is dropped."""
    url = url.strip()
    if not url or any(ord(c) < 32 for c in url):
        return None
    if _SCHEME.match(url):
        return url if url.lower().startswith(("http://", "https://")) else None
    return None if url.startswith("//") or url.startswith("\\") else url


class Template:
    """A column name, or a text with ``{Column}`` placeholders."""

    def __init__(self, spec: str, columns: list[str], flag: str):
        self.spec = spec
        if spec in columns:
            self.fmt = "{" + spec + "}"
        else:
            self.fmt = spec
        names = [n for _, n, _, _ in string.Formatter().parse(self.fmt) if n is not None]
        missing = [n for n in names if n not in columns]
        if missing or not names:
            raise UserError(f"{flag} {spec!r} names {', '.join(map(repr, missing)) or 'no column'}; "
                            f"the CSV's columns are: {', '.join(columns)}")
        self.columns = names

    def render(self, row: dict[str, str]) -> str:
        return "".join(lit + (row.get(name, "") if name is not None else "")
                       for lit, name, _, _ in string.Formatter().parse(self.fmt)).strip()


def _kind(column: str, values: list[str]) -> str:
    filled = [v for v in values if v]
    if not filled:
        return "text"
    if re.search(r"date|year|jahr|année|anno|fecha", column, re.I) and \
            sum(bool(_YEAR.search(v)) for v in filled) >= 0.8 * len(filled):
        return "year"
    distinct = len(set(filled))
    if 2 <= distinct <= 60 and distinct <= 0.5 * len(filled) and max(map(len, filled)) <= 80:
        return "category"
    return "text"


def year_of(value: str) -> int | None:
    m = _YEAR.search(value)
    return int(m.group(1)) if m else None


def join(table: Table, images: list[str], filename_col: str = "filename",
         title: str | None = None, url: str | None = None,
         categories: list[str] | None = None) -> Joined:
    """Join CSV rows to image relpaths: by relative path first, then by base name."""
    if not table.columns:  # no CSV (or an empty one): titles from file names
        recs = {rel: Record(PurePosixPath(rel).stem, None, []) for rel in images}
        return Joined([], recs, images_without_row=[] if not table.rows else list(images))
    if filename_col not in table.columns:
        raise UserError(f"the CSV has no column {filename_col!r}; its columns are: "
                        f"{', '.join(table.columns)}. Name the file-name column with -fn COLUMN")
    title_t = Template(title, table.columns, "-title") if title else (
        Template("title", table.columns, "-title") if "title" in table.columns else None)
    url_t = Template(url, table.columns, "-url") if url else None
    used = {filename_col} | ({title_t.spec} if title_t and title_t.spec in table.columns else set())
    shown = [c for c in table.columns if c and c not in used]
    kinds = {c: _kind(c, [r.get(c, "") for r in table.rows]) for c in shown}
    if categories is not None:  # the user's choice of facets replaces the detected ones
        kinds = {c: "category" if c in categories else "text" if k == "category" else k
                 for c, k in kinds.items()}
    fields = [{"key": c, "label": c.replace("_", " ").strip().capitalize(), "kind": kinds[c]} for c in shown]

    by_path = {rel.lower(): rel for rel in images}
    by_name: dict[str, list[str]] = {}
    for rel in images:
        by_name.setdefault(PurePosixPath(rel).name.lower(), []).append(rel)
    out = Joined(fields, {})
    for row in table.rows:
        name = row.get(filename_col, "").replace("\\", "/").strip()
        key = name.lstrip("./").lower()
        matches = [by_path[key]] if key in by_path else by_name.get(PurePosixPath(key).name, [])
        if not name or not matches:
            out.rows_without_image.append(name or "(empty file name)")
            continue
        for rel in matches:
            if rel in out.records:
                out.duplicate_rows.append(name)
                continue
            link = url_t.render(row) if url_t else ""
            record_url = safe_url(link) if link else None
            if link and record_url is None:
                out.warnings.append(f"{rel}: record link {link[:80]!r} is not http(s) or relative; shown as text")
            out.records[rel] = Record(title_t.render(row) if title_t else PurePosixPath(rel).stem,
                                      record_url, [row.get(c, "") for c in shown])
    for rel in images:
        if rel not in out.records:
            out.images_without_row.append(rel)
            out.records[rel] = Record(PurePosixPath(rel).stem, None, [""] * len(shown))
    return out
