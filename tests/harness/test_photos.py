"""harness.photos: real labelled folders carry their metadata; a plain folder works; an empty one is refused."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image as PILImage

from Dermal.inference.datasets import FIXTURES_DIR
from harness import ProofError
from harness.photos import (DEFAULT_IMAGES, MODEL_PHOTO_SIZE, describe, load_images, model_photo, scaled_photos,
                            spread)

ROOT = Path(__file__).resolve().parents[2]


def test_real_labelled_images_carry_their_metadata(eval_items):
    images = load_images(DEFAULT_IMAGES)
    assert len(images) == len(eval_items)
    chosen = spread(images, 20)
    assert len({i.path for i in chosen}) == 20
    assert len({i.dx for i in chosen}) == 7  # every class visited
    assert all(i.site for i in images)


def test_a_plain_folder_of_photos_works_and_an_empty_one_is_refused(tmp_path):
    for name in ("a.png", "b.jpg"):
        PILImage.new("RGB", (64, 48), "brown").save(tmp_path / name)
    (tmp_path / "notes.txt").write_text("not a photo")
    assert [i.path.name for i in load_images(tmp_path)] == ["a.png", "b.jpg"]
    with pytest.raises(ProofError):
        load_images(tmp_path / "missing")


def test_a_clone_without_the_labelled_sets_uploads_the_committed_photos(tmp_path, fixture_items):
    """No ../shared (DERMAI_DATA_ROOT empty): the default photos are tests/data's, labelled like the rest."""
    code = ("from harness.photos import DEFAULT_IMAGES, load_images\n"
            "images = load_images(DEFAULT_IMAGES)\n"
            "print(DEFAULT_IMAGES, len(images), len({i.dx for i in images if i.dx and i.site}))")
    done = subprocess.run([sys.executable, "-c", code], env={**os.environ, "DERMAI_DATA_ROOT": str(tmp_path)},
                          cwd=ROOT, capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.split() == [str(FIXTURES_DIR), str(len(fixture_items)),
                                   str(len({item.dx for item in fixture_items}))]


def test_the_model_photo_is_the_same_small_real_photo_whatever_is_uploaded(fixture_items):
    """The first upload, whose memory is the model's figure, must not depend on the folder a run uploads."""
    first, again = model_photo(), model_photo()
    assert first.upload_file() == again.upload_file() and first.size() == MODEL_PHOTO_SIZE == (600, 450)
    assert first.path == fixture_items[0].path and first.dx == "mel" and first.site
    assert first.bytes() < fixture_items[0].path.stat().st_size


def test_describe_names_the_smallest_and_largest_photo(fixture_items):
    shown = describe(load_images(FIXTURES_DIR))
    assert shown["count"] == len(fixture_items)
    assert shown["smallest_px"] == [1024, 768] and shown["largest_px"] == [3072, 2304]
    assert shown["largest_megapixels"] == 7.1 and 0 < shown["largest_mb"] < 1


def test_scaled_photos_are_the_committed_ones_at_the_pixels_asked(tmp_path, fixture_items):
    folder = scaled_photos(tmp_path, 2_000_000, count=2)
    images = load_images(folder)
    assert [image.path.name for image in images] == [item.path.name for item in fixture_items[:2]]
    assert [image.dx for image in images] == [item.dx for item in fixture_items[:2]]
    for image, item in zip(images, fixture_items):
        (width, height), (was_width, was_height) = image.size(), PILImage.open(item.path).size
        assert 1_990_000 < width * height <= 2_000_000 and abs(width / height - was_width / was_height) < 0.01
