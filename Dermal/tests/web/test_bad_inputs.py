"""Every bad or odd upload, through both the upload page and the API: a clear 4xx, never a 500."""
import struct
import zlib

import numpy as np
import pytest
from django.test import override_settings
from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st
from PIL import Image

from .conftest import encoded


@pytest.fixture(scope="module")
def small_lesion(lesion_image):
    return lesion_image.resize((160, 120))


def png_declaring(image, width, height):
    """A real (small) PNG whose header claims width x height pixels: a decompression bomb's calling card."""
    data = bytearray(encoded(image, "PNG"))
    header = struct.pack(">II", width, height) + data[24:29]
    data[16:29] = header
    data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + header))
    return bytes(data)


def test_no_file(submit):
    outcome = submit(None)
    assert outcome.status == 400
    assert outcome.error == "The photo could not be analysed: no photo was sent."


def test_empty_file(submit):
    outcome = submit(b"")
    assert outcome.status == 400
    assert "empty" in outcome.error


def test_text_file(submit):
    outcome = submit(b"Not a photo, just some notes about a mole.\n" * 20, filename="notes.txt")
    assert outcome.status == 415
    assert "image" in outcome.error


def test_gif_is_unsupported(submit, small_lesion):
    outcome = submit(encoded(small_lesion, "GIF"), filename="lesion.gif")
    assert outcome.status == 415
    assert "JPEG" in outcome.error  # the reason lists the formats that work


