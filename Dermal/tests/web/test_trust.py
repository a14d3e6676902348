"""Trust in the answer (issue 8), web side: quality warnings, triage with a measured threshold, the
out-of-scope verdict, flip averaging, and what the API and the history say about each. Real photos, real bundle."""
import re
from html import unescape

import pytest
from django.urls import reverse
from django.utils.html import escape

from Dermal.AI_detection import predict_skin_simple
from Dermal.class_words import translated_triage
from Dermal.inference.quality import MESSAGES
from Dermal.models import Analysis
from trust.photos import generated_photos, spoiled_photo

from .conftest import (NON_LESION_PHOTOS, SPOILERS, first_of, judge_scope, spoiled, submit_to_api,
                       submit_to_page)

pytestmark = pytest.mark.django_db
REFERRAL_SENTENCE = "consider having this checked by a dermatologist"
REFERRED_NON_LESION = "astronaut"  # not a lesion, and a malignant probability of 0.46: referred all the same


@pytest.fixture(autouse=True)
def code_defaults(monkeypatch):
    monkeypatch.delenv("DERMAI_FLIP_AVERAGE", raising=False)


def html_of(outcome):
    assert outcome.status == 200
    return outcome.response.content.decode()


def element_text(html, element_id):
    match = re.search(rf'<(\w+)[^>]*id="{element_id}"[^>]*>(.*?)</\1>', html, re.S)
    assert match, f"#{element_id} is not on the page"
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", match.group(2))).split())


# --- the JSON API ----------------------------------------------------------------------------------------------

def test_api_says_what_it_knows_and_what_it_does_not(client, fixture_items):
    item = first_of(fixture_items, "mel")
    body = submit_to_api(client, item.read(), gradcam="false").response.json()
    expected = predict_skin_simple(item.read(), gradcam=False)
    assert body["out_of_scope"] is False and body["scope"] == expected.scope != "not_a_lesion"
    assert body["scope_score"] == pytest.approx(expected.scope_score)
    assert body["scope_thresholds"]["unusual"] < body["scope_thresholds"]["not_a_lesion"]
    assert body["scope_natural_distance"] == pytest.approx(expected.scope_natural_distance)
    assert body["scope_natural_distance"] < body["scope_thresholds"]["natural"]
    assert body["scope_reasons"] == []
    assert body["warnings"] == []
    assert body["referral"] is True and body["referral"] == expected.referral
    assert body["triage"] == translated_triage(expected.triage)  # in plain words
    assert body["triage"]["target_sensitivity"] == 0.9 and body["triage"]["sensitivity"] >= 0.9
    assert 0 < body["triage"]["specificity"] < 1
    assert [row["code"] for row in body["top_three"]] == [code for code, _ in expected.top_three()]
    assert [row["probability"] for row in body["top_three"]] == pytest.approx([p for _, p in expected.top_three()],
                                                                               abs=1e-5)
    assert body["malignant_probability"] == pytest.approx(
        sum(body["probabilities"][code] for code in ("akiec", "bcc", "mel")), abs=1e-6)
    assert body["bundle_version"] == expected.bundle_version and "int8" in body["bundle_version"]
    assert body["flip_average"] is True  # the default: the referral clears more benign lesions with it


@pytest.mark.parametrize("code", sorted(SPOILERS))
def test_a_spoiled_photo_gets_its_warning_in_the_page_and_the_json(client, fixture_items, code):
    photo = spoiled(first_of(fixture_items, "nv"), code)
    expected = predict_skin_simple(photo, gradcam=False).warnings
    assert code in [warning.code for warning in expected]
    body = submit_to_api(client, photo, gradcam="false").response.json()
    assert body["warnings"] == [{"code": warning.code, "message": warning.message} for warning in expected]
    html = html_of(submit_to_page(client, photo, gradcam=False))
    assert f'<li class="warning" data-code="{code}">{escape(MESSAGES[code])}</li>' in html
    assert html.index('id="warnings"') < html.index('id="photo-shown"')  # read before the result


def test_a_good_photo_has_no_warnings(client, lesion_jpeg):
    assert 'id="warnings"' not in html_of(submit_to_page(client, lesion_jpeg, gradcam=False))


