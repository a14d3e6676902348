"""The history keeps what each answer said about itself, and staff can take it away as CSV (streamed)."""
import csv
import io
import re
from html import unescape

import pytest
from django.contrib.auth import get_user_model
from django.http import StreamingHttpResponse
from django.urls import reverse

from Dermal.AI_detection import predict_skin_simple
from Dermal.models import Analysis

from .conftest import first_of, spoiled, submit_to_api

pytestmark = pytest.mark.django_db


@pytest.fixture
def three_analyses(client, fixture_items, monkeypatch):
    """A blurred melanoma, a naevus with flip averaging, the same naevus dark: real photos via the API."""
    monkeypatch.delenv("DERMAI_FLIP_AVERAGE", raising=False)
    submit_to_api(client, spoiled(first_of(fixture_items, "mel"), "blurry"), gradcam="false", age="60", sex="male",
                  flip_average="false")
    submit_to_api(client, first_of(fixture_items, "nv").read(), gradcam="false")  # flip averaging: the default
    submit_to_api(client, spoiled(first_of(fixture_items, "nv"), "too_dark"), gradcam="true", flip_average="false")
    return list(Analysis.objects.order_by("pk"))


def table_of(html):
    """The history table's header and rows as text cells."""
    header = [unescape(cell) for cell in re.findall(r"<th[^>]*>(.*?)</th>", html)]
    rows = [[unescape(cell) for cell in re.findall(r"<td>(.*?)</td>", row)]
            for row in re.findall(r'<tr class="history-row">(.*?)</tr>', html, re.S)]
    return header, rows


def csv_of(response):
    assert isinstance(response, StreamingHttpResponse)
    text = b"".join(response.streaming_content).decode("utf-8")
    return list(csv.reader(io.StringIO(text)))


def test_the_trust_facts_are_recorded(three_analyses, fixture_items):
    blurred_mel, nv, dark_nv = three_analyses
    assert (blurred_mel.warnings, blurred_mel.referral, blurred_mel.flip_average) == (["blurry"], True, False)
    assert (nv.warnings, nv.referral, nv.flip_average) == ([], False, True)
    assert dark_nv.warnings == ["too_dark"]
    assert (blurred_mel.out_of_scope, nv.out_of_scope) == (False, False)  # lesion photos, if blurred
    judged = predict_skin_simple(spoiled(first_of(fixture_items, "nv"), "too_dark"), gradcam=False)
    assert (dark_nv.scope, dark_nv.out_of_scope, dark_nv.scope_score) == \
        (judged.scope, judged.out_of_scope, pytest.approx(judged.scope_score))


def test_history_page_shows_them(staff_client, three_analyses):
    header, rows = table_of(staff_client.get(reverse("history")).content.decode())
    assert {"Referral", "Scope", "Warnings", "Flip averaging"} <= set(header)
    column = dict(zip(header, zip(*rows)))
    assert column["Warnings"] == ("too_dark", "", "blurry")  # newest first
    assert column["Referral"] == ("yes" if three_analyses[2].referral else "no", "no", "yes")
    assert column["Flip averaging"] == ("off", "on", "off")
    assert column["Scope"] == tuple(row.get_scope_display() for row in reversed(three_analyses))
    assert set(column["Scope"]) <= {"lesion", "unusual"}
    assert column["Photo SHA-256"] == tuple(row.image_sha256 for row in reversed(three_analyses))


def test_csv_export_has_the_tables_columns_and_rows(staff_client, three_analyses):
    table = table_of(staff_client.get(reverse("history")).content.decode())
    response = staff_client.get(reverse("history_csv"))
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert re.fullmatch(r'attachment; filename="dermai-history-\d{8}-\d{6}\.csv"', response["Content-Disposition"])
    header, *rows = csv_of(response)
    assert (header, rows) == table
    assert rows[-1][header.index("Age")] == "60" and rows[-1][header.index("Sex")] == "male"


def test_csv_export_is_the_whole_history_not_the_pages_fifty(staff_client, three_analyses):
    template = three_analyses[0]
    Analysis.objects.bulk_create([Analysis(**{field.name: getattr(template, field.name)
                                              for field in Analysis._meta.concrete_fields if field.name != "id"})
                                  for _ in range(60)])
    assert len(table_of(staff_client.get(reverse("history")).content.decode())[1]) == 50
    assert len(csv_of(staff_client.get(reverse("history_csv")))) == 1 + 63


def test_csv_export_is_staff_only(client, three_analyses):
    response = client.get(reverse("history_csv"))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    client.force_login(get_user_model().objects.create_user("visitor", password="not-used"))
    assert client.get(reverse("history_csv")).status_code == 302
    assert client.post(reverse("history_csv")).status_code == 405


def test_admin_lists_the_trust_facts_and_exports_the_selection(admin_client, three_analyses):
    listing = admin_client.get(reverse("admin:Dermal_analysis_changelist")).content.decode()
    for column in ("column-referral", "column-scope", "column-warning_codes", "column-flip_average"):
        assert column in listing
    assert "too_dark" in listing and "blurry" in listing
    chosen = three_analyses[:2]
    response = admin_client.post(reverse("admin:Dermal_analysis_changelist"),
                                 {"action": "export_csv", "_selected_action": [row.pk for row in chosen]})
    header, *rows = csv_of(response)
    assert header[0] == "Time (UTC)"
    assert sorted(row[-1] for row in rows) == sorted(row.image_sha256 for row in chosen)
