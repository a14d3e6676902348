"""The trust section of docs/EVALUATION.md: replaced in place, the rest of the file left as another command wrote it."""
from trust.report import BEGIN, END, scope_rows, share, write_section


def test_the_section_replaces_only_its_own_block(tmp_path):
    path = tmp_path / "EVALUATION.md"
    path.write_text(f"# Evaluation\n\nheld-out figures\n\n{BEGIN}\nold figures\n{END}\n\nmore\n")
    write_section(path, f"{BEGIN}\nnew figures\n{END}")
    text = path.read_text()
    assert "new figures" in text and "old figures" not in text
    assert text.startswith("# Evaluation\n\nheld-out figures") and text.rstrip().endswith("more")


def test_the_section_is_appended_to_a_file_without_one(tmp_path):
    path = tmp_path / "EVALUATION.md"
    path.write_text("# Evaluation\n")
    write_section(path, f"{BEGIN}\nfigures\n{END}")
    assert path.read_text() == f"# Evaluation\n\n{BEGIN}\nfigures\n{END}\n"


def test_rates_carry_counts_and_wilson_intervals():
    assert share(1, 97) == "1/97 = 1.0% [0.2%, 5.6%]"
    rows = scope_rows({"derm_heldout": {"lesion": 93, "unusual": 3, "not_a_lesion": 1}})
    assert rows[2].startswith("| derm_heldout | 97 | 93/97 = 95.9%") and "1/97 = 1.0% [0.2%, 5.6%] |" in rows[2]
