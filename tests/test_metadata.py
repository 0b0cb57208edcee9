import pytest

from pipeline import UserError
from pipeline.metadata import join, read_table, safe_url


def csv(tmp_path, text, encoding="utf-8"):
    p = tmp_path / "m.csv"
    p.write_bytes(text.encode(encoding))
    return p


def test_join_by_base_name_with_templates(tmp_path):
    t = read_table(csv(tmp_path, "filename,Name,Year,Id,kind\nx/a.jpg,Alpha,1901,7,photo\n"
                                 "b.jpg,Beta,1950,8,print\nc.jpg,Gamma,,9,photo\n"))
    j = join(t, ["a.jpg", "sub/b.jpg", "d.jpg"], title="{Name} ({Year})", url="https://archive.example/{Id}/")
    assert j.records["a.jpg"].title == "Alpha (1901)"
    assert j.records["sub/b.jpg"].url == "https://archive.example/8/"
    assert j.rows_without_image == ["c.jpg"] and j.images_without_row == ["d.jpg"]
    assert j.records["d.jpg"].title == "d"
    assert [f["key"] for f in j.fields] == ["Name", "Year", "Id", "kind"]


def test_missing_columns_are_user_errors(tmp_path):
    t = read_table(csv(tmp_path, "file,title\na.jpg,A\n"))
    with pytest.raises(UserError, match="-fn COLUMN"):
        join(t, ["a.jpg"])
    with pytest.raises(UserError, match="'Nope'.*file, title"):
        join(t, ["a.jpg"], filename_col="file", title="{Nope}")


def test_encodings_and_delimiters(tmp_path):
    t = read_table(csv(tmp_path, "filename;title\na.jpg;Café\n", "cp1252"))
    assert t.rows == [{"filename": "a.jpg", "title": "Café"}]
    t = read_table(csv(tmp_path, "\ufefffilename\ttitle\na.jpg\t\"two\nlines\"\n", "utf-16"))
    assert t.rows[0]["title"] == "two\nlines"


def test_only_http_and_relative_links():
    assert safe_url("https://x.org/a") == "https://x.org/a"
    assert safe_url("records/1.html") == "records/1.html"
    for bad in ("javascript:alert(1)", "JaVaScRiPt:x", "data:text/html,x", "//evil.example/", "vbscript:x"):
        assert safe_url(bad) is None


def test_detects_facets_and_years(tmp_path):
    rows = "".join(f"i{i}.jpg,{['map', 'photo'][i % 2]},{1900 + i},note {i}\n" for i in range(20))
    t = read_table(csv(tmp_path, "filename,type,date,note\n" + rows))
    kinds = {f["key"]: f["kind"] for f in join(t, [f"i{i}.jpg" for i in range(20)]).fields}
    assert kinds == {"type": "category", "date": "year", "note": "text"}


def test_url_template_values_are_percent_encoded(tmp_path):
    t = read_table(csv(tmp_path, "filename,Id,Name,link,base\n"
                                 "a.jpg,a b?x=1#top,Café & Co,https://x.org/r?id=1&v=2,https://mirror.example\n"
                                 "b.jpg,2021/07,Ann,records/b.html?p=1,javascript:alert(1)//\n"))
    url = lambda template, rel="a.jpg": join(t, ["a.jpg", "b.jpg"], url=template).records[rel].url  # noqa: E731
    # a value stays in its place: no query, fragment or space of its own; accents as UTF-8
    assert url("https://archive.example/{Id}/") == "https://archive.example/a%20b%3Fx%3D1%23top/"
    assert url("https://archive.example/search?q={Name}") == "https://archive.example/search?q=Caf%C3%A9%20%26%20Co"
    assert url("https://archive.example/{Id}/", "b.jpg") == "https://archive.example/2021/07/"  # / kept
    # a column given whole, and a full URL that starts a template, are links as written
    assert url("link") == "https://x.org/r?id=1&v=2" and url("{link}", "b.jpg") == "records/b.html?p=1"
    assert url("{base}/{Id}") == "https://mirror.example/a%20b%3Fx%3D1%23top"
    assert url("{base}/{Id}", "b.jpg") is None  # still only http(s) or relative links
