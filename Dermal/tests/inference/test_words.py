"""The inference layer's messages for people: marked for translation without Django, carried as a message id and its
values, and English, exactly as before, when read as text."""
import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from Dermal.inference import bundle, imaging, words
from Dermal.inference.bundle import MetadataError
from Dermal.inference.quality import MESSAGES, QualityWarning

ROOT = Path(__file__).resolve().parents[3]


def test_gettext_noop_marks_and_changes_nothing():
    message = "the file is empty"
    assert words.gettext_noop(message) is message


def test_fill_puts_the_values_in_and_leaves_a_message_without_values_alone():
    assert words.fill("the photo is %(size)s", {"size": "12 MB"}) == "the photo is 12 MB"
    assert words.fill("100% sure", {}) == "100% sure"
    assert words.fill("no values", {"unused": 1}) == "no values"


@pytest.mark.parametrize("value, places, text", [(12.345, 1, "12.3"), (1.96, 1, "2.0"), (40.0, 0, "40"),
                                                 (2.5, 0, "2"), (0.786432, 1, "0.8")])
def test_a_decimal_reads_as_the_english_format_did(value, places, text):
    assert isinstance(words.decimal(value, places), Decimal)
    assert str(words.decimal(value, places)) == f"{value:.{places}f}" == text


def test_the_inference_layer_imports_no_django():
    """Offline tools import it without Django settings."""
    probe = ("import json, sys\n"
             "import Dermal.inference.words, Dermal.inference.imaging, Dermal.inference.bundle, "
             "Dermal.inference.quality\n"
             "print(json.dumps(sorted(name for name in sys.modules if name.split('.')[0] == 'django')))")
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env={"PATH": "/usr/bin:/bin"},
                          capture_output=True, text=True, check=True, timeout=120)
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []


def test_an_image_error_carries_its_message_id_and_values_and_reads_in_english():
    with pytest.raises(imaging.ImageTooLarge) as refused:
        imaging._check_pixels(8000, 6000)
    error = refused.value
    assert str(error) == "the photo is 8000x6000 (48.0 megapixels); the limit is 40 megapixels"
    assert error.message_id == ("the photo is %(width)sx%(height)s (%(megapixels)s megapixels); "
                                "the limit is %(limit)s megapixels")
    assert error.params == {"width": 8000, "height": 6000, "megapixels": Decimal("48.0"), "limit": Decimal("40")}
    assert error.status == 413


@pytest.mark.parametrize("data, status, text", [
    (b"", 400, "the file is empty"),
    (b"not an image at all" * 10, 415, "the file is not an image in a supported format (JPEG, PNG, WebP, TIFF or BMP)"),
])
def test_image_errors_without_values(data, status, text):
    with pytest.raises(imaging.ImageError) as refused:
        imaging.open_photo(data, 254)
    assert (refused.value.status, str(refused.value), refused.value.message_id, refused.value.params) == \
        (status, text, text, {})


def test_an_unsupported_format_is_named_and_the_formats_listed(lesion_image):
    import io

    gif = io.BytesIO()
    lesion_image.resize((64, 48)).save(gif, "GIF")
    with pytest.raises(imaging.UnsupportedImage) as refused:
        imaging.open_photo(gif.getvalue(), 254)
    assert str(refused.value) == f"GIF images are not supported; use {imaging.FORMAT_NAMES}"
    assert refused.value.params == {"format": "GIF"}


@pytest.fixture(scope="module")
def manifest():
    return bundle.read_manifest(bundle.DEFAULT_BUNDLE_DIR)


@pytest.mark.parametrize("fields, field, text, params", [
    ({"sex": "robot"}, "sex", "sex must be one of female, male, unknown (got 'robot')",
     {"field": "sex", "values": "female, male, unknown", "value": "'robot'"}),
    ({"site": "Moon"}, "site", "site must be one of arm, head-or-neck, leg-or-genital, trunk, unknown (got 'moon')",
     {"field": "site", "values": "arm, head-or-neck, leg-or-genital, trunk, unknown", "value": "'moon'"}),
    ({"age": "forty"}, "age", "age must be a number of years (got 'forty')", {"field": "age", "value": "'forty'"}),
    ({"age": 130}, "age", "age must be between 0 and 120 years (got 130)",
     {"field": "age", "limit": "120", "value": "130"}),
])
def test_a_metadata_error_carries_its_message_id_and_values_and_reads_in_english(manifest, fields, field, text,
                                                                                 params):
    with pytest.raises(MetadataError) as refused:
        bundle.encode_metadata(manifest, **fields)
    error = refused.value
    assert (error.field, str(error), error.params) == (field, text, params)
    assert words.fill(error.message_id, error.params) == text and "%(field)s" in error.message_id


def test_quality_warnings_stay_english_and_are_their_own_message_ids():
    assert all(message.endswith(".") for message in MESSAGES.values())
    assert QualityWarning("blurry", MESSAGES["blurry"]).message.startswith("The photo looks blurred")
