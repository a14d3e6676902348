"""The results table survives interruption: finished rows are kept, a row cut short is dropped, a failed photo
is tried again, and the finished table appears in input order all at once."""
import csv

import pytest

from Dermal.measure import table


@pytest.fixture
def columns(codes):
    return table.fields(codes)


def cells(columns, path, error="", flip="False", total="0.5"):
    return {**dict.fromkeys(columns, ""), "path": path, "error": error, "flip_average": flip, "seconds_total": total}


def test_a_fresh_table_is_only_a_partial_until_finished(tmp_path, columns):
    out = tmp_path / "out.csv"
    rows = table.ResumableTable(out, columns, flip_average=False)
    rows.add(cells(columns, "b.jpg"))
    rows.add(cells(columns, "a.jpg"))
    rows.close()
    assert not out.exists() and rows.partial.is_file()
    finished = rows.finish(["a.jpg", "b.jpg"])
    assert [r["path"] for r in finished] == [r["path"] for r in table.read_table(out)] == ["a.jpg", "b.jpg"]
    assert not rows.partial.exists()


def test_an_interrupted_table_resumes_with_its_finished_rows_only(tmp_path, columns):
    out = tmp_path / "out.csv"
    first = table.ResumableTable(out, columns, flip_average=False)
    first.add(cells(columns, "a.jpg", total="0.1"))
    first.add(cells(columns, "b.jpg", error="the file is not an image"))
    first.close()
    with open(first.partial, "a") as handle:
        handle.write("c.jpg,c,nv,4")  # a row cut short by the interruption: no newline
    again = table.ResumableTable(out, columns, flip_average=False)
    assert set(again.done) == {"a.jpg"}  # b failed: tried again; c was cut short: analysed again
    again.add(cells(columns, "b.jpg"))
    again.add(cells(columns, "c.jpg"))
    again.close()
    finished = again.finish(["a.jpg", "b.jpg", "c.jpg"])
    assert [(r["path"], r["error"], r["seconds_total"]) for r in finished] == [
        ("a.jpg", "", "0.1"), ("b.jpg", "", "0.5"), ("c.jpg", "", "0.5")]
    with open(out, newline="") as handle:
        assert len(list(csv.reader(handle))) == 4


def test_rows_of_the_other_mode_or_another_layout_are_not_reused(tmp_path, columns):
    out = tmp_path / "out.csv"
    single = table.ResumableTable(out, columns, flip_average=False)
    single.add(cells(columns, "a.jpg"))
    single.close()
    assert table.ResumableTable(out, columns, flip_average=True).done == {}
    assert table.ResumableTable(out, columns[:-1], flip_average=False).done == {}


def test_a_stream_table_writes_each_row_at_once(columns):
    import io

    stream = io.StringIO()
    rows = table.StreamTable(columns, stream)
    rows.add(cells(columns, "a.jpg"))
    assert stream.getvalue().splitlines()[1].startswith("a.jpg,")
    assert rows.finish(["a.jpg"])[0]["path"] == "a.jpg"


def test_two_tables_differ_where_a_value_does_beyond_the_tolerance_but_never_in_timings(fixture_rows):
    rows = [dict(row) for row in fixture_rows[:3]]
    nudged = [{**row, "seconds_total": "99", "gradcam_png": "elsewhere.png"} for row in rows]
    assert table.differences(nudged, rows) == []
    nudged[1]["p_mel"] = repr(float(rows[1]["p_mel"]) + 1e-10)
    assert table.differences(nudged, rows) == []
    nudged[1]["p_mel"], nudged[2]["top_class"] = repr(float(rows[1]["p_mel"]) + 1e-8), "vasc"
    assert [(path, column) for path, column, *_ in table.differences(nudged, rows)] == \
        [(rows[1]["path"], "p_mel"), (rows[2]["path"], "top_class")]
    assert table.differences(nudged[:2], rows) == [("", "path", 2, 3)]  # a photo missing is a difference too
