"""Messy CSVs: encodings, delimiters, quoting, bad columns, file names that try to escape, and
columns that must not be published."""
import subprocess
import sys

import numpy as np
import pytest
from conftest import ROOT
from PIL import Image

from pipeline import UserError
from pipeline.metadata import join, read_table

ROWS = [["filename", "title", "note"], ["a.jpg", "Café «Zoë»", "one; two, three"],
        ["sub/b.jpg", "Straße", "line one\nline two"]]


def write(tmp_path, text: str, encoding: str = "utf-8", name: str = "m.csv"):
    p = tmp_path / name
    p.write_bytes(text.encode(encoding))
    return p


def as_csv(rows, delimiter=","):
    quote = lambda v: '"' + v.replace('"', '""') + '"' if any(c in v for c in f'{delimiter}"\n') else v  # noqa: E731
    return "\r\n".join(delimiter.join(quote(v) for v in row) for row in rows) + "\r\n"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-16-le-bom", "cp1252"])
@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_encodings_and_delimiters_are_detected(tmp_path, encoding, delimiter):
    text = as_csv(ROWS, delimiter)
    if encoding == "utf-16-le-bom":
        raw = b"\xff\xfe" + text.encode("utf-16-le")
    else:
        raw = text.encode(encoding.replace("cp1252", "cp1252"), errors="strict")
    (tmp_path / "m.csv").write_bytes(raw)
    t = read_table(tmp_path / "m.csv")
    assert t.columns == ["filename", "title", "note"]
    assert [list(r.values()) for r in t.rows] == ROWS[1:]


def test_encoding_and_delimiter_flags(tmp_path):
    p = write(tmp_path, "filename|title\na.jpg|Ärger\n", "latin-1")
    assert read_table(p, encoding="latin-1", delimiter="|").rows == [{"filename": "a.jpg", "title": "Ärger"}]
    p = write(tmp_path, "filename\ttitle\na.jpg\tx\n")
    assert read_table(p, delimiter="tab").rows == [{"filename": "a.jpg", "title": "x"}]
    with pytest.raises(UserError, match="--encoding 'nope'"):
        read_table(p, encoding="nope")
    with pytest.raises(UserError, match="not valid utf-8"):
        read_table(write(tmp_path, "filename\nCafé.jpg\n", "cp1252"), encoding="utf-8")
    with pytest.raises(UserError, match="--delimiter must be one character"):
        read_table(p, delimiter=";;")


def test_single_column_nul_bytes_and_huge_fields(tmp_path):
    one_column = read_table(write(tmp_path, "filename\na.jpg\nb.jpg\n"))
    assert one_column.rows == [{"filename": "a.jpg"}, {"filename": "b.jpg"}]
    t = read_table(write(tmp_path, "filename,title\na.jpg,x\x00y\n"))
    assert t.rows[0]["title"] == "xy"
    long = "w" * 300_000
    assert read_table(write(tmp_path, f"filename,description\na.jpg,{long}\n")).rows[0]["description"] == long


def test_empty_and_missing_csv(tmp_path):
    for text in ("", "\n\n", "\ufeff"):
        t = read_table(write(tmp_path, text))
        j = join(t, ["x/Photo 1.jpg"])
        assert j.records["x/Photo 1.jpg"].title == "Photo 1" and not j.images_without_row
    with pytest.raises(UserError, match="cannot read the metadata CSV"):
        read_table(tmp_path / "missing.csv")


def test_missing_columns_name_the_columns_and_the_flag(tmp_path):
    t = read_table(write(tmp_path, "Image;Title\na.jpg;A\n"))
    with pytest.raises(UserError, match=r"no column 'filename'; its columns are: 'Image', 'Title'.*-fn COLUMN"):
        join(t, ["a.jpg"])
    assert join(t, ["a.jpg"], filename_col="image").records["a.jpg"].title == "a"  # case-insensitive
    with pytest.raises(UserError, match=r"-title '\{Name\} \(\{Year\}\)' names 'Name', 'Year'.*Image, Title"):
        join(t, ["a.jpg"], filename_col="Image", title="{Name} ({Year})")
    with pytest.raises(UserError, match=r"-url .*'Id'"):
        join(t, ["a.jpg"], filename_col="Image", url="https://x.org/{Id}")


def test_duplicates_and_unmatched_rows_are_reported(tmp_path):
    t = read_table(write(tmp_path, "filename,title\na.jpg,First\nA.JPG,Second\nghost.jpg,Ghost\n,Blank\n"))
    j = join(t, ["a.jpg", "lonely.png"])
    assert j.records["a.jpg"].title == "First" and j.duplicate_rows == ["A.JPG"]
    assert j.rows_without_image == ["ghost.jpg", "(empty file name)"]
    assert j.images_without_row == ["lonely.png"] and j.records["lonely.png"].title == "lonely"


