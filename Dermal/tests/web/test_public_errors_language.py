"""Public errors in the reader's language: the engine's English message ids translated and filled in here, with
numbers in the language's format; the field's code and the status as they were; the operator's words English."""
from decimal import Decimal

import pytest
from django.utils import translation

from Dermal.inference import imaging
from Dermal.inference.bundle import BundleError, DEFAULT_BUNDLE_DIR, encode_metadata, read_manifest
from Dermal.public_errors import MODEL_UNAVAILABLE, on_field, refusal, translated
from Dermal.exceptions import ModelUnavailable, ServerBusy, UploadRefused
from Dermal.services import engine_errors


def refused(action):
    """The UploadRefused or ModelUnavailable that engine_errors makes of what `action()` raises."""
    with pytest.raises((UploadRefused, ModelUnavailable)) as caught, engine_errors():
        action()
    return caught.value


def public_in(language, exc):
    with translation.override(language):
        return refusal(exc)


def test_an_image_error_is_translated_with_a_decimal_comma_in_vietnamese():
    exc = refused(lambda: imaging._check_pixels(8000, 6000))
    english, vietnamese = public_in("en", exc), public_in("vi", exc)
    assert english.message == \
        "The photo could not be analysed: the photo is 8000x6000 (48.0 megapixels); the limit is 40 megapixels."
    assert (english.status, english.field) == (vietnamese.status, vietnamese.field) == (413, "image")
    with translation.override("vi"):
        template = translation.gettext(exc.message_id)
        assert vietnamese.message == on_field("image", template % {
            "width": 8000, "height": 6000, "megapixels": "48,0", "limit": "40"})
    assert vietnamese.message.startswith("Không phân tích được ảnh: ")


def test_an_image_error_goes_through_the_catalogue(pseudo_vietnamese):
    exc = refused(lambda: imaging.open_photo(b"", 254))
    assert public_in("vi", exc).message == "[vi] The photo could not be analysed: [vi] the file is empty."
    assert public_in("en", exc).message == "The photo could not be analysed: the file is empty."


def test_a_metadata_error_keeps_its_field_and_is_translated(pseudo_vietnamese):
    manifest = read_manifest(DEFAULT_BUNDLE_DIR)
    exc = refused(lambda: encode_metadata(manifest, sex="robot"))
    english, vietnamese = public_in("en", exc), public_in("vi", exc)
    assert english.message == "The sex could not be used: the sex must be one of female, male, unknown (got 'robot')."
    assert vietnamese.message == \
        "[vi] The sex could not be used: [vi] [vi] the sex must be one of female, male, unknown (got 'robot')."
    assert (english.status, english.field) == (vietnamese.status, vietnamese.field) == (400, "sex")


def test_busy_is_translated_and_keeps_retry_after(pseudo_vietnamese):
    vietnamese = public_in("vi", ServerBusy(retry_after=5))
    assert vietnamese.message == "[vi] DermAI is busy with other analyses: please retry in a few seconds"
    assert (vietnamese.status, vietnamese.headers()) == (503, {"Retry-After": "5"})
    assert public_in("en", ServerBusy(retry_after=5)).message == str(ServerBusy(retry_after=5))


def test_an_unavailable_model_is_said_in_the_readers_language_and_the_bundle_problem_in_english(pseudo_vietnamese):
    def broken_bundle():
        raise BundleError("DERMAL_BUNDLE_DIR/head.npz is missing: restore it or run quantize_model.py")

    exc = refused(broken_bundle)
    assert public_in("vi", exc).message == "[vi] the model is unavailable: DERMAL_BUNDLE_DIR/head.npz is missing: " \
                                           "restore it or run quantize_model.py"
    assert public_in("en", exc).message == "the model is unavailable: DERMAL_BUNDLE_DIR/head.npz is missing: " \
                                           "restore it or run quantize_model.py"
    assert MODEL_UNAVAILABLE == "the model is unavailable: %(problem)s"


def test_a_refusal_made_elsewhere_in_words_already_its_readers_keeps_them_without_the_fields_code():
    exc = UploadRefused(400, "age: Enter a whole number.", "age")
    assert public_in("vi", exc).message == "Không dùng được tuổi đã nhập: enter a whole number."


def test_numbers_follow_the_language_and_other_values_do_not():
    params = {"size": Decimal("12.5"), "count": 3, "name": "1.5"}
    assert translated("%(size)s, %(count)s, %(name)s", params) == "12.5, 3, 1.5"
    with translation.override("vi"):
        assert translated("%(size)s, %(count)s, %(name)s", params) == "12,5, 3, 1.5"
