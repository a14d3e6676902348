"""/health/ and /memory/: honest about the bundle, the database and memory, and never loading the model."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connections
from django.urls import reverse

from Dermal import selectors
from Dermal.inference.bundle import bundle_dir

ROOT = Path(__file__).resolve().parents[3]
pytestmark = pytest.mark.django_db


@pytest.fixture
def bundle_copy(tmp_path, monkeypatch):
    """A private copy of the serving bundle, in use for this test only."""
    copy = tmp_path / "bundle"
    shutil.copytree(bundle_dir(), copy)
    monkeypatch.setenv("DERMAL_BUNDLE_DIR", str(copy))
    return copy


def test_health_ok(client):
    response = client.get(reverse("health"))
    assert response.status_code == 200
    assert response.content == b"ok"


def test_health_when_the_bundle_is_missing(client, tmp_path, monkeypatch):
    monkeypatch.setenv("DERMAL_BUNDLE_DIR", str(tmp_path / "nowhere"))
    response = client.get(reverse("health"))
    assert response.status_code == 503
    assert b"serving bundle" in response.content and b"quantize_model.py" in response.content


def test_health_when_a_bundle_file_is_damaged(client, bundle_copy):
    assert client.get(reverse("health")).status_code == 200
    backbone = next(bundle_copy.glob("backbone_*.tflite"))
    backbone.write_bytes(backbone.read_bytes()[:-1000])
    response = client.get(reverse("health"))
    assert response.status_code == 503
    assert backbone.name.encode() in response.content


def test_health_when_a_bundle_file_is_replaced_in_place(client, bundle_copy):
    """Same size, different bytes: the check is not fooled by its cache."""
    head = bundle_copy / "head.npz"
    assert client.get(reverse("health")).status_code == 200
    data = bytearray(head.read_bytes())
    data[len(data) // 2] ^= 0xFF
    head.write_bytes(bytes(data))
    assert client.get(reverse("health")).status_code == 503


def test_health_when_the_engine_setting_is_wrong(client, monkeypatch):
    monkeypatch.setenv("DERMAL_ENGINE", "onnx")
    response = client.get(reverse("health"))
    assert response.status_code == 503 and b"onnx" in response.content


@pytest.fixture
def database_down(tmp_path, monkeypatch):
    """The health checks' connection replaced by a real one to an SQLite file that cannot be opened."""
    from django.db.backends.sqlite3.base import DatabaseWrapper

    missing = tmp_path / "missing-dir" / "db.sqlite3"
    settings_dict = {**connections["default"].settings_dict, "ENGINE": "django.db.backends.sqlite3",
                     "NAME": str(missing), "OPTIONS": {}}
    monkeypatch.setattr(selectors, "connection", DatabaseWrapper(settings_dict, alias="unreachable"))
    monkeypatch.setitem(selectors._health_logged, "problems", [])  # so that the outage is logged afresh
    return missing


def test_health_stays_200_and_says_degraded_when_the_database_is_down(client, database_down, caplog):
    """Analyses go on without the database: the platform must keep this instance in rotation."""
    response = client.get(reverse("health"))
    body = response.content.decode()
    assert response.status_code == 200, body
    assert body.splitlines()[:2] == ["degraded", "database: unreachable - history not recorded"]
    assert "analyses answered since this worker started could not be recorded" in body.splitlines()[2]
    assert "unable to open" not in body and str(database_down.parent) not in body  # the driver's words: logged
    assert any("database: unable to open database file" in record.getMessage() for record in caplog.records)


def test_readiness_names_the_database_when_it_is_down(client, database_down):
    response = client.get(reverse("ready"))
    assert response.status_code == 503
    states = {row["name"]: row for row in response.json()["dependencies"]}
    assert states["database"] == {"name": "database", "state": "down",
                                  "detail": "unreachable - history not recorded"}
    assert states["serving bundle"]["state"] == "ok"
    assert response.json()["status"] == "down" and "unable to open" not in response.content.decode()


def test_readiness_when_everything_is_up(client):
    response = client.get(reverse("ready"))
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "ok"
    assert [(row["name"], row["state"]) for row in response.json()["dependencies"]] == [
        ("serving bundle", "ok"), ("database", "ok")]


