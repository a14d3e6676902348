"""Each history row says what answered it and by which rule: the bundle's version, the referral threshold and where it
came from (the bundle, or an override file with its name and date), the scope reasons and the natural-image
distance. The page, the CSV export and the admin show them; rows recorded before they were kept stay valid."""
import json

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse

from Dermal.admin import AnalysisAdmin
from Dermal.inference.calibration import SETTING
from Dermal.models import Analysis
from Dermal.tests.inference.test_calibration import entry

from .conftest import document_photo, submit_to_api
from .test_history_export import csv_of, table_of

pytestmark = pytest.mark.django_db

TRACE_COLUMNS = ("Referral threshold", "Threshold source", "Override file", "Override calibrated on",
                 "Scope reasons", "Natural-image distance", "Bundle version")


@pytest.fixture
def override(tmp_path, monkeypatch):
    """Point DERMAI_REFERRAL_OVERRIDE at a file in a folder of its own holding `entries` (both modes by default)."""
    def write(*entries, name="referral.json"):
        path = tmp_path / "deployment" / name
        path.parent.mkdir(exist_ok=True)
        path.write_text(json.dumps(dict(zip(("single", "flip_average"), entries * 2))))
        monkeypatch.setenv(SETTING, str(path))
        return path
    return write


def test_an_analysis_records_the_bundle_threshold_and_its_scope_facts(client, lesion_jpeg, monkeypatch):
    monkeypatch.delenv(SETTING, raising=False)
    body = submit_to_api(client, lesion_jpeg, gradcam="false").response.json()
    row = Analysis.objects.get()
    assert row.bundle_version == body["bundle_version"] and row.bundle_version.startswith("sklesion")
    assert (row.referral_threshold, row.threshold_source) == (body["triage"]["threshold"], "bundle")
    assert (row.threshold_override, row.threshold_calibrated_on) == ("", "")
    assert row.scope_reasons == body["scope_reasons"] == []
    assert row.natural_distance == pytest.approx(body["scope_natural_distance"])


def test_a_photo_of_no_lesion_records_why(client):
    body = submit_to_api(client, document_photo(), gradcam="false").response.json()
    row = Analysis.objects.get()
    assert body["scope"] == row.scope == "not_a_lesion"
    assert row.scope_reasons == body["scope_reasons"] and row.scope_reasons
    assert row.natural_distance == pytest.approx(body["scope_natural_distance"])


def test_an_override_threshold_is_recorded_with_its_file_name_and_date(client, lesion_jpeg, override):
    path = override(entry(0.0123))
    submit_to_api(client, lesion_jpeg, gradcam="false")
    row = Analysis.objects.get()
    assert (row.referral_threshold, row.threshold_source) == (0.0123, "override")
    assert (row.threshold_override, row.threshold_calibrated_on) == ("referral.json", "2026-11-29")
    assert str(path.parent) not in row.threshold_override


def test_a_long_hand_written_date_is_cut_not_a_reason_to_lose_the_row(client, lesion_jpeg, override):
    """PostgreSQL refuses text longer than the column (SQLite would keep it)."""
    written = "29 November 2026, checked again after the clinic's audit"
    override({**entry(0.0123), "calibrated_on": written})
    assert submit_to_api(client, lesion_jpeg, gradcam="false").response.json()["analysis_id"] is not None
    assert Analysis.objects.get().threshold_calibrated_on == written[:32]


def test_the_page_and_the_csv_export_show_them(staff_client, lesion_jpeg, override):
    override(entry(0.0062))
    submit_to_api(staff_client, lesion_jpeg, gradcam="false")
    row = Analysis.objects.get()
    header, [cells] = table_of(staff_client.get(reverse("history")).content.decode())
    assert set(TRACE_COLUMNS) <= set(header) and header[-1] == "Photo SHA-256"
    shown = dict(zip(header, cells))
    assert (shown["Referral threshold"], shown["Threshold source"]) == ("0.62%", "override file")
    assert (shown["Override file"], shown["Override calibrated on"]) == ("referral.json", "2026-11-29")
    assert (shown["Scope reasons"], shown["Bundle version"]) == ("", row.bundle_version)
    assert shown["Natural-image distance"] == f"{row.natural_distance:.3f}"
    assert csv_of(staff_client.get(reverse("history_csv"))) == [header, cells]


def test_the_admin_lists_them_and_its_detail_shows_every_field(admin_client, lesion_jpeg, override):
    override(entry(0.0123), name="clinic-a.json")
    submit_to_api(admin_client, lesion_jpeg, gradcam="false")
    row = Analysis.objects.get()
    listing = admin_client.get(reverse("admin:Dermal_analysis_changelist")).content.decode()
    for column in ("referral_threshold", "threshold_source", "scope_reason_codes", "natural_distance",
                   "bundle_version"):
        assert f"column-{column}" in listing
    detail = admin_client.get(reverse("admin:Dermal_analysis_change", args=[row.pk])).content.decode()
    assert "clinic-a.json" in detail and "2026-11-29" in detail and row.bundle_version in detail
    shown = [name for _title, options in AnalysisAdmin.fieldsets for name in options["fields"]]
    assert sorted(shown) == sorted(field.name for field in Analysis._meta.concrete_fields if field.name != "id")


# --- rows recorded before the traceability fields (migration 0004) ---------------------------------------------

BEFORE = ("Dermal", "0003_scope_levels")


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return executor


@pytest.fixture
def history_before_0004(transactional_db):
    """The database as it was at 0003 (the models of then, to write with); migrated to the latest after."""
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes("Dermal")
    old_apps = migrate([BEFORE]).loader.project_state([BEFORE]).apps
    yield old_apps, latest
    migrate(latest)


def test_rows_from_before_0004_stay_valid_and_are_shown(history_before_0004, admin_client):
    old_apps, latest = history_before_0004
    recorded = old_apps.get_model("Dermal", "Analysis").objects.create(
        image_sha256="ab" * 32, probabilities={"nv": 0.9, "mel": 0.1}, top_class="nv", top_probability=0.9,
        malignant_probability=0.1, engine="litert", precision="int8", gradcam=False, latency_ms=310,
        out_of_scope=False, scope="lesion", scope_score=-3.2, referral=False, warnings=["blurry"])
    migrate(latest)
    row = Analysis.objects.get(pk=recorded.pk)
    row.full_clean()
    assert (row.bundle_version, row.referral_threshold, row.threshold_source, row.threshold_override,
            row.threshold_calibrated_on, row.scope_reasons, row.natural_distance) == ("", None, "", "", "", [], None)
    header, cells = csv_of(admin_client.get(reverse("history_csv")))
    shown = dict(zip(header, cells))
    assert (shown["Photo SHA-256"], shown["Warnings"], shown["Referral"]) == ("ab" * 32, "blurry", "no")
    assert all(shown[title] == "" for title in TRACE_COLUMNS)
    detail = admin_client.get(reverse("admin:Dermal_analysis_change", args=[row.pk]))
    assert detail.status_code == 200 and "ab" * 32 in detail.content.decode()
