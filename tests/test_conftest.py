"""conftest.py's one way in to the labelled sets: a test must be marked needs_data to read one, and skips with
one line naming the folder when the sets are absent."""
from types import SimpleNamespace

import pytest

from conftest import labelled_set
from Dermal.inference.datasets import FIXTURES_DIR


def request_of(marked):
    node = SimpleNamespace(nodeid="tests/test_x.py::test_x", get_closest_marker=lambda name: marked or None)
    return SimpleNamespace(node=node)


def test_a_test_not_marked_needs_data_that_reads_a_labelled_set_fails(tmp_path):
    with pytest.raises(pytest.fail.Exception, match="test_x reads derm_eval but is not marked needs_data"):
        labelled_set(request_of(False), tmp_path / "derm_eval")


def test_a_marked_test_skips_naming_the_absent_folder(tmp_path):
    with pytest.raises(pytest.skip.Exception, match=f"{tmp_path / 'derm_eval'} is absent"):
        labelled_set(request_of(True), tmp_path / "derm_eval")


def test_a_marked_test_reads_a_present_folder(fixture_items):
    assert labelled_set(request_of(True), FIXTURES_DIR) == fixture_items
