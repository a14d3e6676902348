"""The API's language: its codes and keys never change; the words for people (names, descriptions, warnings, the
reason of a refusal) follow the request's Accept-Language, and are English when it sends none, whatever
DERMAI_LANGUAGE (settings.LANGUAGE_CODE) or the language cookie say.

The Vietnamese expected is what Django's gettext gives for the same message ids under translation.override("vi"),
so these tests hold with or without the Vietnamese catalogue; those using `pseudo_vietnamese` (conftest.py) prove
that each word goes through the catalogue."""
import io
import json

import pytest
from django.conf import settings as django_settings
from django.test import RequestFactory, override_settings
from django.urls import reverse
from django.utils import translation
from django.utils.functional import Promise

from Dermal import views
from Dermal.AI_detection import predict_skin_simple
from Dermal.class_words import TRIAGE_WORDS
from Dermal.inference.quality import MESSAGES
from Dermal.public_errors import on_field

from .conftest import first_of, spoiled

pytestmark = pytest.mark.django_db
VIETNAMESE = {"HTTP_ACCEPT_LANGUAGE": "vi-VN,vi;q=0.9,en;q=0.5"}
WORDS = {"top_name", "top_description", "disclaimer"}  # the answer's top-level words for people


def post(client, photo=None, headers=None, **fields):
    data = {key: value for key, value in fields.items() if value is not None}
    if photo is not None:
        upload = io.BytesIO(photo)
        upload.name = "lesion.jpg"
        data["image"] = upload
    return client.post(reverse("api_predict"), data, **(headers or {}))


def in_vietnamese(msgid):
    with translation.override("vi"):
        return translation.gettext(msgid)


def in_vietnamese_on_field(field, msgid, params=None):
    """The refusal's sentence in Vietnamese for the reason `msgid` (filled with `params`) about `field`."""
    with translation.override("vi"):
        return on_field(field, translation.gettext(msgid) % (params or {}))


def codes_of(body):
    """The answer without its words for people: what must be identical in every language."""
    body = {key: value for key, value in body.items() if key not in WORDS | {"timings", "analysis_id"}}
    body["warnings"] = [warning["code"] for warning in body["warnings"]]
    body["classes"] = [{**row, "name": None} for row in body["classes"]]
    body["top_three"] = [{**row, "name": None} for row in body["top_three"]]
    if body.get("triage"):
        body["triage"] = {**body["triage"], "images": None, "measured_on": None}
    return body


# --- which language ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("header, language", [
    (None, "en"), ("", "en"), ("vi", "vi"), ("vi-VN,vi;q=0.9", "vi"), ("fr-FR,vi;q=0.5", "vi"),
    ("en-GB,vi;q=0.9", "en"), ("fr-FR", "en"), ("*", "en"), ("de, *;q=0.1", "en"), ("x" * 300, "en"),
])
def test_the_api_speaks_the_first_language_it_knows_of_accept_language(header, language, settings):
    settings.LANGUAGE_CODE = "vi"  # DERMAI_LANGUAGE=vi: the pages' language, never the API's
    request = RequestFactory().post("/api/predict/", **({"HTTP_ACCEPT_LANGUAGE": header} if header is not None else {}))
    request.COOKIES[django_settings.LANGUAGE_COOKIE_NAME] = "vi"
    assert views.api_language(request) == language


def test_without_accept_language_a_refusal_is_english_even_when_the_deployment_speaks_vietnamese(client, settings):
    """The catalogue has Vietnamese for the refusal: the page would say it in Vietnamese."""
    settings.LANGUAGE_CODE = "vi"
    client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = "vi"
    response = post(client)
    assert response.status_code == 400 and response["Content-Language"] == "en"
    assert response.json() == {"error": "The photo could not be analysed: no photo was sent.", "field": "image"}


def test_with_accept_language_vi_a_refusal_is_vietnamese_with_the_same_field(client):
    english, vietnamese = post(client), post(client, headers=VIETNAMESE)
    assert (vietnamese.status_code, vietnamese["Content-Language"]) == (400, "vi")
    assert vietnamese.json() == {"error": in_vietnamese_on_field("image", "no photo was sent"),
                                 "field": english.json()["field"]}
    assert vietnamese.json()["error"] != english.json()["error"]
    assert "Accept-Language" in vietnamese["Vary"]