def test_file_names_resolve_inside_the_image_folder_only(tmp_path):
    root = tmp_path / "images"
    images = ["sub/a.jpg", "b.jpg", "deep/er/c.jpg", "url.jpg", "café.jpg", "inside.jpg"]
    rows = [("sub/a.jpg", "by path"), ("./b.jpg", "dot slash"), ("er\\c.jpg", "windows separators"),
            ("https://archive.example/img/url.jpg?x=1", "url: base name"),
            ("cafe\u0301.jpg", "decomposed accent"), (f"{root}/inside.jpg", "absolute, inside"),
            ("../secret.jpg", "escapes"), ("sub/../../b.jpg", "escapes too"),
            ("/etc/passwd", "absolute outside"), ("C:\\Archive\\b.jpg", "windows absolute")]
    t = read_table(write(tmp_path, as_csv([["filename", "title"], *map(list, rows)])))
    j = join(t, images, root=root)
    titles = {rel: j.records[rel].title for rel in images}
    assert titles == {"sub/a.jpg": "by path", "b.jpg": "dot slash", "deep/er/c.jpg": "windows separators",
                      "url.jpg": "url: base name", "café.jpg": "decomposed accent", "inside.jpg": "absolute, inside"}
    assert sorted(j.refused_rows) == sorted(["../secret.jpg", "sub/../../b.jpg", "/etc/passwd", "C:\\Archive\\b.jpg"])
    assert "out of the image folder" in j.refused_rows["../secret.jpg"]
    assert "absolute path outside" in j.refused_rows["/etc/passwd"]
    assert not j.rows_without_image and not j.images_without_row


def test_header_only_csv_keeps_its_delimiter(tmp_path):
    t = read_table(write(tmp_path, "filename;title\n"))
    assert t.columns == ["filename", "title"] and t.rows == []
    assert join(t, ["a.jpg"]).images_without_row == ["a.jpg"]


PRIVATE_CSV = [["filename", "title", "Year", "donor_email", "internal_notes", "internal_ref", "place"],
               ["p0.png", "Harbour", "1901", "jane.donor@example.org", "cracked frame QX7", "REF-991", "Kiel"],
               ["p1.png", "Market", "1902", "john.giver@example.net", "ask Mara before use QX8", "REF-992", "Kiel"],
               ["p2.png", "Bridge", "1903", "pat.patron@example.com", "restitution claim QX9", "REF-993", "Bonn"],
               ["missing.png", "Ghost", "1904", "ghost.donor@example.org", "lost in 1990 QX0", "REF-994", "Bonn"]]


def test_columns_and_private_columns_choose_the_fields(tmp_path):
    t = read_table(write(tmp_path, as_csv(PRIVATE_CSV)))
    images = ["p0.png", "p1.png", "p2.png"]
    keys = lambda **kw: [f["key"] for f in join(t, images, **kw).fields]  # noqa: E731
    assert keys() == ["Year", "donor_email", "internal_notes", "internal_ref", "place"]
    assert keys(private=["INTERNAL_*", "donor_email"]) == ["Year", "place"]  # patterns, any case
    assert keys(columns=["year", "place", "internal_*"], private=["internal_notes"]) == ["Year", "internal_ref", "place"]
    assert keys(columns=[]) == []
    # -title and -url may use a column left out of --columns, never a private one
    j = join(t, images, columns=["place"], title="{title} ({Year})", url="https://x.org/{internal_ref}")
    assert j.records["p0.png"].title == "Harbour (1901)" and j.records["p0.png"].url == "https://x.org/REF-991"
    with pytest.raises(UserError, match=r"-url 'https://x.org/\{internal_ref\}' uses the private column"):
        join(t, images, url="https://x.org/{internal_ref}", private=["internal_*"])
    with pytest.raises(UserError, match="-title 'donor_email' uses the private column"):
        join(t, images, title="donor_email", private=["donor_email"])
    with pytest.raises(UserError, match="--categories names the private column"):
        join(t, images, categories=["place"], private=["place"])
    with pytest.raises(UserError, match="file-name column"):
        join(t, images, private=["file*"])
    # a misspelt name would publish what was meant to stay private: refused; a pattern may match nothing
    with pytest.raises(UserError, match=r"--private-columns names 'donor_mail', which is no column.*'donor_email'"):
        join(t, images, private=["donor_mail"])
    assert keys(private=["secret_*", "donor_email", "internal_*"]) == ["Year", "place"]
    # a private title column is not the default title
    assert join(t, images, private=["title"]).records["p0.png"].title == "p0"


def test_private_columns_reach_no_file_of_the_site(tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    names = ["p0.png", "p1.png", "p2.png", "p3.png"]
    for i, name in enumerate(names):
        Image.new("RGB", (24, 24), (60 * i, 120, 255 - 60 * i)).save(images / name)
    np.savez(tmp_path / "f.npz", ids=np.array(names), features=np.random.default_rng(0).normal(size=(4, 8)))
    csv_path = write(tmp_path, as_csv(PRIVATE_CSV))
    out = tmp_path / "site"
    run = [sys.executable, str(ROOT / "run.py"), "--images", str(images), "--metadata", str(csv_path),
           "--features", str(tmp_path / "f.npz"), "--no-image-search", "--out", str(out),
           "--cache", str(tmp_path / "cache"), "-url", "https://archive.example/{Year}/"]
    secrets = [v for row in PRIVATE_CSV[1:] for v in row[3:6]]
    site_text = lambda: {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}  # noqa: E731
    r = subprocess.run(run, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    assert any(b"jane.donor@example.org" in data for data in site_text().values())  # by default, published
    r = subprocess.run(run + ["--private-columns", "internal_*,donor_email"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    published = site_text()
    assert len(published) > 10 and any(b"Harbour" in data for data in published.values())  # the site is there
    assert any(b"Kiel" in data for p, data in published.items() if "items" in p.parts)  # public fields are
    for path, data in published.items():
        for secret in secrets:
            assert secret.encode() not in data, (path, secret)
    for secret in secrets:  # nor in the curator's terminal output
        assert secret not in r.stdout
    r = subprocess.run(run + ["--private-columns", "donor_mail"], capture_output=True, text=True)
    assert r.returncode == 2 and "names 'donor_mail', which is no column" in r.stderr
