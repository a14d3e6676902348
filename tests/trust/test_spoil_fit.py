"""Badly taken lesion photos, through the real engine and the committed bundle's gate."""
import pytest

from Dermal.inference.bundle import bundle_dir, check_bundle, load_scope_reference
from Dermal.inference.engines import get_engine
from Dermal.inference.scope import FEATURELESS_DETAIL, NOISE_STRUCTURE, RULED, UNLIKE_SKIN_SHARE
from trust.photos import SPOILS
from trust.spoil_fit import read_spoiled, spoil_figures


@pytest.fixture(scope="module")
def gate():
    manifest, precision, _ = check_bundle(bundle_dir())
    return load_scope_reference(bundle_dir(), manifest, precision)


@pytest.fixture(scope="module")
def figures(fixture_items, gate):
    return spoil_figures(gate, read_spoiled(fixture_items[:4], get_engine()))


def test_every_spoil_is_counted_on_every_photo_and_earns_its_warning(figures):
    assert list(figures) == list(SPOILS)
    for spoil, counts in figures.items():
        assert counts["photos"] == 4 and counts["warned"] == (4 if SPOILS[spoil][0] else None), spoil


def test_badly_taken_photos_are_never_served_as_not_a_lesion(figures):
    for spoil, counts in figures.items():
        assert counts["served"] == 0, spoil


def test_the_allowances_only_ever_lower_what_the_gate_alone_says(figures):
    for spoil, counts in figures.items():
        assert counts["served"] <= counts["gate_alone"], spoil
    assert figures["darkened to 15%"]["gate_alone"] == 4  # what the allowances spare


def test_no_badly_taken_photo_comes_near_the_bars_past_which_no_warning_excuses_a_photo(figures):
    for spoil, counts in figures.items():
        assert counts["most_unlike_skin"] < 0.6 * UNLIKE_SKIN_SHARE, spoil
        assert counts["least_detail"] > 1.5 * FEATURELESS_DETAIL, spoil
        assert counts["least_structure"] > 1.5 * NOISE_STRUCTURE, spoil
        assert counts["most_ruled"] < 0.5 * RULED, spoil


def test_no_badly_exposed_photo_goes_beyond_the_natural_distance_no_exposure_warning_excuses(figures, gate):
    for spoil in ("darkened to 30%", "darkened to 15%", "brightened 2x"):
        assert figures[spoil]["farthest_natural"] < gate["thresholds"]["natural"], spoil