# --- triage: top three, malignant probability, referral -------------------------------------------------------

def test_a_melanoma_shows_the_referral_line_with_its_measured_basis(client, fixture_items):
    item = first_of(fixture_items, "mel")
    expected = predict_skin_simple(item.read(), gradcam=False)
    assert expected.referral is True
    html = html_of(submit_to_page(client, item.read(), gradcam=False))
    assert REFERRAL_SENTENCE in element_text(html, "referral").lower()
    assert 'id="no-referral"' not in html
    basis = element_text(html, "triage-basis")
    triage = expected.triage
    for figure in (triage["target_sensitivity"], triage["sensitivity"], triage["specificity"]):
        assert f"{100 * figure:.1f}%" in basis
    assert "specificity" in basis and f"{triage['negatives']} benign" in basis
    assert f"{100 * triage['threshold']:.1f}%" in element_text(html, "referral")


def test_a_benign_lesion_under_the_threshold_shows_no_referral_line(client, fixture_items):
    item = first_of(fixture_items, "nv")
    assert predict_skin_simple(item.read(), gradcam=False).referral is False
    html = html_of(submit_to_page(client, item.read(), gradcam=False))
    assert 'id="referral"' not in html and REFERRAL_SENTENCE not in html.lower()
    assert "does not rule out skin cancer" in element_text(html, "no-referral")
    assert submit_to_api(client, item.read(), gradcam="false").response.json()["referral"] is False


def test_the_page_shows_the_top_three_and_the_malignant_probability(client, fixture_items):
    item = first_of(fixture_items, "akiec")
    expected = predict_skin_simple(item.read(), gradcam=False)
    html = html_of(submit_to_page(client, item.read(), gradcam=False))
    top_three = re.search(r'id="top-three".*?</ol>', html, re.S).group(0)
    assert re.findall(r'data-code="(\w+)"', top_three) == [code for code, _ in expected.top_three()]
    for _, probability in expected.top_three():
        assert f"{100 * probability:.1f}%" in top_three
    malignant = element_text(html, "malignant-probability")
    assert f"{100 * expected.malignant_probability:.1f}%" in malignant
    # The names as they are written (a lowercased Vietnamese name read "bệnh bowen").
    assert re.search(r"\(Actinic keratosis[^()]* \+ Basal cell carcinoma \+ Melanoma\)", malignant), malignant


# --- flip averaging -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("env, ticked", [("true", True), ("false", False), (None, True)])
def test_flip_average_box_follows_the_setting_and_says_what_it_costs(client, monkeypatch, env, ticked):
    if env is not None:
        monkeypatch.setenv("DERMAI_FLIP_AVERAGE", env)
    html = client.get(reverse("upload")).content.decode()
    box = re.search(r'<input[^>]*id="flip_average"[^>]*>', html).group(0)
    assert ("checked" in box) is ticked
    assert "twice as slow, and more accurate on held-out photos" in html


def test_flip_averaging_through_the_api_uses_its_own_threshold(client, fixture_items):
    item = first_of(fixture_items, "nv")
    body = submit_to_api(client, item.read(), gradcam="false", flip_average="true").response.json()
    expected = predict_skin_simple(item.read(), gradcam=False, flip_average=True)
    assert body["flip_average"] is True and body["triage"] == translated_triage(expected.triage)  # in plain words
    assert body["probabilities"] == pytest.approx(expected.probabilities, abs=1e-5)
    single = submit_to_api(client, item.read(), gradcam="false", flip_average="false").response.json()
    assert single["flip_average"] is False and single["triage"]["threshold"] != body["triage"]["threshold"]
    assert list(Analysis.objects.values_list("flip_average", flat=True)) == [False, True]


def test_flip_averaging_from_the_page(client, lesion_jpeg):
    html = html_of(submit_to_page(client, lesion_jpeg, gradcam=False, flip_average=True))
    assert "Flip averaging: on" in element_text(html, "analysis-options")
    assert Analysis.objects.get().flip_average is True


# --- not a skin-lesion photo, or an unusual one: said first, nothing withheld -----------------------------------

@pytest.fixture
def judged_not_a_lesion(monkeypatch):
    judge_scope(monkeypatch, "not_a_lesion")


