"""The report: matplotlib figures as PNG, one self-contained HTML page, the same figures as JSON, Markdown."""
import io
import json
import re

import pytest
from PIL import Image

from Dermal.measure import figures as pictures, report, scoring

CONTEXT = {"name": "fixtures", "folder": "tests/data", "bundle_version": "sklesion 0.2.2, int8",
           "generated": "2026-11-29 07:00 UTC", "command": "python manage.py evaluate tests/data",
           "threshold_source": "0.0062, chosen on derm_heldout"}


@pytest.fixture(scope="module")
def figures(fixture_rows, class_info):
    return scoring.evaluate(fixture_rows, class_info, rounds=300)


def test_every_figure_is_a_png_drawn_by_matplotlib(figures):
    drawn = pictures.all_figures(figures)
    assert set(drawn) == {"confusion", "recall", "roc", "reliability"}
    for png in drawn.values():
        with Image.open(io.BytesIO(png)) as image:
            assert image.format == "PNG" and image.width >= 300 and image.height >= 250


def test_no_roc_without_both_melanomas_and_nevi(figures):
    assert pictures.roc({**figures, "melanoma_vs_nevus": None}) is None


def test_the_html_is_self_contained_and_the_json_holds_the_same_figures(figures, tmp_path):
    html_path, json_path = report.write(tmp_path, {**figures, "most_wrong": []}, CONTEXT)
    html = html_path.read_text()
    assert not re.search(r"""(src|href)=["'](?!data:)""", html)  # nothing fetched: every picture inline
    assert html.count("data:image/png;base64,") == 4 and report.headline(figures) in html
    assert "too few photos to mean much" in html and "bkl" in html
    data = json.loads(json_path.read_text())
    assert data["accuracy"] == json.loads(json.dumps(figures["accuracy"]))
    assert data["confusion"] == figures["confusion"] and data["command"] == CONTEXT["command"]


def test_markdown_section_has_the_headline_and_a_row_per_class_present(figures):
    lines = report.markdown(figures, CONTEXT)
    assert lines[0] == report.headline(figures) + "."
    assert sum(line.startswith(f"| {c} | ") for c in figures["counts"] for line in lines) == 2 * len(figures["counts"])
    assert any("Too few photos" in line and "akiec" in line for line in lines)
