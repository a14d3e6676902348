"""Where the heatmap is warm, in words for its text alternative."""
import numpy as np
import pytest
from django.utils import translation

from Dermal.inference.overlay import REGIONS, heatmap_focus
from Dermal.templatetags.dermal_format import heatmap_alt


def hot_square(row, col, size=8):
    """An 8x8 map (the backbone's grid) warm in one cell, cool elsewhere."""
    cam = np.full((size, size), 0.1)
    cam[row, col] = 1.0
    return cam


@pytest.mark.parametrize("row, col, region", [
    (0, 0, "top_left"), (0, 4, "top"), (0, 7, "top_right"), (4, 0, "left"), (4, 4, "centre"), (3, 7, "right"),
    (7, 0, "bottom_left"), (7, 3, "bottom"), (7, 7, "bottom_right"),
])
def test_the_region_is_the_third_of_the_photo_where_the_map_is_warm(row, col, region):
    focus = heatmap_focus(hot_square(row, col))
    assert focus == {"region": region, "share": round(1 / 64, 2)}
    assert region in {name for third in REGIONS for name in third}


def test_the_share_is_the_part_of_the_photo_at_half_the_peak_or_more():
    cam = np.zeros((8, 8))
    cam[2:6, 2:6] = np.linspace(0.5, 1.0, 16).reshape(4, 4)  # a warm centre, a quarter of the photo
    assert heatmap_focus(cam) == {"region": "centre", "share": 0.25}


@translation.override("en")
def test_a_blank_map_has_no_focus_and_says_so():
    assert heatmap_focus(np.zeros((8, 8))) is None
    assert heatmap_alt(None) == "Grad-CAM heatmap over the photo: no part of the photo stood out for the prediction."


@translation.override("en")
def test_the_text_alternative_names_the_region_and_the_share():
    assert heatmap_alt({"region": "top_left", "share": 0.21}) == (
        "Grad-CAM heatmap over the photo: what drove the prediction lies in the upper left of the photo, "
        "shown in warm colours over about 20% of it.")