def test_not_a_lesion_page_leads_with_it_and_still_shows_everything(client, fixture_items, judged_not_a_lesion):
    item = first_of(fixture_items, "mel")
    html = html_of(submit_to_page(client, item.read(), gradcam=True))
    lead = element_text(html, "out-of-scope")
    assert lead.startswith("This photo does not look like a close-up of a skin lesion")
    assert element_text(html, "scope-note").startswith("This photo does not look like a close-up of a skin lesion")
    figures = element_text(html, "details")  # for doctors and staff
    assert "2.930" in figures and "1.500" in figures and "-1.000" in figures
    # What to do, what it most likely is, that the photo is not a lesion and why; then the photo; the figures last.
    order = ["referral", "diagnosis-name", "scope-note", "out-of-scope", "photo-shown", "disclaimer", "details"]
    assert sorted(order, key=lambda part: html.index(f'id="{part}"')) == order
    assert html.count('class="prob-bar"') == 7 and html.count("<details") == 1
    assert "<title>DermAI: not a skin-lesion photo</title>" in html
    assert Analysis.objects.get().scope == "not_a_lesion"


def test_not_a_lesion_never_hides_the_referral_the_probabilities_call_for(client, fixture_items, judged_not_a_lesion):
    item = first_of(fixture_items, "mel")
    assert predict_skin_simple(item.read(), gradcam=False).referral is True
    html = html_of(submit_to_page(client, item.read(), gradcam=False))
    referral = element_text(html, "referral")
    assert referral.startswith("If this is a photo of a skin lesion, consider having it checked by a dermatologist")
    assert html.index('id="referral"') < html.index('id="scope-note"') < html.index('id="out-of-scope"')
    body = submit_to_api(client, item.read(), gradcam="false").response.json()
    assert (body["scope"], body["out_of_scope"], body["referral"]) == ("not_a_lesion", True, True)


def test_unusual_photo_gets_the_full_answer_under_a_warning(client, fixture_items, monkeypatch):
    judge_scope(monkeypatch, "unusual", score=0.2)
    item = first_of(fixture_items, "mel")
    html = html_of(submit_to_page(client, item.read(), gradcam=False))
    assert element_text(html, "unusual").startswith("This photo is unlike the photos DermAI learnt from")
    assert "less reliable" in element_text(html, "unusual") and 'id="out-of-scope"' not in html
    assert "may not be a photo of a skin lesion at all" in element_text(html, "unusual")
    assert 'href="#unusual"' in html and 'id="diagnosis-name"' in html
    assert REFERRAL_SENTENCE in element_text(html, "referral").lower()
    assert html.index('id="unusual"') < html.index('id="photo-shown"')
    body = submit_to_api(client, item.read(), gradcam="false").response.json()
    assert (body["scope"], body["out_of_scope"], body["referral"]) == ("unusual", False, True)
    assert list(Analysis.objects.values_list("scope", flat=True)) == ["unusual", "unusual"]


def test_a_lesion_photo_gets_no_scope_notice(client, lesion_jpeg):
    assert predict_skin_simple(lesion_jpeg, gradcam=False).scope == "lesion"
    html = html_of(submit_to_page(client, lesion_jpeg, gradcam=False))
    assert 'id="out-of-scope"' not in html and 'id="unusual"' not in html and 'id="diagnosis"' in html


# --- the phone camera -----------------------------------------------------------------------------------------

def test_form_offers_the_phone_camera_beside_the_file_chooser(client):
    html = client.get(reverse("upload")).content.decode()
    camera = re.search(r'<input[^>]*id="camera"[^>]*>', html).group(0)
    assert 'type="file"' in camera and 'name="image"' in camera
    assert 'accept="image/*"' in camera and 'capture="environment"' in camera
    chooser = re.search(r'<input[^>]*id="photo"[^>]*>', html).group(0)
    assert 'name="image"' in chooser and 'accept="image/*"' in chooser and "capture" not in chooser
    assert re.search(r'<label[^>]*for="camera"[^>]*>Take a photo with the camera</label>', html)


# --- not a skin-lesion photo, judged by the real engine --------------------------------------------------------

