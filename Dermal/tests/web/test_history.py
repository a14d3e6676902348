"""Every analysis becomes a history row (never the photo); staff can read them; a failed write loses nothing."""
import hashlib
import logging

import pytest
from django.contrib.auth import get_user_model
from django.db import connection, models
from django.urls import reverse

from Dermal import tallies
from Dermal.models import Analysis

from .conftest import submit_to_api, submit_to_page

pytestmark = pytest.mark.django_db


def test_each_analysis_is_recorded(client, fixture_items):
    item = fixture_items[7]  # a benign keratosis with age, sex and site
    outcome = submit_to_api(client, item.read(), age=item.age, sex=item.sex, site=item.site, gradcam="false")
    body = outcome.response.json()
    row = Analysis.objects.get()
    assert row.pk == body["analysis_id"]
    assert row.image_sha256 == hashlib.sha256(item.read()).hexdigest()
    assert (row.age, row.sex, row.site) == (int(item.age), item.sex, item.site)
    assert row.probabilities == pytest.approx(body["probabilities"])
    assert (row.top_class, row.engine, row.precision, row.gradcam) == (body["top_class"], "litert", "int8", False)
    assert row.top_probability == pytest.approx(body["top_probability"])
    assert row.latency_ms == round(body["timings"]["total"] * 1000)


def test_page_analyses_are_recorded_too_without_metadata(client, lesion_jpeg):
    submit_to_page(client, lesion_jpeg, gradcam=True)
    row = Analysis.objects.get()
    assert (row.age, row.sex, row.site, row.gradcam) == (None, "", "", True)


def test_refused_uploads_are_not_recorded(client, lesion_jpeg):
    submit_to_api(client, lesion_jpeg, age="300")
    submit_to_api(client, b"not an image")
    assert not Analysis.objects.exists()


def test_no_photo_is_stored():
    stored_types = (models.BinaryField, models.FileField, models.TextField)
    assert not [field.name for field in Analysis._meta.get_fields() if isinstance(field, stored_types)]


def test_history_page_lists_recent_analyses_for_staff(staff_client, lesion_jpeg, fixture_items):
    for item in fixture_items[:3]:
        submit_to_api(staff_client, item.read(), gradcam="false")
    response = staff_client.get(reverse("history"))
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('class="history-row"') == 3
    newest = Analysis.objects.first()
    assert html.index(newest.image_sha256[:12]) < html.index(Analysis.objects.last().image_sha256[:12])


def test_history_page_is_staff_only(client):
    response = client.get(reverse("history"))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    client.force_login(get_user_model().objects.create_user("visitor", password="not-used"))
    assert client.get(reverse("history")).status_code == 302


def test_history_is_in_the_admin(admin_client, client, lesion_jpeg):
    submit_to_api(client, lesion_jpeg, gradcam="false")
    row = Analysis.objects.get()
    listing = admin_client.get(reverse("admin:Dermal_analysis_changelist"))
    assert listing.status_code == 200 and row.top_class in listing.content.decode()
    assert admin_client.get(reverse("admin:Dermal_analysis_change", args=[row.pk])).status_code == 200
    assert admin_client.get(reverse("admin:Dermal_analysis_add")).status_code == 403


@pytest.mark.parametrize("submit", [submit_to_api, submit_to_page])
def test_a_failed_history_write_still_returns_the_analysis(client, lesion_jpeg, caplog, submit):
    """The table is really gone (dropped inside the test's transaction, restored after it)."""
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {connection.ops.quote_name(Analysis._meta.db_table)}")
    failures = tallies.history_write_failures.value
    with caplog.at_level(logging.ERROR, logger="dermai"):
        outcome = submit(client, lesion_jpeg, gradcam="false")
    assert outcome.status == 200 and outcome.top_class
    assert tallies.history_write_failures.value == failures + 1
    assert any(record.name == "dermai" and "history" in record.getMessage() for record in caplog.records)
    assert client.get(reverse("memory")).json()["history_write_failures"] == failures + 1
