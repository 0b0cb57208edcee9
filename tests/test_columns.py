"""The site's per-item arrays as column files (pipeline/columns.py): what is written reads back."""
import json

import numpy as np
import pytest

from pipeline.columns import UNIT, Columns, read_collection, resolve


def test_each_type_reads_back_as_written():
    cols = Columns()
    doc = {"n": 3, "items": {"cell": cols.add("cell", np.array([5, 0, 7]), "int32"),
                             "xy": cols.add("xy", [0.0, 1.0, 0.25, 0.5, 0.123456, 1.5], "uint16"),
                             "title": cols.add("title", ["a <b>", "", "ß"], "json")},
           "years": cols.add("year-1", [1890, None, -500], "float32")}
    assert {len(b) for u, b in cols.files.items() if u.endswith(("cell.bin", "year-1.bin"))} == {12}
    assert len(cols.files["data/columns/xy.bin"]) == 12  # 2 bytes a number
    back = resolve(doc, cols.files.__getitem__)
    assert back["items"]["cell"] == [5, 0, 7] and back["items"]["title"] == ["a <b>", "", "ß"]
    assert back["years"] == [1890, None, -500]
    xy = back["items"]["xy"]
    assert xy[:4] == [0.0, 1.0, round(0.25 * UNIT) / UNIT, round(0.5 * UNIT) / UNIT]
    assert abs(xy[4] - 0.123456) <= 0.5 / UNIT and xy[5] == 1.0  # clipped into [0, 1]


def test_a_reference_cannot_leave_the_columns_folder(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "secret.bin").write_bytes(b"\0" * 4)
    ref = {"column": "data/columns/../../secret.bin", "type": "int32", "length": 1}
    (tmp_path / "data" / "collection.json").write_text(json.dumps({"count": 1, "items": {"cell": ref}}))
    with pytest.raises(ValueError, match="outside"):
        read_collection(tmp_path)
