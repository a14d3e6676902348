"""The non-lesion photos the gate is fitted and measured on: made at run time, the same on every run."""
import io

import numpy as np
import pytest
from PIL import Image

from trust.photos import (PHONE_WIDTH, chart_photos, generated_photos, library_photos, non_lesion_photos, relit,
                          skimage_photos)


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


def test_relit_photos_are_at_phone_width_with_their_brightness_scaled(fixture_items):
    item = fixture_items[0]

    def grey(jpeg):
        with Image.open(io.BytesIO(jpeg)) as image:
            return image.width, float(np.asarray(image.convert("L"), np.float64).mean())

    width, level = grey(relit(item, 1.0))
    assert width == PHONE_WIDTH
    assert grey(relit(item, 0.3))[1] == pytest.approx(0.3 * level, rel=0.05)
    assert grey(relit(item, 2.0))[1] > level
