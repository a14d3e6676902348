"""The non-lesion photos made after the gate's rules: new, decodable, the same on every run."""
import io

from PIL import Image

from trust.fresh import fresh_photos
from trust.photos import non_lesion_photos


def test_the_fresh_photos_are_new_decodable_jpegs_none_among_the_fitting_ones():
    fresh, fitting = fresh_photos(), non_lesion_photos()
    assert len(fresh) >= 20 and len({p.name for p in fresh + fitting}) == len(fresh) + len(fitting)
    assert not {p.jpeg for p in fresh} & {p.jpeg for p in fitting}
    assert [p.jpeg for p in fresh] == [p.jpeg for p in fresh_photos()]
    for photo in fresh:
        with Image.open(io.BytesIO(photo.jpeg)) as image:
            assert image.format == "JPEG" and min(image.size) >= 64, photo.name


def test_each_fresh_photo_shows_something():
    for photo in fresh_photos():
        with Image.open(io.BytesIO(photo.jpeg)) as image:
            assert max(band_range[1] - band_range[0] for band_range in image.getextrema()) > 30, photo.name
