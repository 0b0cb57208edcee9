"""Make the 100,000-item text collection for the search library benchmark, and each library's index.

Items are made from the demo's real metadata (npm openmoji, the CSV `pipeline.demo` writes): item i
takes artwork i mod 2,465's category, subcategory, author and date; its title is 1-4 words drawn
from the demo's title words and its tags 4-12 words drawn from the demo's tag words, both with the
demo's own word frequencies, and a description of 12-30 words drawn from both (collections from
museums have one). Everything is seeded: the same files every run.

Writes into WORK: docs.json (pipeline.textindex's shape, what the build writes), titles.json, and
with --lunr lunr.json (the index prebuilt in Python by PyPI `lunr`, as lunr.js 2.3.9 loads it).

  python make_data.py WORK N [--lunr]
"""
from __future__ import annotations

import json
import random
import re
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from pipeline.metadata import Record  # noqa: E402
from pipeline.textindex import documents  # noqa: E402

OPENMOJI = ROOT / "node_modules" / "openmoji" / "data" / "openmoji.json"
FIELDS = [{"key": k, "kind": kind} for k, kind in
          [("category", "category"), ("subcategory", "category"), ("author", "text"), ("date", "year"),
           ("tags", "text"), ("description", "text")]]


def _words(texts: list[str]) -> Counter:
    return Counter(w for t in texts for w in re.findall(r"[^\W_]+(?:-[^\W_]+)*", t.lower()))


def records(n: int, seed: int = 0) -> list[Record]:
    entries = [e for e in json.loads(OPENMOJI.read_text("utf-8")) if not e.get("skintone")]
    title_w = _words([e.get("annotation", "") for e in entries])
    tag_w = _words([f"{e.get('tags', '')}, {e.get('openmoji_tags', '')}" for e in entries])
    rnd = random.Random(seed)
    tw, tf = list(title_w), list(title_w.values())
    gw, gf = list(tag_w), list(tag_w.values())
    both, bf = tw + gw, tf + gf
    out = []
    for i in range(n):
        e = entries[i % len(entries)]
        title = " ".join(rnd.choices(tw, tf, k=rnd.randint(1, 4)))
        tags = ", ".join(rnd.choices(gw, gf, k=rnd.randint(4, 12)))
        desc = " ".join(rnd.choices(both, bf, k=rnd.randint(12, 30)))
        out.append(Record(title=title.capitalize(), url=None, values=[
            e.get("group", ""), e.get("subgroups", ""), e.get("openmoji_author", ""), e.get("openmoji_date", ""),
            tags, desc.capitalize() + "."]))
    return out


def lunr_index(docs: list[list[str]]) -> dict:
    """Lunr's index, built in Python: title boosted 10x over the other text (lunr's default pipeline:
    trimmer, stop words, Porter stemmer; lunr.js has the same functions registered)."""
    from lunr import lunr
    return lunr(ref="id", fields=[{"field_name": "title", "boost": 10}, "text"],
                documents=[{"id": str(i), "title": t, "text": x} for i, (t, x) in enumerate(docs)]).serialize()


def main(work: Path, n: int, lunr: bool) -> None:
    work.mkdir(parents=True, exist_ok=True)
    recs = records(n)
    data = documents(FIELDS, recs)
    (work / "docs.json").write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")), "utf-8")
    (work / "titles.json").write_text(json.dumps([r.title for r in recs], ensure_ascii=False), "utf-8")
    if not lunr:
        return
    t = time.perf_counter()
    idx = lunr_index(data["docs"])
    print(f"lunr (Python) index of {n} items: {time.perf_counter() - t:.1f} s", flush=True)
    (work / "lunr.json").write_text(json.dumps(idx, separators=(",", ":")), "utf-8")


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--lunr"]
    main(Path(args[0]) if args else Path("/tmp/salon-search-bench"), int(args[1]) if len(args) > 1 else 100_000,
         "--lunr" in sys.argv)
