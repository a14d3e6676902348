"""The pages' words that Python gives the templates are in the page's language: the result's names, description and
warnings (context keys top_name, top_description, warnings, rows, top_three), a refusal, the history and its CSV,
the model's and the admin's names. English stays as it was."""
import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation

from Dermal.admin import AnalysisAdmin
from Dermal.AI_detection import predict_skin_simple
from Dermal.models import Analysis
from Dermal.public_errors import on_field
from Dermal.selectors import history_header

from .conftest import first_of, spoiled

pytestmark = pytest.mark.django_db
VIETNAMESE = {"HTTP_ACCEPT_LANGUAGE": "vi-VN,vi;q=0.9"}


def post_page(client, photo, headers=None, **fields):
    return client.post(reverse("upload"), {"image": SimpleUploadedFile("lesion.jpg", photo), **fields},
                       **(headers or {}))


@pytest.fixture
def blurred_melanoma(fixture_items):
    photo = spoiled(first_of(fixture_items, "mel"), "blurry")
    return photo, predict_skin_simple(photo, gradcam=False, flip_average=False)  # the page: boxes left unticked


def test_the_result_pages_words_are_in_the_pages_language(client, pseudo_vietnamese, blurred_melanoma):
    photo, expected = blurred_melanoma
    context = post_page(client, photo, VIETNAMESE).context
    assert context["top_name"] == pseudo_vietnamese(expected.top_name)
    assert context["top_description"] == pseudo_vietnamese(expected.top_description)
    assert [(warning.code, warning.message) for warning in context["warnings"]] == \
        [(warning.code, pseudo_vietnamese(warning.message)) for warning in expected.warnings]
    assert all(row["name"].startswith("[vi] ") for row in context["rows"])
    assert context["top_three"] == context["rows"][:3] and context["top_three"][0]["code"] == expected.top_class
    assert str(context["disclaimer"]).startswith("[vi] ") and str(context["flip_average_help"]).startswith("[vi] ")
    assert context["result"].top_name == expected.top_name  # the engine's answer, as it came (English)


def test_the_result_pages_words_stay_english_without_a_language(client, pseudo_vietnamese, blurred_melanoma):
    photo, expected = blurred_melanoma
    context = post_page(client, photo).context
    assert (context["top_name"], context["top_description"]) == (expected.top_name, expected.top_description)
    assert [(warning.code, warning.message) for warning in context["warnings"]] == \
        [(warning.code, warning.message) for warning in expected.warnings]
    assert "[vi]" not in str([row["name"] for row in context["rows"]])


def test_the_page_follows_the_deployments_language_when_the_browser_asks_for_none(client, settings,
                                                                                  pseudo_vietnamese, lesion_jpeg):
    settings.LANGUAGE_CODE = "vi"
    context = post_page(client, lesion_jpeg).context
    assert context["top_name"].startswith("[vi] ")


def test_a_refusal_on_the_page_is_in_the_pages_language(client, pseudo_vietnamese, lesion_jpeg):
    half = lesion_jpeg[: len(lesion_jpeg) // 2]
    vietnamese, english = post_page(client, half, VIETNAMESE), post_page(client, half)
    assert (vietnamese.status_code, english.status_code) == (400, 400)
    assert vietnamese.context["error"] == \
        "[vi] The photo could not be analysed: [vi] the image is damaged or truncated and cannot be decoded."
    assert english.context["error"] == \
        "The photo could not be analysed: the image is damaged or truncated and cannot be decoded."


def test_an_oversized_upload_on_the_page_is_in_the_pages_language(client, settings, lesion_jpeg):
    settings.MAX_UPLOAD_BYTES = 1024 * 1024 + 512 * 1024
    padded = lesion_jpeg + bytes(2 * 1024 * 1024 - len(lesion_jpeg))
    with translation.override("vi"):
        template = translation.gettext("the upload is %(size)s; the limit is %(limit)s")
        expected = on_field("image", template % {"size": "2,0 MB", "limit": "1,5 MB"})
    response = post_page(client, padded, VIETNAMESE)
    assert response.status_code == 413
    assert response.context["error"] == expected


# --- the history ---------------------------------------------------------------------------------------------------

@pytest.fixture
def recorded(db):
    return Analysis.objects.create(probabilities={"mel": 0.7, "nv": 0.3}, top_class="mel", top_probability=0.7,
                                   malignant_probability=0.7, engine="litert", precision="int8", gradcam=True,
                                   latency_ms=321, referral=True, flip_average=False, scope="not_a_lesion",
                                   referral_threshold=0.0062, natural_distance=0.2176)


def cells(header, row):
    return dict(zip(header, row))


def test_the_history_page_speaks_the_staffs_language(staff_client, recorded, pseudo_vietnamese):
    context = staff_client.get(reverse("history"), **VIETNAMESE).context
    assert context["header"][:2] == ["[vi] Time (UTC)", "[vi] Top class"]
    row = cells(context["header"], context["rows"][0])
    assert (row["[vi] Referral"], row["[vi] Grad-CAM"], row["[vi] Flip averaging"], row["[vi] Scope"]) == \
        ("[vi] yes", "[vi] on", "[vi] off", "[vi] not a lesion")
    assert (row["[vi] Top class"], row["[vi] Latency"]) == ("mel", "321 ms")  # codes and figures as they are
    # Figures in the language's own number format, as on the pages.
    assert (row["[vi] Probability"], row["[vi] Referral threshold"]) == ("70,0%", "0,62%")
    assert row["[vi] Natural-image distance"] == "0,218"


def test_the_history_stays_english_without_a_language(staff_client, recorded, pseudo_vietnamese):
    context = staff_client.get(reverse("history")).context
    row = cells(context["header"], context["rows"][0])
    assert (row["Referral"], row["Grad-CAM"], row["Flip averaging"], row["Scope"]) == ("yes", "on", "off",
                                                                                        "not a lesion")
    assert (row["Probability"], row["Referral threshold"], row["Natural-image distance"]) == ("70.0%", "0.62%", "0.218")


def test_the_csv_is_written_in_the_language_it_was_asked_in_though_it_streams_later(staff_client, recorded,
                                                                                     pseudo_vietnamese):
    response = staff_client.get(reverse("history_csv"), **VIETNAMESE)
    with translation.override("en"):  # what the thread says by the time the body streams
        table = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    row = cells(table[0], table[1])
    assert table[0][0] == "[vi] Time (UTC)" and row["[vi] Referral"] == "[vi] yes"
    assert (row["[vi] Malignant"], row["[vi] Referral threshold"]) == ("70,0%", "0,62%")
    with translation.override("en"):
        assert history_header()[0] == "Time (UTC)"


def test_the_models_and_the_admins_names_are_translated(recorded, pseudo_vietnamese):
    with translation.override("vi"):
        assert str(Analysis._meta.get_field("top_class").verbose_name) == "[vi] top class"
        assert str(Analysis._meta.verbose_name_plural) == "[vi] analyses"
        assert str(AnalysisAdmin.warning_codes.short_description) == "[vi] warnings"
        assert str(AnalysisAdmin.export_csv.short_description) == "[vi] Export the selected analyses as CSV"
        assert str(recorded).startswith("[vi] mel 70% at ")
    with translation.override("en"):
        assert str(recorded) == f"mel 70% at {recorded.created_at:%Y-%m-%d %H:%M:%S}"
        assert recorded.get_scope_display() == "not a lesion"
        assert str(Analysis._meta.get_field("top_class").verbose_name) == "top class"
