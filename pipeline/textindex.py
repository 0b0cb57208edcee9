"""The text search index the page ranks with (assets/js/textsearch.js, MiniSearch).

MiniSearch has no index format that Python can write without re-implementing its tokenizer, and
building its index from the documents in the page (0.9 s at 100,000 items in Chromium) is faster
than loading its serialized index (bench/README.md, "Text search library"). So the build writes
the documents, folded with the shared rule (site.fold, rules.json), in the shape MiniSearch loads
fastest: one array of field texts per item, item i at position i. Tokenizing and plural folding
happen once, in textsearch.js, for the text and the queries alike.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

from .cache import write_json
from .metadata import Record

FILE = "data/textindex.json"
SCHEMA = 1
SEARCHED_KINDS = ("text", "category", "year")  # field kinds whose values are searched besides the title


def documents(fields: Sequence[dict], records: Sequence[Record]) -> dict:
    """The index file's content: {"schema", "fields": ["title", "text"], "docs": [[title, text], ...]},
    both texts folded; "text" joins the item's searched field values."""
    from .site import fold
    cols = [i for i, f in enumerate(fields) if f["kind"] in SEARCHED_KINDS]
    docs = [[fold(r.title), fold(" ".join(r.values[i] for i in cols if i < len(r.values) and r.values[i]))]
            for r in records]
    return {"schema": SCHEMA, "fields": ["title", "text"], "docs": docs}


def write(out: Path, fields: Sequence[dict], records: Sequence[Record]) -> str:
    """Write the index into the site folder ``out``; return its path relative to the site."""
    write_json(out / FILE, documents(fields, records))
    return FILE