@pytest.mark.parametrize("name", sorted(NON_LESION_PHOTOS))
def test_a_real_non_lesion_photo_is_said_to_be_one_first(client, name):
    photo = NON_LESION_PHOTOS[name]()
    outcome = submit_to_api(client, photo, gradcam="false")
    body = outcome.response.json()
    assert outcome.status == 200 and (body["scope"], body["out_of_scope"]) == ("not_a_lesion", True)
    html = html_of(submit_to_page(client, photo, gradcam=False))
    assert element_text(html, "out-of-scope").startswith("This photo does not look like a close-up of a skin lesion")
    assert html.index('id="diagnosis"') < html.index('id="scope-note"') < html.index('id="out-of-scope"')
    assert list(Analysis.objects.values_list("out_of_scope", flat=True)) == [True, True]


def test_a_cat_is_not_a_lesion_by_what_a_natural_image_model_sees_and_the_page_says_so(client):
    """The skin-lesion backbone and the photo statistics alone score the cat below `not_a_lesion`."""
    body = submit_to_api(client, NON_LESION_PHOTOS["cat"](), gradcam="false").response.json()
    assert (body["scope"], body["out_of_scope"]) == ("not_a_lesion", True)
    assert body["scope_score"] < body["scope_thresholds"]["not_a_lesion"]
    assert body["scope_natural_distance"] > body["scope_thresholds"]["natural"]
    assert body["scope_reasons"] == ["natural_image"]
    html = html_of(submit_to_page(client, NON_LESION_PHOTOS["cat"](), gradcam=False))
    assert "A model that knows everyday pictures sees something other than" in element_text(html, "out-of-scope")
    assert "To a model that knows everyday pictures (ImageNet), this photo is" in element_text(html, "details")


def test_noise_is_not_a_lesion_for_what_its_pixels_are_and_the_page_says_so_in_plain_words(client):
    """Gaussian noise scores under the gate's bar once colour-balanced; its pixels, not its score, decide."""
    noise = next(p for p in generated_photos() if p.name == "gaussian noise").jpeg
    body = submit_to_api(client, noise, gradcam="false").response.json()
    assert (body["scope"], body["out_of_scope"]) == ("not_a_lesion", True) and "noise" in body["scope_reasons"]
    text = element_text(html_of(submit_to_page(client, noise, gradcam=False)), "out-of-scope")
    assert "Its pixels vary at random from one to the next, like noise" in text


def test_a_real_non_lesion_photo_with_a_high_malignant_probability_keeps_its_referral(client):
    photo = NON_LESION_PHOTOS[REFERRED_NON_LESION]()
    expected = predict_skin_simple(photo, gradcam=False)
    assert (expected.scope, expected.referral) == ("not_a_lesion", True)
    body = submit_to_api(client, photo, gradcam="false").response.json()
    assert (body["scope"], body["referral"]) == ("not_a_lesion", True)
    html = html_of(submit_to_page(client, photo, gradcam=False))
    assert element_text(html, "referral").startswith("If this is a photo of a skin lesion, consider having it checked")
    assert html.index('id="referral"') < html.index('id="scope-note"') < html.index('id="out-of-scope"')


@pytest.mark.slow  # every committed photo
def test_real_lesion_photos_are_never_called_not_a_lesion(client, fixture_items):
    for item in fixture_items:
        body = submit_to_api(client, item.read(), gradcam="false").response.json()
        assert body["scope"] in ("lesion", "unusual"), item.path.name


def test_a_washed_out_lesion_photo_is_unusual_under_its_warning_not_said_to_be_no_lesion(client, fixture_items):
    """A flash photo: 96% of its pixels clipped white, colour left only in the rest (once served "not a lesion")."""
    washed = spoiled_photo(next(item for item in fixture_items if item.path.stem == "ISIC_0036328"), "brightened 2x")
    body = submit_to_api(client, washed, gradcam="false").response.json()
    assert (body["scope"], body["out_of_scope"]) == ("unusual", False)
    assert "too_bright" in [warning["code"] for warning in body["warnings"]]
    html = html_of(submit_to_page(client, washed, gradcam=False))
    assert 'id="out-of-scope"' not in html and 'data-code="too_bright"' in html
    assert element_text(html, "unusual").startswith("This photo is unlike the photos DermAI learnt from")
