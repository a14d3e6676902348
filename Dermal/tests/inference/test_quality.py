"""Photo-quality warnings on real photos and on damaged copies of them."""
import numpy as np
import pytest
from PIL import Image, ImageEnhance, ImageFilter

from Dermal.inference import imaging
from Dermal.inference.quality import photo_warnings


def codes(pixels, original_size=None):
    batch = imaging.model_input(np.asarray(pixels), 254, 254)
    return [w.code for w in photo_warnings(batch, original_size or (pixels.width, pixels.height))]


@pytest.fixture(scope="module")
def sharp_heldout_photo(fixture_items):
    """The largest held-out photo committed, at its full resolution, as the upload path decodes it."""
    largest = max(fixture_items, key=lambda item: item.path.stat().st_size)
    return Image.fromarray(np.ascontiguousarray(imaging.open_photo(largest.read(), 254).pixels))


def test_no_real_photo_gets_a_warning(eval_items, heldout_items):
    flagged = {}
    for item in [*eval_items, *heldout_items]:
        photo = imaging.open_photo(item.read(), 254)
        found = [w.code for w in photo_warnings(imaging.model_input(photo.pixels, 254, 254), photo.original_size)]
        if found:
            flagged[item.path.name] = found
    assert not flagged


def test_blurred_copy_is_flagged_blurry(sharp_heldout_photo):
    sigma = sharp_heldout_photo.width / 254  # one model-input pixel
    assert codes(sharp_heldout_photo.filter(ImageFilter.GaussianBlur(sigma))) == ["blurry"]


def test_darkened_copy_is_flagged_too_dark(sharp_heldout_photo):
    assert codes(ImageEnhance.Brightness(sharp_heldout_photo).enhance(0.3)) == ["too_dark"]


def test_overexposed_copy_is_flagged_too_bright(sharp_heldout_photo):
    assert "too_bright" in codes(ImageEnhance.Brightness(sharp_heldout_photo).enhance(2.5))


def test_tiny_photo_is_flagged_too_small(sharp_heldout_photo):
    assert "too_small" in codes(sharp_heldout_photo.resize((200, 150)))


def test_every_warning_has_a_plain_sentence(sharp_heldout_photo):
    dark_blurred = ImageEnhance.Brightness(sharp_heldout_photo.filter(ImageFilter.GaussianBlur(20))).enhance(0.2)
    batch = imaging.model_input(np.asarray(dark_blurred.resize((120, 90))), 254, 254)
    found = photo_warnings(batch, (120, 90))
    assert {w.code for w in found} == {"blurry", "too_dark", "too_small"}
    assert all(w.message.endswith(".") and len(w.message) > 30 for w in found)
