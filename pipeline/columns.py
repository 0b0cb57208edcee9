"""The site's per-item arrays as files beside data/collection.json (docs/site-format.md, "Columns").

collection.json holds a reference ``{"column": URL, "type": T, "length": N}`` where a per-item array
would be, so the page's first paint fetches only the grid's cell order (4 bytes an item) and the
rest after it. Binary columns are little-endian typed arrays (JavaScript reads them as such without
parsing); "json" columns hold anything with strings or nulls. The page resolves references in
assets/js/columns.js, other programs with ``read_collection``.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

FOLDER = "data/columns"
BINARY = {"int32": "<i4", "uint16": "<u2", "float32": "<f4"}  # type name -> numpy dtype (JS: Int32Array, ...)
UNIT = 65535  # a "uint16" column with "scale" holds values in [0, 1] times this


class Columns:
    """The column files of one site, made in memory (``files``: URL -> bytes) as references are made."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}

    def add(self, name: str, values: Any, type: str) -> dict:
        """A reference to a new column ``name`` (a safe file name: never from the CSV)."""
        if type == "json":
            url, data, n = f"{FOLDER}/{name}.json", json.dumps(values, ensure_ascii=False,
                                                              separators=(",", ":")).encode("utf-8"), len(values)
            ref = {"column": url, "type": type, "length": n}
        else:
            arr = np.asarray(values, dtype=np.float64).reshape(-1)  # None: NaN (float32 only)
            scale = type == "uint16"
            if scale:  # fractions in [0, 1] as 1/65535ths: 4 bytes an item for a map position
                arr = np.rint(np.clip(arr, 0, 1) * UNIT)
            url, data = f"{FOLDER}/{name}.bin", arr.astype(BINARY[type]).tobytes()
            ref = {"column": url, "type": type, "length": len(arr), **({"scale": UNIT} if scale else {})}
        self.files[url] = data
        return ref

    def write(self, site: Path) -> None:
        from .cache import write_bytes
        for url, data in self.files.items():
            write_bytes(site / url, data)


def is_ref(v: Any) -> bool:
    return isinstance(v, dict) and isinstance(v.get("column"), str) and v.get("type") in (*BINARY, "json")


def value(ref: dict, data: bytes) -> Any:
    """A column's values from its file's bytes: a list (numbers scaled back to fractions) or JSON."""
    if ref["type"] == "json":
        return json.loads(data.decode("utf-8"))
    arr = np.frombuffer(data, dtype=BINARY[ref["type"]])
    if ref.get("scale"):
        return (arr / ref["scale"]).tolist()
    if arr.dtype.kind != "f":
        return arr.tolist()
    # NaN: none (a float column's null); whole numbers (years) as ints, as the JSON had them
    return [None if v != v else int(v) if v.is_integer() else v for v in arr.tolist()]


def resolve(doc: Any, load: Callable[[str], bytes]) -> Any:
    """``doc`` with every column reference replaced by its values (``load``: URL -> bytes)."""
    if is_ref(doc):
        return value(doc, load(doc["column"]))
    if isinstance(doc, dict):
        return {k: resolve(v, load) for k, v in doc.items()}
    if isinstance(doc, list):
        return [resolve(v, load) for v in doc]
    return doc


def read_collection(site: Path) -> dict:
    """A built site's data/collection.json with its columns read in: every per-item array a list."""
    from . import UserError
    from .cache import read_json
    doc = read_json(site / "data" / "collection.json")
    if not isinstance(doc, dict):
        raise UserError(f"{site} is not a Salon site (no readable data/collection.json)")

    def load(url: str) -> bytes:
        path = (site / url).resolve()
        if not path.is_relative_to((site / FOLDER).resolve()):  # a reference is data: never leave the folder
            raise ValueError(f"column outside {FOLDER}: {url!r}")
        return path.read_bytes()
    return resolve(doc, load)