def test_without_accept_language_an_analysis_is_english_even_when_the_deployment_speaks_vietnamese(
        client, settings, fixture_items, pseudo_vietnamese):
    settings.LANGUAGE_CODE = "vi"
    client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = "vi"
    photo = spoiled(first_of(fixture_items, "mel"), "blurry")
    expected = predict_skin_simple(photo, gradcam=False)
    response = post(client, photo, gradcam="false")
    body = response.json()
    assert response["Content-Language"] == "en"
    assert (body["top_name"], body["top_description"]) == (expected.top_name, expected.top_description)
    assert body["warnings"] == [{"code": warning.code, "message": MESSAGES[warning.code]}
                                for warning in expected.warnings]
    assert "[vi]" not in response.content.decode()


# --- the same answer, in Vietnamese ------------------------------------------------------------------------------

@pytest.fixture
def both_answers(client, fixture_items):
    """A blurred melanoma (a warning, a referral) analysed twice: (English, Vietnamese) answers and the expected."""
    photo = spoiled(first_of(fixture_items, "mel"), "blurry")
    english = post(client, photo, gradcam="false")
    vietnamese = post(client, photo, headers=VIETNAMESE, gradcam="false")
    return english, vietnamese, predict_skin_simple(photo, gradcam=False)


def test_the_vietnamese_answer_has_vietnamese_words_and_the_same_codes(both_answers):
    english, vietnamese, expected = both_answers
    assert (english["Content-Language"], vietnamese["Content-Language"]) == ("en", "vi")
    english, vietnamese = english.json(), vietnamese.json()
    assert codes_of(vietnamese) == codes_of(english)
    assert list(vietnamese) == list(english)  # the same keys, in the same order
    assert vietnamese["top_class"] == expected.top_class and "blurry" in codes_of(vietnamese)["warnings"]
    assert vietnamese["top_name"] == in_vietnamese(expected.top_name)
    assert vietnamese["top_description"] == in_vietnamese(expected.top_description)
    assert vietnamese["warnings"] == [{"code": warning.code, "message": in_vietnamese(warning.message)}
                                      for warning in expected.warnings]
    assert [row["name"] for row in vietnamese["classes"]] == [in_vietnamese(row["name"]) for row in english["classes"]]
    assert vietnamese["top_three"] == [{**row, "name": in_vietnamese(row["name"])} for row in english["top_three"]]
    assert vietnamese["triage"]["images"] == in_vietnamese(TRIAGE_WORDS[expected.triage["images"]])
    assert english["top_name"] == expected.top_name and english["warnings"][0]["message"] == MESSAGES["blurry"]


def test_every_word_of_the_vietnamese_answer_comes_from_the_catalogue(pseudo_vietnamese, both_answers):
    english, vietnamese, expected = both_answers
    body = vietnamese.json()
    assert body["top_name"] == pseudo_vietnamese(expected.top_name)
    assert body["top_description"] == pseudo_vietnamese(expected.top_description)
    assert body["warnings"] == [{"code": warning.code, "message": pseudo_vietnamese(warning.message)}
                                for warning in expected.warnings]
    assert all(row["name"].startswith("[vi] ") for row in body["classes"] + body["top_three"])
    assert body["triage"]["images"] == pseudo_vietnamese(TRIAGE_WORDS[expected.triage["images"]])
    assert body["triage"]["measured_on"] == pseudo_vietnamese(TRIAGE_WORDS[expected.triage["measured_on"]])
    assert body["disclaimer"].startswith("[vi] DermAI is a research demonstration")
    assert codes_of(body) == codes_of(english.json())
    assert "[vi]" not in english.content.decode()


