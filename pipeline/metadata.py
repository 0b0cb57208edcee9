"""Metadata: read the collection's CSV and join its rows to the image files."""
from __future__ import annotations

import csv
import posixpath
import io
import re
import string
import unicodedata
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from . import UserError

csv.field_size_limit(1 << 24)  # long descriptions (over 128 KB) are legitimate

_YEAR = re.compile(r"(?<!\d)(1[0-9]{3}|20[0-9]{2})(?!\d)")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+://")
_NOT_IN_URLS = set('<>"\'`{}\\^|')
_DRIVE = re.compile(r"^[A-Za-z]:/")  # a Windows absolute path, backslashes already turned to /


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
    refused_rows: dict[str, str] = field(default_factory=dict)  # file-name value -> why refused
    warnings: list[str] = field(default_factory=list)


DELIMITER_NAMES = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|", "space": " "}


def _decode(raw: bytes, encoding: str | None) -> str:
    if encoding:
        try:
            return raw.decode(encoding)
        except LookupError:
            raise UserError(f"--encoding {encoding!r} is not an encoding Python knows (try utf-8, "
                            f"utf-16, cp1252 or latin-1)") from None
        except UnicodeDecodeError as e:
            raise UserError(f"the CSV is not valid {encoding} (byte {e.start}: {e.reason}); "
                            f"leave out --encoding to detect it") from None
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
    text = text.replace("\x00", "")  # NUL bytes (a UTF-16 file read as bytes, say) break the csv module
    if not text.strip():
        return Table([], [])
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text, delimiter))
    try:
        header = [h.strip() for h in next(reader, [])]
        rows = [dict(zip(header, (v.strip() for v in row))) for row in reader if any(v.strip() for v in row)]
    except csv.Error as e:
        raise UserError(f"cannot read the metadata CSV {path}, line {reader.line_num}: {e}") from None
    return Table(header, rows)


def _delimiter(text: str, given: str | None) -> str:
    """The --delimiter (a character or a name such as 'tab'), else sniffed among , ; tab |."""
    if given:
        d = DELIMITER_NAMES.get(given.lower(), given)
        if len(d) != 1:
            raise UserError(f"--delimiter must be one character or one of {', '.join(DELIMITER_NAMES)}; "
                            f"got {given!r}")
        return d
    return max(",;\t|", key=lambda d: _fit(text, d))


def _fit(sample: str, delimiter: str) -> tuple[int, int]:
    """How well a delimiter explains the sample: rows that have as many columns as the header,
    then the number of columns (csv.Sniffer is misled by delimiters inside quoted fields)."""
    cut = len(sample) > 50_000  # the last row of a cut sample may be partial
    try:
        rows = list(csv.reader(io.StringIO(sample[:50_000], newline=""), delimiter=delimiter))
        rows = (rows[:-1] if cut else rows) or [[]]
    except csv.Error:
        return 0, 0
    width = len(rows[0])
    if width < 2:
        return 0, 0
    return sum(len(r) == width for r in rows), width


def safe_url(url: str) -> str | None:
    """Keep http(s) and relative links; anything else (javascript:, data:, …) is dropped, and so
    is text that is no URL at all (quotes, angle brackets, braces: markup or a broken template)."""
    url = url.strip().replace(" ", "%20")
    if not url or any(ord(c) < 32 or ord(c) == 127 or c in _NOT_IN_URLS for c in url):
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


class ImageIndex:
    """Finds the images a CSV file-name value names, inside the image folder only."""

    def __init__(self, images: list[str], root: Path | None):
        self.root = root
        self.by_path = {_norm(rel): rel for rel in images}
        self.by_name: dict[str, list[str]] = {}
        for rel in images:
            self.by_name.setdefault(_norm(PurePosixPath(rel).name), []).append(rel)

    def lookup(self, value: str) -> list[str] | str:
        """The matching image relpaths (by relative path, else by base name), or why refused."""
        name = value.replace("\\", "/").strip()
        if _URL.match(name):  # never fetched: its file name is looked up in the folder
            name = PurePosixPath(urllib.parse.urlsplit(name).path).name
        elif name.startswith("/") or _DRIVE.match(name):
            inside = self._inside_root(name)
            if inside is None:
                return "an absolute path outside the image folder (give paths relative to it)"
            name = inside
        rel = posixpath.normpath(name) if name else ""
        if rel == ".." or rel.startswith("../"):
            return "a path leading out of the image folder (..)"
        if _norm(rel) in self.by_path:
            return [self.by_path[_norm(rel)]]
        return self.by_name.get(_norm(PurePosixPath(rel).name), [])

    def _inside_root(self, name: str) -> str | None:
        if self.root is None or _DRIVE.match(name):
            return None
        path = Path(posixpath.normpath(name))
        return path.relative_to(self.root).as_posix() if path.is_relative_to(self.root) else None


