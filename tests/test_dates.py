"""Dates as curators write them (pipeline/dates.py): one test per form the issue names, and the
report of what cannot be read."""
import pytest

from pipeline.dates import YearRange, describe_unreadable, unreadable, year_of, year_range


def span(text):
    r = year_range(text)
    return None if r is None else (r.earliest, r.latest)


def test_iso_dates_and_times():
    assert span("1890-05-03") == (1890, 1890)
    assert span("1890-05") == (1890, 1890)
    assert span("2018-04-01T12:30:00Z") == (2018, 2018)
    assert span("2019-13-01") is None  # no 13th month


def test_plain_years_and_prose_dates():
    assert span("1890") == (1890, 1890)
    assert span(" 2018 ") == (2018, 2018)
    assert span("3 May 1890") == (1890, 1890)
    assert span("June 3, 1890") == (1890, 1890)


@pytest.mark.parametrize("text", ["c. 1890", "ca. 1890", "circa 1890", "c.1890"])
def test_circa(text):
    assert span(text) == (1890, 1890)


@pytest.mark.parametrize("text", ["1890-1895", "1890 - 1895", "1890–1895", "1890-95", "between 1890 and 1895"])
def test_year_ranges(text):
    assert span(text) == (1890, 1895)


def test_decades():
    assert span("1890s") == (1890, 1899)
    assert span("the 1920s") == (1920, 1929)


def test_centuries():
    assert span("19th century") == (1800, 1899)
    assert span("19th c.") == (1800, 1899)
    assert span("17th-18th century") == (1600, 1799)
    assert span("1st century") == (0, 99)


def test_circa_range():
    assert span("ca. 1650-1700") == (1650, 1700)


def test_open_ranges():
    assert span("before 1900") == (None, 1900)
    assert span("after 1900") == (1900, None)
    assert year_of("before 1900") == 1900 and year_of("after 1900") == 1900


@pytest.mark.parametrize("text, expected", [
    ("1890~", (1890, 1890)),          # approximate
    ("1890?", (1890, 1890)),          # uncertain
    ("189X", (1890, 1899)),           # unspecified digit
    ("18XX", (1800, 1899)),
    ("1890/1895", (1890, 1895)),      # interval
    ("../1900", (None, 1900)),        # open start
    ("1890/..", (1890, None)),
    ("-0500", (-500, -500)),          # 501 BCE in EDTF's astronomical numbering
])
def test_edtf(text, expected):
    assert span(text) == expected


@pytest.mark.parametrize("text", ["", "   ", "n.d.", "undated", "unknown", "s.d."])
def test_no_date_is_none_and_not_reported(text):
    assert year_range(text) is None
    assert not unreadable([text])


@pytest.mark.parametrize("text", ["hello", "XXXX", "12345", "the blue period", "<script>1</script>"])
def test_what_is_no_date_is_none(text):
    assert year_range(text) is None


def test_single_year_is_the_earliest():
    assert YearRange(1890, 1899).year == 1890
    assert year_of("1890s") == 1890 and year_of("ca. 1650-1700") == 1650 and year_of("junk") is None


def test_unreadable_values_are_counted_with_examples():
    values = ["1890", "soon", "soon", "later", "", "n.d.", "1890s"]
    assert unreadable(values) == {"soon": 2, "later": 1}
    line = describe_unreadable("date", values)
    assert "3 values" in line and "2 distinct" in line and "'soon' (2)" in line and "'later'" in line
    assert describe_unreadable("date", ["1890", ""]) is None


def test_year_facet_uses_the_same_parse():
    import numpy as np

    from pipeline.columns import Columns, resolve
    from pipeline.metadata import Record
    from pipeline.site import Collection, collection_json
    values = ["c. 1890", "19th century", "1890/1895", "nonsense", ""]
    c = Collection(id="t", title="t", description="", credit="", credit_url="",
                   fields=[{"key": "date", "label": "Date", "kind": "year"}], ids=[f"{i}.png" for i in range(5)],
                   records=[Record(str(i), None, [v]) for i, v in enumerate(values)], previews=[],
                   cells=np.arange(5), xy=np.zeros((5, 2)), similar=np.zeros((5, 0)), scores=np.zeros((5, 0)),
                   cols=3, rows=2, cell=(8, 8))
    cols = Columns()
    data = resolve(collection_json(c, 1000, cols), cols.files.__getitem__)
    assert data["years"]["date"] == [1890, 1800, 1890, None, None]
    assert data["year_ranges"]["date"] == {"1": [1800, 1899], "2": [1890, 1895]}