# --- refusals in Vietnamese ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("photo, fields, status, field, msgid", [
    ("half a photo", {}, 400, "image", "the image is damaged or truncated and cannot be decoded"),
    (b"notes about a mole\n" * 30, {}, 415, "image",
     "the file is not an image in a supported format (JPEG, PNG, WebP, TIFF or BMP)"),
    ("photo", {"gradcam": "maybe"}, 400, "gradcam", "must be true or false"),
])
def test_a_refusal_is_vietnamese_with_the_same_status_and_field(client, lesion_jpeg, pseudo_vietnamese, photo,
                                                                 fields, status, field, msgid):
    photo = {"photo": lesion_jpeg, "half a photo": lesion_jpeg[: len(lesion_jpeg) // 2]}.get(photo, photo)
    english, vietnamese = post(client, photo, **fields), post(client, photo, headers=VIETNAMESE, **fields)
    assert (english.status_code, vietnamese.status_code) == (status, status)
    with translation.override("en"):
        assert english.json() == {"error": on_field(field, msgid), "field": field}
    with translation.override("vi"):
        assert vietnamese.json() == {"error": on_field(field, pseudo_vietnamese(msgid)), "field": field}


def test_a_photo_with_too_many_pixels_is_refused_with_a_decimal_comma_in_vietnamese(client, lesion_jpeg,
                                                                                     monkeypatch):
    from Dermal.inference import imaging

    monkeypatch.setattr(imaging, "MAX_PIXELS", 700_000)  # the photo is 1024x768: 0.8 megapixels
    english = post(client, lesion_jpeg).json()["error"]
    vietnamese = post(client, lesion_jpeg, headers=VIETNAMESE).json()["error"]
    assert english == "The photo could not be analysed: the photo is 1024x768 (0.8 megapixels); the limit is 1 " \
                      "megapixels."
    template = "the photo is %(width)sx%(height)s (%(megapixels)s megapixels); the limit is %(limit)s megapixels"
    assert vietnamese == in_vietnamese_on_field("image", template, {
        "width": 1024, "height": 768, "megapixels": "0,8", "limit": "1"})


def test_an_upload_over_the_limit_is_refused_in_the_apis_language(client, lesion_jpeg, settings):
    settings.LANGUAGE_CODE = "vi"
    settings.MAX_UPLOAD_BYTES = 1024 * 1024 + 512 * 1024  # 1.5 MB
    padded = lesion_jpeg + bytes(2 * 1024 * 1024 - len(lesion_jpeg))
    english, vietnamese = post(client, padded), post(client, padded, headers=VIETNAMESE)
    assert (english.status_code, vietnamese.status_code) == (413, 413)
    assert (english["Content-Language"], vietnamese["Content-Language"]) == ("en", "vi")
    assert english.json() == {"error": "The photo could not be analysed: the upload is 2.0 MB; the limit is 1.5 MB.",
                              "field": "image"}
    assert vietnamese.json() == {"error": in_vietnamese_on_field("image", "the upload is %(size)s; the limit is %(limit)s",
                                                                 {"size": "2,0 MB", "limit": "1,5 MB"}), "field": "image"}


@pytest.mark.parametrize("headers, expected", [({}, "The photo could not be analysed: send the upload with a "
                                                    "Content-Length header (chunked request bodies are not read)."),
                                               (VIETNAMESE, "[vi] The photo could not be analysed: [vi] send the upload "
                                                            "with a Content-Length header (chunked request bodies are "
                                                            "not read).")])
def test_a_chunked_upload_is_refused_in_the_apis_language(pseudo_vietnamese, settings, headers, expected):
    settings.LANGUAGE_CODE = "vi"
    response = views.length_required(RequestFactory().post("/api/predict/", **headers))
    assert (response.status_code, json.loads(response.content)) == (411, {"error": expected, "field": "image"})


@override_settings(DERMAI_API_TOKEN="s3cret-token")
def test_a_missing_token_is_refused_in_the_apis_language(client, pseudo_vietnamese):
    english, vietnamese = post(client), post(client, headers=VIETNAMESE)
    assert (english.status_code, vietnamese.status_code) == (401, 401)
    msgid = "a valid 'Authorization: Bearer <token>' header is required"
    assert (english.json()["error"], vietnamese.json()["error"]) == (msgid, pseudo_vietnamese(msgid))


def test_json_writes_lazy_words_as_text_in_the_active_language(pseudo_vietnamese):
    """The disclaimer is a lazy string: JSON writes it out in the answer's language."""
    assert isinstance(views.DISCLAIMER, Promise)
    for language, start in (("en", "DermAI is a research demonstration"), ("vi", "[vi] DermAI is a research")):
        with translation.override(language):
            body = views.JsonResponse({"disclaimer": views.DISCLAIMER}).content.decode()
        assert json.loads(body)["disclaimer"].startswith(start)