def _norm(name: str) -> str:
    """Compare names case-insensitively and in one Unicode form (macOS writes decomposed accents)."""
    return unicodedata.normalize("NFC", name).lower()


def _filename_column(columns: list[str], wanted: str) -> str:
    if wanted in columns:
        return wanted
    same = [c for c in columns if c.lower() == wanted.lower()]
    if len(same) == 1:
        return same[0]
    raise UserError(f"the CSV has no column {wanted!r}; its columns are: "
                    f"{', '.join(map(repr, columns))}. Name the file-name column with -fn COLUMN")


def _fields(table: Table, used: set[str], categories: list[str] | None) -> list[dict]:
    shown = [c for c in table.columns if c and c not in used]
    kinds = {c: _kind(c, [r.get(c, "") for r in table.rows]) for c in shown}
    if categories is not None:  # the user's choice of facets replaces the detected ones
        kinds = {c: "category" if c in categories else "text" if k == "category" else k
                 for c, k in kinds.items()}
    return [{"key": c, "label": c.replace("_", " ").strip().capitalize(), "kind": kinds[c]} for c in shown]


def join(table: Table, images: list[str], filename_col: str = "filename",
         title: str | None = None, url: str | None = None,
         categories: list[str] | None = None, root: Path | None = None) -> Joined:
    """Join CSV rows to image relpaths (under ``root``): by relative path first, then by base name.

    The first row naming an image wins; later ones are reported as duplicates.
    """
    if not table.columns:  # no CSV (or an empty one): titles from file names
        recs = {rel: Record(PurePosixPath(rel).stem, None, []) for rel in images}
        return Joined([], recs, images_without_row=[] if not table.rows else list(images))
    filename_col = _filename_column(table.columns, filename_col)
    title_t = Template(title, table.columns, "-title") if title else (
        Template("title", table.columns, "-title") if "title" in table.columns else None)
    url_t = Template(url, table.columns, "-url") if url else None
    # a column used whole as title or link is not repeated as a field
    used = {filename_col} | {t.spec for t in (title_t, url_t) if t and t.spec in table.columns}
    out = Joined(_fields(table, used, categories), {})
    shown = [f["key"] for f in out.fields]
    index = ImageIndex(images, root)
    for row in table.rows:
        name = row.get(filename_col, "").strip()
        matches = index.lookup(name) if name else []
        if isinstance(matches, str):
            out.refused_rows[name] = matches
        elif not matches:
            out.rows_without_image.append(name or "(empty file name)")
        for rel in matches if isinstance(matches, list) else []:
            if rel in out.records:
                out.duplicate_rows.append(name)
            else:
                out.records[rel] = _record(rel, row, title_t, url_t, shown, out.warnings)
    for rel in images:
        if rel not in out.records:
            out.images_without_row.append(rel)
            out.records[rel] = Record(PurePosixPath(rel).stem, None, [""] * len(shown))
    return out


def _record(rel: str, row: dict[str, str], title_t: Template | None, url_t: Template | None,
            shown: list[str], warnings: list[str]) -> Record:
    link = url_t.render(row) if url_t else ""
    record_url = safe_url(link) if link else None
    if link and record_url is None:
        warnings.append(f"{rel}: record link {link[:80]!r} is not http(s) or relative; shown as text")
    return Record(title_t.render(row) if title_t else PurePosixPath(rel).stem, record_url,
                  [row.get(c, "") for c in shown])
