"""The built-in demo: OpenMoji's artworks (npm ``openmoji``, CC BY-SA 4.0) with their metadata."""
from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

from . import UserError
from .cache import atomic_path, write_bytes
from .site import PROJECT

OPENMOJI = PROJECT / "node_modules" / "openmoji"
COLUMNS = ["filename", "title", "author", "date", "category", "subcategory", "tags", "hexcode"]


def prepare(folder: Path, limit: int | None = None) -> tuple[Path, Path]:
    """Copy OpenMoji's colour SVGs (skin-tone variants left out) and write their CSV.

    ``limit`` takes that many artworks evenly spread over the whole set.

    Returns (image folder, metadata CSV). Reuses a folder prepared before.
    """
    source = OPENMOJI / "data" / "openmoji.json"
    if not source.is_file():
        raise UserError("the demo needs the npm package openmoji: run `npm install` in the project folder")
    entries = [e for e in json.loads(source.read_text("utf-8"))
               if not e.get("skintone") and (OPENMOJI / "color" / "svg" / f"{e['hexcode']}.svg").is_file()]
    if limit and limit < len(entries):  # an even sample across all groups, not just the first
        entries = [entries[i * len(entries) // limit] for i in range(limit)]
    images, csv_path = folder / "images", folder / "metadata.csv"
    images.mkdir(parents=True, exist_ok=True)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(COLUMNS)
    wanted = set()
    for e in entries:
        name = f"{e['hexcode']}.svg"
        wanted.add(name)
        if not (images / name).exists():
            with atomic_path(images / name) as tmp:  # a killed run leaves no half-copied file
                shutil.copyfile(OPENMOJI / "color" / "svg" / name, tmp)
        tags = ", ".join(t for t in (e.get("tags", ""), e.get("openmoji_tags", "")) if t)
        w.writerow([name, e.get("annotation", ""), e.get("openmoji_author", ""), e.get("openmoji_date", ""),
                    e.get("group", ""), e.get("subgroups", ""), tags, e["hexcode"]])
    for extra in images.iterdir():  # a smaller --limit than last time
        if extra.name not in wanted:
            extra.unlink()
    write_bytes(csv_path, buf.getvalue().encode("utf-8"))
    return images, csv_path


DEMO_FLAGS = ["--id", "openmoji", "--name", "OpenMoji",
              "--description", "Emoji and icons designed by the OpenMoji project, arranged by visual similarity.",
              "--credit", "OpenMoji: the open-source emoji and icon project. Licence: CC BY-SA 4.0",
              "--credit-url", "https://openmoji.org/",
              "--url", "https://openmoji.org/library/emoji-{hexcode}/",
              "--categories", "category,subcategory"]
