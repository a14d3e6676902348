"""Fuzzing the upload path with what test_bad_inputs.py leaves out: real photos damaged at random (bit
flips, cuts, insertions, repeated chunks, forged image sizes) and random form fields, file names and
content types, through the page and the API. Any answer but a 500: a 200 with a real prediction, or a 4xx
that names the field at fault.
"""
import os
import struct

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st

from .conftest import encoded
from .test_bad_inputs import png_declaring

FIELDS = ("image", "age", "sex", "site", "gradcam", "flip_average")
CLIENT_ERRORS = (400, 413, 415)
# CI runs the same 40 examples a test every time (repeatable); DERMAI_FUZZ_EXAMPLES=N searches N fresh ones.
SEARCH = os.environ.get("DERMAI_FUZZ_EXAMPLES")
FUZZ = hypothesis_settings(max_examples=int(SEARCH or 40), derandomize=not SEARCH, deadline=None, database=None,
                           suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

# One damage to a file: (kind, where as a fraction of the length, a size or byte, bytes to insert).
_edit = st.tuples(st.sampled_from(["flip", "cut", "insert", "delete", "repeat"]), st.floats(0, 1),
                  st.integers(1, 255), st.binary(min_size=1, max_size=64))
damages = st.lists(_edit, min_size=1, max_size=6)


def damaged(data, edits):
    """`data` after each edit in turn (positions are fractions, so they fit any length)."""
    data = bytearray(data)
    for kind, where, amount, chunk in edits:
        at = min(int(where * len(data)), max(len(data) - 1, 0))
        if kind == "flip" and data:
            data[at] ^= amount
        elif kind == "cut":
            del data[at:]
        elif kind == "insert":
            data[at:at] = chunk
        elif kind == "delete":
            del data[at:at + amount]
        elif kind == "repeat":
            data[at:at] = data[at:at + amount]
    return bytes(data)


def jpeg_declaring(data, height, width):
    """The JPEG with the size its frame header (SOF0/SOF2) declares forged; unchanged if it has none."""
    for marker in (b"\xff\xc0", b"\xff\xc2"):
        at = data.find(marker)
        if at >= 0:
            return data[:at + 5] + struct.pack(">HH", height, width) + data[at + 9:]
    return data


class Photos(dict):
    def __repr__(self):  # Hypothesis prints the test's arguments: not 200 kB of image bytes
        return f"Photos({', '.join(self)})"


@pytest.fixture(scope="module")
def small_photos(lesion_image):
    """The real lesion photo at a small size in the formats people upload (kept small for speed)."""
    small = lesion_image.resize((240, 180))
    return Photos({"jpeg": encoded(small, "JPEG", quality=90), "progressive": encoded(small, "JPEG", progressive=True),
            "png": encoded(small, "PNG"), "webp": encoded(small, "WEBP", quality=90)})


def post(client, url, image, filename="lesion.jpg", content_type="image/jpeg", **fields):
    data = {key: value for key, value in fields.items() if value is not None}
    if image is not None:
        data["image"] = SimpleUploadedFile(filename, image, content_type=content_type)
    return client.post(url, data)


def assert_answered_or_refused(response, page):
    """A real analysis, or a 4xx naming a field; never a server error."""
    assert response.status_code == 200 or response.status_code in CLIENT_ERRORS, response.content[:300]
    if page:  # the page answers in HTML: the result, or the form with the reason
        assert b"<html" in response.content.lower()
    elif response.status_code == 200:
        assert sum(response.json()["probabilities"].values()) == pytest.approx(1, abs=1e-3)
    else:
        assert response.json()["field"] in FIELDS and response.json()["error"]


@FUZZ
@given(kind=st.sampled_from(["jpeg", "progressive", "png", "webp"]), edits=damages, page=st.booleans())
def test_damaged_photos_are_analysed_or_refused(client, db, small_photos, kind, edits, page):
    url = reverse("upload" if page else "api_predict")
    response = post(client, url, damaged(small_photos[kind], edits), gradcam="false")
    assert_answered_or_refused(response, page)


@FUZZ
@given(height=st.integers(0, 65535), width=st.integers(0, 65535), png=st.booleans())
def test_forged_image_sizes_are_analysed_or_refused(client, db, small_photos, lesion_image, height, width, png):
    """Headers that lie about the size (a bomb, zero, a sliver): the size check comes before any decode."""
    photo = png_declaring(lesion_image.resize((240, 180)), width, height) if png \
        else jpeg_declaring(small_photos["jpeg"], height, width)
    response = post(client, reverse("api_predict"), photo, gradcam="false")
    assert_answered_or_refused(response, page=False)
    if width * height > 40_000_000:  # over the pixel cap: refused as too large, whatever the bytes hold
        assert response.status_code in (400, 413)


_text = st.text(max_size=40)
form_fields = st.fixed_dictionaries({}, optional={
    "age": st.one_of(_text, st.integers(-10, 200).map(str)), "sex": _text, "site": _text,
    "gradcam": st.one_of(_text, st.sampled_from(["on", "off", "true", "0"])),
    "flip_average": st.one_of(_text, st.just("false")),
})
extra_fields = st.dictionaries(st.text(min_size=1, max_size=20).filter(lambda name: name not in FIELDS), _text,
                               max_size=4)


@FUZZ
@given(fields=form_fields, extra=extra_fields, filename=st.text(max_size=80), content_type=_text,
       page=st.booleans())
def test_random_form_fields_are_analysed_or_refused(client, db, small_photos, fields, extra, filename,
                                                     content_type, page):
    """Any field values, unknown fields, file names (empty, unicode, paths) and declared content types."""
    url = reverse("upload" if page else "api_predict")
    response = post(client, url, small_photos["jpeg"], filename=filename or "x", content_type=content_type or "x",
                    **{**extra, **fields})
    assert_answered_or_refused(response, page)
