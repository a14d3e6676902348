"""POST /api/predict/: the analysis as JSON, optionally behind a bearer token."""
import base64
import io

import pytest
from django.test import override_settings
from django.urls import reverse
from PIL import Image

from Dermal.AI_detection import predict_skin_simple
from Dermal.inference.bundle import bundle_dir, class_infos, read_manifest

from .conftest import submit_to_api

pytestmark = pytest.mark.django_db


def test_analysis_as_json(client, fixture_items):
    item = fixture_items[13]  # a naevus with age, sex and site
    outcome = submit_to_api(client, item.read(), age=item.age, sex=item.sex, site=item.site, gradcam="true")
    assert outcome.status == 200
    body = outcome.response.json()
    expected = predict_skin_simple(item.read(), age=item.age, sex=item.sex, site=item.site, gradcam=False)
    codes = [info.code for info in class_infos(read_manifest(bundle_dir()))]
    assert list(body["probabilities"]) == codes
    for code in codes:
        assert body["probabilities"][code] == pytest.approx(expected.probabilities[code], abs=1e-5)
    assert body["top_class"] == expected.top_class and body["top_name"] == expected.top_name
    assert body["top_malignant"] == expected.top_malignant
    assert body["malignant_probability"] == pytest.approx(expected.malignant_probability, abs=1e-5)
    assert [row["code"] for row in body["classes"]] == [code for code, _ in expected.ranked()]
    assert body["engine"] == "litert" and body["precision"] == expected.precision
    assert body["gradcam"] is True and body["timings"]["total"] > 0
    assert "not a medical diagnosis" in body["disclaimer"]
    assert isinstance(body["analysis_id"], int)
    overlay = Image.open(io.BytesIO(base64.b64decode(body["overlay_png"])))
    assert overlay.format == "PNG" and max(overlay.size) <= 640
    assert "photo_jpeg" not in body


@pytest.mark.parametrize("gradcam, env, expected", [
    ("false", "true", False), ("0", "true", False), ("true", "false", True), ("yes", "false", True),
    (None, "true", True), (None, "false", False),
])
def test_gradcam_switch(client, lesion_jpeg, monkeypatch, gradcam, env, expected):
    """Left out, Grad-CAM follows ENABLE_GRADCAM; given, it wins."""
    monkeypatch.setenv("ENABLE_GRADCAM", env)
    body = submit_to_api(client, lesion_jpeg, gradcam=gradcam).response.json()
    assert body["gradcam"] is expected
    assert (body["overlay_png"] is not None) is expected


def test_get_is_not_allowed(client):
    assert client.get(reverse("api_predict")).status_code == 405


@override_settings(DERMAI_API_TOKEN="s3cret-token")
@pytest.mark.parametrize("authorization", [None, "", "Bearer", "Bearer wrong", "Basic s3cret-token", "s3cret-token"])
def test_token_required_when_set(client, lesion_jpeg, authorization):
    headers = {"Authorization": authorization} if authorization is not None else {}
    response = client.post(reverse("api_predict"), {"image": io.BytesIO(lesion_jpeg)}, headers=headers)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert "Authorization" in response.json()["error"]


@override_settings(DERMAI_API_TOKEN="s3cret-token")
def test_right_token_is_accepted(client, lesion_jpeg):
    upload = io.BytesIO(lesion_jpeg)
    upload.name = "lesion.jpg"
    response = client.post(reverse("api_predict"), {"image": upload, "gradcam": "false"},
                           headers={"Authorization": "Bearer s3cret-token"})
    assert response.status_code == 200 and response.json()["top_class"]


def test_no_token_needed_when_unset(client, lesion_jpeg, settings):
    settings.DERMAI_API_TOKEN = ""
    assert submit_to_api(client, lesion_jpeg, gradcam="false").status == 200


def test_api_needs_no_csrf_token(lesion_jpeg):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    assert submit_to_api(strict, lesion_jpeg, gradcam="false").status == 200
    refused = strict.post(reverse("upload"), {})  # while the page still checks CSRF, and says what to do
    assert refused.status_code == 403 and b"Reload the page and try again" in refused.content
