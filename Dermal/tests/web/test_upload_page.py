"""The upload page and its result page, with real photos and the real bundle."""
import base64
import io
import re
import threading

import pytest
from django.urls import reverse
from PIL import Image

from Dermal import services
from Dermal.AI_detection import model_loaded, predict_skin_simple
from Dermal.inference.engines import reset_engine
from Dermal.inference.bundle import bundle_dir, read_manifest

from .conftest import submit_to_page

pytestmark = pytest.mark.django_db


def data_uri_image(html, element_id):
    match = re.search(rf'id="{element_id}" src="data:image/(\w+);base64,([^"]+)"', html)
    assert match, f"#{element_id} is not an inline image"
    return Image.open(io.BytesIO(base64.b64decode(match.group(2))))


def test_form_offers_what_the_model_knows(client):
    response = client.get(reverse("upload"))
    assert response.status_code == 200
    html = response.content.decode()
    for element_id in ("photo", "age", "sex", "site", "gradcam", "analyse", "preview", "progress"):
        assert f'id="{element_id}"' in html
    metadata = read_manifest(bundle_dir())["metadata"]
    for value in metadata["sex"]["values"] + metadata["site"]["values"]:
        assert f'value="{value}"' in html
    assert f'max="{metadata["age"]["limit"]}"' in html
    assert 'enctype="multipart/form-data"' in html
    assert "csrfmiddlewaretoken" in html
    assert re.search(r'<link rel="stylesheet" href="/static/dermai/dermai\.css">', html)
    assert "/static/dermai/upload.js" in html
    assert "http://" not in html and "https://" not in html  # everything served locally


def test_gradcam_box_follows_enable_gradcam(client, monkeypatch):
    monkeypatch.setenv("ENABLE_GRADCAM", "false")
    assert 'id="gradcam" checked' not in client.get(reverse("upload")).content.decode()
    monkeypatch.setenv("ENABLE_GRADCAM", "true")
    assert re.search(r'<input[^>]*checked[^>]*id="gradcam"|id="gradcam"[^>]*checked',
                     client.get(reverse("upload")).content.decode())


@pytest.mark.parametrize("index", [0, 2, 5, 7, 9, 12, 15])  # every class, sizes 1024x768 to 3072x2304
def test_result_page_shows_the_analysis(client, fixture_items, index):
    item = fixture_items[index]
    outcome = submit_to_page(client, item.read(), age=item.age, sex=item.sex, site=item.site, gradcam=True)
    assert outcome.status == 200
    html = outcome.response.content.decode()
    expected = predict_skin_simple(item.read(), age=item.age, sex=item.sex, site=item.site, gradcam=False)
    assert outcome.top_class == expected.top_class
    assert html.count('class="prob-bar"') == 7
    shown = [float(p) for p in re.findall(r'class="prob-bar" data-probability="([0-9.]+)"', html)]
    assert shown == sorted(shown, reverse=True) and sum(shown) == pytest.approx(1, abs=1e-4)
    assert shown[0] == pytest.approx(expected.top_probability, abs=1e-4)
    assert f"Probability {100 * expected.top_probability:.1f}%" in html
    assert f'<rect class="prob-fill" width="{expected.top_probability:.4f}"' in html
    assert expected.top_name in html and expected.top_description in html
    assert ("Malignant" if expected.top_malignant else "Benign") in html
    assert 'id="disclaimer"' in html and "not a medical diagnosis" in html
    assert re.search(r'id="report-meta"[^>]*>\s*Analysed \S+ \S+ UTC, analysis #\d+, in \d+\.\d\d s\.', html)
    photo, overlay = data_uri_image(html, "photo-shown"), data_uri_image(html, "overlay")
    assert overlay.format == photo.format == "JPEG"
    assert overlay.size == photo.size and max(photo.size) <= 640


def test_the_result_page_of_a_12_megapixel_photo_stays_light(client, fixture_items):
    """A phone camera's photo: the page, its photo and heatmap inlined, is at most 150 KB (it was 610 KB with PNG)."""
    photo = Image.open(fixture_items[0].path).convert("RGB").resize((4032, 3024), Image.Resampling.BICUBIC)
    data = io.BytesIO()
    photo.save(data, "JPEG", quality=92)
    outcome = submit_to_page(client, data.getvalue(), gradcam=True)
    assert outcome.status == 200 and 'id="overlay"' in outcome.response.content.decode()
    assert len(outcome.response.content) <= 150 * 1024


def test_the_upload_page_starts_loading_the_model(client, settings):
    """Served with DERMAI_EARLY_LOAD, the page loads the model in the background; the analysis then finds it."""
    settings.DERMAI_EARLY_LOAD = True
    reset_engine()
    assert client.get(reverse("upload")).status_code == 200
    loading = [thread for thread in threading.enumerate() if thread.name == "dermai-load-model"]
    assert loading, "no loading thread started"
    loading[0].join(timeout=120)
    assert model_loaded()
    assert services.load_model_early() is None, "loaded: nothing more to start"


def test_result_without_gradcam_has_no_overlay(client, lesion_jpeg):
    outcome = submit_to_page(client, lesion_jpeg, gradcam=False)
    assert outcome.status == 200
    html = outcome.response.content.decode()
    assert 'id="overlay"' not in html and 'id="no-overlay"' in html
    data_uri_image(html, "photo-shown")


def test_refused_upload_keeps_what_was_typed(client, lesion_jpeg):
    outcome = submit_to_page(client, lesion_jpeg, age="130", sex="female", site="trunk")
    assert outcome.status == 400
    html = outcome.response.content.decode()
    assert 'value="130"' in html
    assert re.search(r'<option value="female" selected>', html)
    assert 'id="analyse"' in html  # the form is back, ready for another try


def test_static_files_are_served(client):
    for path in ("/static/dermai/dermai.css", "/static/dermai/upload.js"):
        response = client.get(path)
        assert response.status_code == 200
        assert b"".join(response.streaming_content if response.streaming else [response.content])


def test_unknown_method_is_refused(client):
    assert client.put(reverse("upload")).status_code == 405


def test_form_refused_for_size_can_be_sent_again(lesion_jpeg, settings):
    """The 413 comes before the body is read, yet the re-rendered form still passes the CSRF check."""
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    browser.get(reverse("upload"))
    token = browser.cookies["csrftoken"].value
    settings.MAX_UPLOAD_BYTES = 50_000
    refused = browser.post(reverse("upload"), {"csrfmiddlewaretoken": token, "image": io.BytesIO(lesion_jpeg)})
    assert refused.status_code == 413 and 'id="analyse"' in refused.content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', refused.content.decode()).group(1)
    settings.MAX_UPLOAD_BYTES = 10 * 1024 * 1024
    upload = io.BytesIO(lesion_jpeg)
    upload.name = "lesion.jpg"
    assert browser.post(reverse("upload"), {"csrfmiddlewaretoken": token, "image": upload}).status_code == 200
