"""The text search index the page ranks with (assets/js/textsearch.js, postings.js).

The build folds each item's title and text with the shared rule (site.fold, rules.json), then has
node run the page's own modules over them (textindex_prebuild.js): MiniSearch indexes them and the
index is written as postings, typed arrays the page ranks a query over in milliseconds at a million
items (bench/README.md, "Text search library"); tokenizing and plural folding are thus defined
once, in textsearch.js, for the text and the queries alike. Without node (or if it fails) the
documents themselves are written, in the shape MiniSearch indexes fastest, and the page indexes
them with MiniSearch: same results, slower to load and to rank.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from .cache import link_or_copy, write_bytes
from .columns import FOLDER
from .metadata import Record

FILE = "data/textindex.json"
SCHEMA = 1  # the documents; the prebuilt postings are schema 2 (docs/site-format.md)
SEARCHED_KINDS = ("text", "category", "year")  # field kinds whose values are searched besides the title
PREBUILD = Path(__file__).resolve().parent / "textindex_prebuild.js"
JS = Path(__file__).resolve().parent.parent / "templates" / "assets" / "js"
MODULES = (PREBUILD, JS / "textsearch.js", JS / "postings.js", JS / "columns.js")  # what the prebuilt index is made by
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
    """The postings of the documents, made by node and cached under the hash of their content and of
    the code that makes them: (the folder of textindex.json and its columns, None), or (None, why not)."""
    key = hashlib.sha256(docs + b"".join(m.read_bytes() for m in MODULES)).hexdigest()[:40]
    out = cache / "textindex" / key
    if (out / "textindex.json").is_file():
        return out, None
    node = shutil.which("node")
    if not node:
        return None, "node was not found"
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{key}.", suffix=".tmp"))
    try:
        write_bytes(tmp / "docs.json", docs)
        # absolute paths: node runs in the project folder, the cache may be relative to ours
        subprocess.run([node, f"--max-old-space-size={_heap_mb()}", str(PREBUILD), str((tmp / "docs.json").resolve()),
                        str(tmp.resolve())], check=True,
                       capture_output=True, timeout=NODE_TIMEOUT_S, cwd=PREBUILD.parent.parent)
        (tmp / "docs.json").unlink()
        os.chmod(tmp, 0o755)  # mkdtemp makes 0700 folders
        os.replace(tmp, out)  # whole or not at all; a folder another build made meanwhile is as good
        return out, None
    except (OSError, subprocess.SubprocessError) as e:
        if (out / "textindex.json").is_file():
            return out, None
        err = getattr(e, "stderr", b"") or b""
        return None, f"node failed ({type(e).__name__}: {err.decode('utf-8', 'replace').strip()[-200:]})"
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _heap_mb() -> int:
    """Node's heap limit for the prebuild: three quarters of this machine's memory (its default,
    ~4 GB, is too little at a million items: 8 GB for 1,000,000 items of 40 words, bench/README.md)."""
    return max(4096, os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") * 3 // 4 >> 20)


def write(out: Path, fields: Sequence[dict], records: Sequence[Record], cache: Path | None = None) -> str | None:
    """Write the index into the site folder ``out``: the prebuilt postings (with their columns) when
    ``cache`` is given and node runs, else the documents. Returns a warning when the index could not
    be prebuilt."""
    docs = json.dumps(documents(fields, records), ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    if cache is None:
        write_bytes(out / FILE, docs)
        return None
    index, why = prebuild(docs, cache)
    if index is None:
        write_bytes(out / FILE, docs)
        return f"text search index not prebuilt, the page will index the documents itself (slower): {why}"
    (out / FOLDER).mkdir(parents=True, exist_ok=True)
    for src in sorted(index.iterdir()):
        dst = out / (FILE if src.name == "textindex.json" else f"{FOLDER}/{src.name}")
        dst.unlink(missing_ok=True)  # the documents site.write wrote
        link_or_copy(src, dst)
    return None