def test_readiness_and_health_when_the_bundle_is_missing(client, tmp_path, monkeypatch):
    monkeypatch.setenv("DERMAL_BUNDLE_DIR", str(tmp_path / "nowhere"))
    response = client.get(reverse("ready"))
    assert response.status_code == 503
    bundle = response.json()["dependencies"][0]
    assert bundle["name"] == "serving bundle" and bundle["state"] == "down"
    assert "quantize_model.py" in bundle["detail"] and "DERMAL_BUNDLE_DIR" in bundle["detail"]
    health = client.get(reverse("health"))
    assert health.status_code == 503
    for public in (response.content, health.content):
        assert str(tmp_path).encode() not in public  # where the bundle lives is for the log


def test_memory_report(client):
    response = client.get(reverse("memory"))
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["memory"]) >= {"rss_mb", "vms_mb", "percent", "peak_rss_mb"}
    assert 0 < body["memory"]["rss_mb"] <= body["memory"]["peak_rss_mb"]
    assert body["budget_mb"] == 512
    assert body["headroom_mb"] == pytest.approx(512 - body["memory"]["rss_mb"], abs=0.2)
    assert isinstance(body["model_loaded"], bool) and isinstance(body["gradcam_enabled"], bool)
    assert body["engine"] == "litert" and body["precision"] == "int8"


def test_memory_budget_from_the_environment(client, monkeypatch):
    monkeypatch.setenv("MEMORY_BUDGET_MB", "1024")
    assert client.get(reverse("memory")).json()["budget_mb"] == 1024


def test_memory_report_names_a_broken_bundle(client, tmp_path, monkeypatch):
    monkeypatch.setenv("DERMAL_BUNDLE_DIR", str(tmp_path))
    body = client.get(reverse("memory")).json()
    assert body["status"] == "error" and "quantize_model.py" in body["error"]
    assert body["memory"]["rss_mb"] > 0


PROBE = """
import django, json
django.setup()
from django.core.management import call_command
from django.test import Client
from Dermal.AI_detection import model_loaded
call_command("migrate", verbosity=0)
client = Client()
health, ready, memory = client.get("/health/"), client.get("/health/ready/"), client.get("/memory/")
print(json.dumps({"health": health.status_code, "ready": ready.status_code, "memory": memory.json(),
                  "loaded_after": model_loaded()}))
"""


def test_health_readiness_and_memory_never_load_the_model(tmp_path):
    """In a fresh process (this one has loaded the model already) with the production settings."""
    env = {**os.environ, "DEBUG": "false", "SECRET_KEY": "x" * 60, "ALLOWED_HOSTS": "testserver",
           "SECURE_SSL_REDIRECT": "false", "DATABASE_URL": f"sqlite:///{tmp_path / 'probe.sqlite3'}",
           "DJANGO_SETTINGS_MODULE": "dermai.settings"}
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True,
                          check=True, timeout=120)
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["health"] == 200 and report["ready"] == 200
    assert report["memory"]["model_loaded"] is False and report["loaded_after"] is False
    assert report["memory"]["memory"]["rss_mb"] < 150  # nothing heavy imported either


def test_dermai_check_command(capsys):
    call_command("dermai_check")
    assert capsys.readouterr().out.startswith("ok: 7 classes, int8 backbone")


def test_dermai_check_command_fails_on_a_broken_bundle(tmp_path, monkeypatch):
    monkeypatch.setenv("DERMAL_BUNDLE_DIR", str(tmp_path))
    with pytest.raises(CommandError, match="serving bundle"):
        call_command("dermai_check")


def test_pages_answer_503_without_a_bundle(client, tmp_path, monkeypatch, lesion_jpeg):
    from .conftest import submit_to_api, submit_to_page

    monkeypatch.setenv("DERMAL_BUNDLE_DIR", str(tmp_path))
    page = client.get(reverse("upload"))
    assert page.status_code == 503 and b"the model is unavailable" in page.content
    for submit in (submit_to_page, submit_to_api):
        outcome = submit(client, lesion_jpeg)
        assert outcome.status == 503 and "quantize_model.py" in outcome.error