def test_truncated_jpeg(submit, lesion_jpeg):
    outcome = submit(lesion_jpeg[: len(lesion_jpeg) // 2])
    assert outcome.status == 400
    assert "truncated" in outcome.error or "damaged" in outcome.error


def test_decompression_bomb(submit, small_lesion):
    outcome = submit(png_declaring(small_lesion, 20000, 20000), filename="bomb.png")
    assert outcome.status == 413
    assert "pixels" in outcome.error


def test_photo_one_byte_over_the_limit(submit, lesion_jpeg):
    """Caught by the form: the body is within the middleware's allowance for the form's other fields."""
    with override_settings(MAX_UPLOAD_BYTES=len(lesion_jpeg) - 1):
        outcome = submit(lesion_jpeg)
    assert outcome.status == 413
    assert "the limit is" in outcome.error


def test_photo_far_over_the_default_limit(submit, lesion_jpeg):
    """11 MB (a real JPEG padded with trailing bytes) against the default 10 MB: refused from Content-Length."""
    padded = lesion_jpeg + bytes(11 * 1024 * 1024 - len(lesion_jpeg))
    outcome = submit(padded)
    assert outcome.status == 413
    assert outcome.error == "The photo could not be analysed: the upload is 11.0 MB; the limit is 10.0 MB."


@pytest.mark.parametrize("fields, field", [
    ({"age": "-1"}, "age"),
    ({"age": "121"}, "age"),
    ({"age": "forty"}, "age"),
    ({"age": "45.5"}, "age"),
    ({"sex": "other"}, "sex"),
    ({"site": "moon"}, "site"),
    ({"site": "trunk", "sex": "female", "age": "500"}, "age"),
])
def test_metadata_out_of_range_names_the_field(submit, lesion_jpeg, fields, field):
    outcome = submit(lesion_jpeg, **fields)
    assert outcome.status == 400
    named = {"age": "The age", "sex": "The sex", "site": "The body site"}[field]  # in words, not by its code
    assert outcome.error.startswith(f"{named} could not be used: ") and outcome.error.endswith(".")


def test_api_names_the_field_in_json(client, db, lesion_jpeg):
    from .conftest import submit_to_api

    outcome = submit_to_api(client, lesion_jpeg, sex="robot")
    assert outcome.response.json()["field"] == "sex"
    assert submit_to_api(client, lesion_jpeg, gradcam="maybe").response.json()["field"] == "gradcam"


def gray16(image):
    """A 16-bit greyscale image, as medical and scientific cameras write them."""
    return Image.fromarray(np.asarray(image.convert("L"), dtype=np.uint16) * 257)


def exif_rotated(image):
    """The photo stored sideways with the EXIF orientation (6) that tells viewers to turn it upright."""
    exif = Image.Exif()
    exif[0x0112] = 6
    return encoded(image.transpose(Image.Transpose.ROTATE_90), "JPEG", quality=95, exif=exif)


ODD_BUT_VALID = {
    "cmyk.jpg": lambda image: encoded(image.convert("CMYK"), "JPEG", quality=95),
    "grey.jpg": lambda image: encoded(image.convert("L"), "JPEG", quality=95),
    "grey16.png": lambda image: encoded(gray16(image), "PNG"),
    "rgba.png": lambda image: encoded(image.convert("RGBA"), "PNG"),
    "palette.png": lambda image: encoded(image.convert("P", palette=Image.Palette.ADAPTIVE), "PNG"),
    "rotated.jpg": exif_rotated,
    "photo.webp": lambda image: encoded(image, "WEBP", quality=95),
}


@pytest.fixture(scope="module")
def reference_top_class(lesion_jpeg):
    from Dermal.AI_detection import predict_skin_simple

    return predict_skin_simple(lesion_jpeg, gradcam=False).top_class


@pytest.mark.parametrize("filename", sorted(ODD_BUT_VALID))
def test_odd_but_valid_photos_are_analysed(submit, lesion_image, reference_top_class, filename):
    outcome = submit(ODD_BUT_VALID[filename](lesion_image), filename=filename)
    assert outcome.status == 200, outcome.error
    if not filename.startswith("grey"):  # colour carries part of the diagnosis
        assert outcome.top_class == reference_top_class


def test_exif_rotation_is_undone(client, db, lesion_image, lesion_jpeg):
    from .conftest import submit_to_api

    upright = submit_to_api(client, lesion_jpeg, gradcam="false").response.json()
    turned = submit_to_api(client, exif_rotated(lesion_image), gradcam="false").response.json()
    assert turned["image_size"] == list(lesion_image.size)
    for code, probability in upright["probabilities"].items():
        assert turned["probabilities"][code] == pytest.approx(probability, abs=0.05)


@hypothesis_settings(max_examples=30, deadline=None, database=None,
                     suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(junk=st.binary(max_size=2048),
       prefix=st.sampled_from([b"", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff\xe0", b"GIF89a"]))
def test_arbitrary_bytes_never_cause_a_server_error(client, db, junk, prefix):
    from .conftest import submit_to_api

    outcome = submit_to_api(client, prefix + junk, filename="upload.bin")
    assert outcome.status in (400, 413, 415), outcome.error


@hypothesis_settings(max_examples=25, deadline=None, database=None,
                     suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(age=st.one_of(st.none(), st.text(max_size=6), st.integers(-1000, 1000).map(str)),
       sex=st.one_of(st.none(), st.text(max_size=8), st.sampled_from(["female", "male", "unknown", "FEMALE"])),
       site=st.one_of(st.none(), st.text(max_size=8), st.sampled_from(["trunk", "arm", "head-or-neck"])))
def test_arbitrary_metadata_is_analysed_or_refused_naming_the_field(client, db, tiny_jpeg, age, sex, site):
    from .conftest import submit_to_api

    outcome = submit_to_api(client, tiny_jpeg, age=age, sex=sex, site=site, gradcam="false")
    assert outcome.status in (200, 400)
    if outcome.status == 400:
        assert outcome.response.json()["field"] in ("age", "sex", "site")


@pytest.fixture(scope="module")
def tiny_jpeg(lesion_image):
    return encoded(lesion_image.resize((300, 225)), "JPEG", quality=90)


@pytest.mark.parametrize("url", ["/", "/api/predict/"])
@pytest.mark.parametrize("body, content_type", [
    (b'--zzz\r\nContent-Disposition: form-data; name="image"; filename="a.jpg"\r\n\r\nabc',
     "multipart/form-data; boundary=zzz"),
    (b"image=abc", "multipart/form-data"),
    (b"\x00\xff" * 100, "application/octet-stream"),
])
def test_malformed_requests_are_client_errors(client, db, url, body, content_type):
    response = client.generic("POST", url, body, content_type=content_type)
    assert 400 <= response.status_code < 500


def test_a_file_under_another_name_is_no_photo(submit, lesion_jpeg):
    from django.core.files.uploadedfile import SimpleUploadedFile

    outcome = submit(None, photo=SimpleUploadedFile("lesion.jpg", lesion_jpeg))
    assert outcome.status == 400 and outcome.error.startswith("The photo could not be analysed: ")
