"""The text search index the page ranks with (assets/js/textsearch.js, MiniSearch).

The build folds each item's title and text with the shared rule (site.fold, rules.json), then has
node run the page's own module over them (textindex_prebuild.js) to write MiniSearch's index, which
the page loads 8 times faster than it indexes the documents (bench/README.md, "Text search
library"); tokenizing and plural folding are thus defined once, in textsearch.js, for the text and
the queries alike. Without node (or if it fails) the documents themselves are written, in the shape
MiniSearch indexes fastest, and the page indexes them: same results, slower first search.
"""
from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from .cache import atomic_path, link_or_copy, write_bytes
from .metadata import Record

FILE = "data/textindex.json"
SCHEMA = 1
SEARCHED_KINDS = ("text", "category", "year")  # field kinds whose values are searched besides the title
PREBUILD = Path(__file__).resolve().parent / "textindex_prebuild.js"
NODE_TIMEOUT_S = 1800


def documents(fields: Sequence[dict], records: Sequence[Record]) -> dict:
    """The index file's content: {"schema", "fields": ["title", "text"], "docs": [[title, text], ...]},
    both texts folded; "text" joins the item's searched field values."""
    from .site import fold
    cols = [i for i, f in enumerate(fields) if f["kind"] in SEARCHED_KINDS]
    docs = [[fold(r.title), fold(" ".join(r.values[i] for i in cols if i < len(r.values) and r.values[i]))]
            for r in records]
    return {"schema": SCHEMA, "fields": ["title", "text"], "docs": docs}


def prebuild(docs: bytes, cache: Path) -> tuple[Path | None, str | None]:
    """MiniSearch's index of the documents, made by node and cached under their content's hash:
    (the index file, None), or (None, why not)."""
    out = cache / "textindex" / f"{hashlib.sha256(docs + PREBUILD.read_bytes()).hexdigest()[:40]}.json"
    if out.is_file():
        return out, None
    node = shutil.which("node")
    if not node:
        return None, "node was not found"
    src = out.with_suffix(".docs.json")
    write_bytes(src, docs)
    try:
        with atomic_path(out) as tmp:
            # absolute paths: node runs in the project folder, the cache may be relative to ours
            subprocess.run([node, str(PREBUILD), str(src.resolve()), str(Path(tmp).resolve())], check=True,
                           capture_output=True, timeout=NODE_TIMEOUT_S, cwd=PREBUILD.parent.parent)
        return out, None
    except (OSError, subprocess.SubprocessError) as e:
        err = getattr(e, "stderr", b"") or b""
        return None, f"node failed ({type(e).__name__}: {err.decode('utf-8', 'replace').strip()[-200:]})"
    finally:
        src.unlink(missing_ok=True)


def write(out: Path, fields: Sequence[dict], records: Sequence[Record], cache: Path | None = None) -> str | None:
    """Write the index into the site folder ``out``: MiniSearch's prebuilt index when ``cache`` is
    given and node runs, else the documents. Returns a warning when the index could not be prebuilt."""
    docs = json.dumps(documents(fields, records), ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    if cache is None:
        write_bytes(out / FILE, docs)
        return None
    index, why = prebuild(docs, cache)
    if index is None:
        write_bytes(out / FILE, docs)
        return f"text search index not prebuilt, the page will index the documents itself (slower): {why}"
    (out / FILE).parent.mkdir(parents=True, exist_ok=True)
    (out / FILE).unlink(missing_ok=True)  # the documents site.write wrote
    link_or_copy(index, out / FILE)
    return None
