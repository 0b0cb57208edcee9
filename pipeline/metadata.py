"""Metadata: read the collection's CSV and join its rows to the image files."""
from __future__ import annotations

import csv
import fnmatch
import io
import posixpath
import re
import string
import unicodedata
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from . import UserError
from .dates import is_date
from .rules import FACET, URL, URL_FORBIDDEN, URL_SCHEMES, URL_TRIM

csv.field_size_limit(1 << 24)  # long descriptions (over 128 KB) are legitimate

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+://")
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
    is text that is no URL at all (controls, quotes, angle brackets, braces: markup or a broken
    template). The rule in rules.json, which the page's safeUrl applies too."""
    url = url.strip(URL_TRIM).replace(" ", "%20")
    if not url or any(c in URL_FORBIDDEN for c in url) or url.startswith(tuple(URL["forbidden_prefixes"])):
        return None
    scheme = _SCHEME.match(url)
    return url if not scheme or scheme.group(0)[:-1].lower() in URL_SCHEMES else None


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
        self.whole = self.fmt == "{" + names[0] + "}"  # one column alone, e.g. -url link

    def blank(self, row: dict[str, str]) -> bool:
        """True when the row has none of the values (an IIIF item beside a CSV, say): the
        template then gives nothing, not '()' or 'https://archive.example//'."""
        return not any(row.get(name) for name in self.columns)

    def render(self, row: dict[str, str]) -> str:
        if self.blank(row):
            return ""
        return "".join(lit + (row.get(name, "") if name is not None else "")
                       for lit, name, _, _ in string.Formatter().parse(self.fmt)).strip()

    def render_url(self, row: dict[str, str]) -> str:
        """The link: each value percent-encoded so that it stays in its place (a ?, #, & or space in an
        id cannot add a query or end the path), except a full URL that starts the template.
        A column used alone is a link as written (safe_url still decides whether it is kept)."""
        if self.whole or self.blank(row):
            return self.render(row)
        parts = []
        for i, (lit, name, _, _) in enumerate(string.Formatter().parse(self.fmt)):
            value = row.get(name, "") if name is not None else ""
            starts = i == 0 and not lit and _SCHEME.match(value)
            parts += [lit, value if starts else urllib.parse.quote(value, safe="/")]
        return "".join(parts).strip()


def _kind(column: str, values: list[str]) -> str:
    filled = [v for v in values if v]
    if not filled:
        return "text"
    if re.search(r"date|year|jahr|année|anno|fecha", column, re.I) and \
            sum(is_date(v) for v in filled) >= 0.8 * len(filled):
        return "year"
    distinct = len(set(filled))
    if FACET["min_values"] <= distinct <= FACET["max_values"] and distinct <= FACET["max_share"] * len(filled) \
            and max(map(len, filled)) <= FACET["max_length"]:
        return "category"
    return "text"


@dataclass
class Ambiguous:
    """A file-name value that several images fit only once case and accents are ignored."""
    candidates: list[str]


class ImageIndex:
    """Finds the images a CSV file-name value names, inside the image folder only.

    An exact name always wins over a look-alike (``Photo.JPG`` beside ``photo.jpg``, or NFC beside
    NFD accents): relative path, then base name, each as written; only when neither fits is case
    and Unicode form ignored, and then only if one file (for a base name: one name) fits."""

    def __init__(self, images: list[str], root: Path | None):
        self.root = root
        self.paths = set(images)
        self.by_name = _group(images, _base)
        self.by_norm_path = _group(images, _norm)
        self.by_norm_name = _group(images, _base_norm)

    def exact(self, value: str) -> list[str] | str:
        """The images the value names exactly (by relative path, else by base name), or why refused."""
        forms, refused = self._forms(value)
        for f in forms:
            if f in self.paths:
                return [f]
        return next((self.by_name[_base(f)] for f in forms if _base(f) in self.by_name), refused or [])

    def loose(self, value: str) -> list[str] | Ambiguous:
        """The images the value names ignoring case and Unicode form, when only one fits."""
        forms, _ = self._forms(value)
        for index, key, same in ((self.by_norm_path, _norm, str), (self.by_norm_name, _base_norm, _base)):
            for f in forms:
                fits = index.get(key(f), [])
                if len({same(rel) for rel in fits}) > 1:
                    return Ambiguous(sorted(fits))
                if fits:
                    return fits
        return []

    def _forms(self, value: str) -> tuple[list[str], str | None]:
        """The relative paths a value may stand for: as written (a\\b.jpg is a legal name on Linux),
        then with \\ read as a folder separator (Windows); and why that reading is refused, if it is."""
        written = posixpath.normpath(value.strip()) if value.strip() else ""
        forms = [written] if "\\" in written and not written.startswith("/") else []
        name = value.strip().replace("\\", "/")
        if _URL.match(name):  # never fetched: its file name is looked up in the folder
            return forms + [_base(urllib.parse.urlsplit(name).path)], None
        if name.startswith("/") or _DRIVE.match(name):
            inside = self._inside_root(name)
            if inside is None:
                return forms, "an absolute path outside the image folder (give paths relative to it)"
            name = inside
        rel = posixpath.normpath(name) if name else ""
        if rel == ".." or rel.startswith("../"):
            return forms, "a path leading out of the image folder (..)"
        return forms + [rel], None

    def _inside_root(self, name: str) -> str | None:
        if self.root is None or _DRIVE.match(name):
            return None
        path = Path(posixpath.normpath(name))
        return path.relative_to(self.root).as_posix() if path.is_relative_to(self.root) else None


