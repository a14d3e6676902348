"""Badly exposed lesion photos, through the real engine and the committed bundle's gate."""
import pytest

from Dermal.inference.bundle import bundle_dir, check_bundle, load_scope_reference
from Dermal.inference.engines import get_engine
from trust.exposure_fit import read_relit, relit_figures
from trust.photos import RELIGHTINGS


@pytest.fixture(scope="module")
def figures(fixture_items):
    manifest, precision, _ = check_bundle(bundle_dir())
    gate = load_scope_reference(bundle_dir(), manifest, precision)
    return relit_figures(gate, read_relit(fixture_items[:4], get_engine()))


def test_every_relighting_is_counted_on_every_photo(figures):
    assert list(figures) == list(RELIGHTINGS)
    assert all(counts["photos"] == 4 for counts in figures.values())


def test_darkened_photos_carry_their_warning_and_are_never_served_as_not_a_lesion(figures):
    for name in ("darkened to 30%", "darkened to 15%"):
        assert figures[name]["warned"] == 4, name
        assert figures[name]["served"] == 0, name


def test_the_exposure_rule_only_ever_lowers_what_the_gate_alone_says(figures):
    for name, counts in figures.items():
        assert counts["served"] <= counts["gate_alone"], name
    assert figures["brightened 2x"]["warned"] == 4 and figures["brightened 2x"]["served"] == 0
