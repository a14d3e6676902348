"""The non-lesion photos the gate is fitted and measured on: made at run time, the same on every run."""
import io

import numpy as np
import pytest
from PIL import Image

from trust.photos import (PHONE_WIDTH, at_phone_width, chart_photos, generated_photos,
                          library_photos, non_lesion_photos, skimage_photos, spoiled_photo)


def test_every_non_lesion_photo_is_a_decodable_jpeg_with_a_group():
    photos = non_lesion_photos()
    assert len(photos) >= 50 and len({p.name for p in photos}) == len(photos)
    for photo in photos:
        with Image.open(io.BytesIO(photo.jpeg)) as image:
            assert image.format == "JPEG" and min(image.size) >= 64, photo.name
        assert photo.group and photo.family


def test_crops_share_their_pictures_group():
    crops = [p for p in skimage_photos() + library_photos() if "crop" in p.name]
    assert len(crops) >= 20 and all(p.name.startswith(p.group) for p in crops)


def test_generated_photos_are_the_same_on_every_run():
    assert [p.jpeg for p in generated_photos()] == [p.jpeg for p in generated_photos()]
    assert [p.jpeg for p in chart_photos()] == [p.jpeg for p in chart_photos()]


def test_spoiled_photos_are_at_phone_width_darkened_brightened_or_blurred(fixture_items):
    item = fixture_items[0]
    original = np.asarray(at_phone_width(item.path).convert("L"), np.float64)

    def grey(spoil):
        with Image.open(io.BytesIO(spoiled_photo(item, spoil))) as image:
            assert image.width == PHONE_WIDTH, spoil
            return np.asarray(image.convert("L"), np.float64)

    assert grey("darkened to 30%").mean() == pytest.approx(0.3 * original.mean(), rel=0.05)
    assert grey("brightened 2x").mean() > original.mean()
    assert np.abs(np.diff(grey("blurred, 3 px"))).mean() < 0.5 * np.abs(np.diff(original)).mean()


def test_a_colour_cast_scales_the_channels(fixture_items):
    item = fixture_items[0]
    original = np.asarray(at_phone_width(item.path), np.float64).reshape(-1, 3).mean(axis=0)
    with Image.open(io.BytesIO(spoiled_photo(item, "blue cast"))) as image:
        tinted = np.asarray(image, np.float64).reshape(-1, 3).mean(axis=0)
    assert tinted / original == pytest.approx([0.8, 1.0, 1.2], abs=0.03)