def _norm(name: str) -> str:
    """Compare names case-insensitively and in one Unicode form (macOS writes decomposed accents)."""
    return unicodedata.normalize("NFC", name).lower()


def _base(rel: str) -> str:
    return PurePosixPath(rel).name


def _base_norm(rel: str) -> str:
    return _norm(_base(rel))


def _group(images: list[str], key) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    for rel in images:
        groups.setdefault(key(rel), []).append(rel)
    return groups


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
         categories: list[str] | None = None, root: Path | None = None,
         columns: list[str] | None = None, private: list[str] | None = None) -> Joined:
    """Join CSV rows to image relpaths (under ``root``): by relative path first, then by base name;
    rows naming their image exactly first, then those naming it only up to case and accents.

    ``columns`` (names or patterns) are the columns published as fields (default: all); ``private``
    ones are published nowhere. The first row naming an image wins; later ones are duplicates.
    """
    if not table.columns:  # no CSV (or an empty one): titles from file names
        recs = {rel: Record(PurePosixPath(rel).stem, None, []) for rel in images}
        return Joined([], recs, images_without_row=[] if not table.rows else list(images))
    filename_col = _filename_column(table.columns, filename_col)
    hidden = _private_columns(table.columns, private or [], filename_col)
    title_t = Template(title, table.columns, "-title") if title else (
        Template("title", table.columns, "-title") if "title" in table.columns and "title" not in hidden
        else None)
    url_t = Template(url, table.columns, "-url") if url else None
    _refuse_private(hidden, [(title_t, "-title"), (url_t, "-url")], categories or [])
    published = _matching(table.columns, columns, "--columns") if columns is not None else set(table.columns)
    # a column used whole as title or link is not repeated as a field
    used = {filename_col} | {t.spec for t in (title_t, url_t) if t and t.spec in table.columns}
    out = Joined(_fields(table, used | hidden | (set(table.columns) - published), categories), {})
    shown = [f["key"] for f in out.fields]
    index = ImageIndex(images, root)

    def attach(rels: list[str], name: str, row: dict[str, str]) -> None:
        for rel in rels:
            if rel in out.records:
                out.duplicate_rows.append(name)
            else:
                out.records[rel] = _record(rel, row, title_t, url_t, shown, out.warnings)

    loose: list[tuple[str, dict[str, str]]] = []
    for row in table.rows:
        name = row.get(filename_col, "").strip()
        matches = index.exact(name) if name else []
        if isinstance(matches, str):
            out.refused_rows[name] = matches
        elif matches:
            attach(matches, name, row)
        else:
            loose.append((name, row))
    for name, row in loose:  # a look-alike never takes the image a row names exactly
        fits = index.loose(name) if name else []
        if isinstance(fits, Ambiguous):
            shown_fits = ", ".join(fits.candidates[:5]) + (", …" if len(fits.candidates) > 5 else "")
            out.warnings.append(f"CSV file name {name!r} fits {len(fits.candidates)} files only when case "
                                f"and accents are ignored ({shown_fits}); attached to none: write the "
                                f"exact file name")
        elif fits:
            attach(fits, name, row)
        else:
            out.rows_without_image.append(name or "(empty file name)")
    for rel in images:
        if rel not in out.records:
            out.images_without_row.append(rel)
            out.records[rel] = Record(PurePosixPath(rel).stem, None, [""] * len(shown))
    return out


def _matching(columns: list[str], patterns: list[str], flag: str) -> set[str]:
    """The columns named by names or glob patterns (``internal_*``), ignoring case. A plain name
    that names no column is refused: a typo must not publish what was meant to stay private."""
    found: set[str] = set()
    for pattern in patterns:
        hits = {c for c in columns if c == pattern or fnmatch.fnmatchcase(c.lower(), pattern.lower())}
        if not hits and not any(ch in pattern for ch in "*?["):
            raise UserError(f"{flag} names {pattern!r}, which is no column of the CSV; its columns are: "
                            f"{', '.join(map(repr, columns))}")
        found |= hits
    return found


def _private_columns(columns: list[str], patterns: list[str], filename_col: str) -> set[str]:
    hidden = _matching(columns, patterns, "--private-columns")
    if filename_col in hidden:
        raise UserError(f"--private-columns: {filename_col!r} is the file-name column; its values name the "
                        f"published images (and the report lists those that match none), so it cannot be private")
    return hidden


def _refuse_private(hidden: set[str], templates: list[tuple[Template | None, str]],
                    categories: list[str]) -> None:
    """Refuse a title, link or facet made of a private column: it would publish the values."""
    for t, flag in templates:
        named = [c for c in t.columns if c in hidden] if t else []
        if t and named:
            raise UserError(f"{flag} {t.spec!r} uses the private column(s) {', '.join(map(repr, named))}: "
                            f"their values would be published")
    named = [c for c in categories if c in hidden]
    if named:
        raise UserError(f"--categories names the private column(s) {', '.join(map(repr, named))}")


def _record(rel: str, row: dict[str, str], title_t: Template | None, url_t: Template | None,
            shown: list[str], warnings: list[str]) -> Record:
    link = url_t.render_url(row) if url_t else ""
    record_url = safe_url(link) if link else None
    if link and record_url is None:
        warnings.append(f"{rel}: record link {link[:80]!r} is not http(s) or relative; shown as text")
    return Record((title_t.render(row) if title_t else "") or PurePosixPath(rel).stem, record_url,
                  [row.get(c, "") for c in shown])
