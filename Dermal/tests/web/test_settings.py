"""Settings from the environment, checked in fresh processes, and the production configuration."""
import io
import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.http import HttpResponse
from django.test import RequestFactory

from dermai.middleware import UploadSizeLimitMiddleware
from dermai.settings import env_flag

ROOT = Path(__file__).resolve().parents[3]
PRODUCTION = {"DEBUG": "false", "SECRET_KEY": secrets.token_urlsafe(50), "ALLOWED_HOSTS": "example.com"}


def run(code_or_args, **env):
    """Run Python (a -c snippet, or manage.py arguments) with the given environment on top of a clean one."""
    base = {key: value for key, value in os.environ.items()
            if key not in ("DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "RENDER_EXTERNAL_HOSTNAME", "DB_NAME")}
    args = ["manage.py", *code_or_args] if isinstance(code_or_args, list) else ["-c", code_or_args]
    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={**base, "DJANGO_SETTINGS_MODULE": "dermai.settings", **env})


def settings_of(*names, **env):
    done = run("import json; from django.conf import settings; "
               f"print(json.dumps({{n: str(getattr(settings, n)) for n in {list(names)!r}}}))", **env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_deploy_check_passes_with_production_settings():
    done = run(["check", "--deploy", "--fail-level", "DEBUG"], **PRODUCTION)
    assert done.returncode == 0, done.stderr
    assert "no issues" in done.stdout


@pytest.mark.parametrize("value, expected", [
    ("true", True), ("1", True), ("yes", True), (" TRUE ", True), ("Yes", True),
    ("false", False), ("0", False), ("", False), ("tru", False), ("on", False), ("debug", False), ("no", False),
])
def test_debug_is_parsed_safely(monkeypatch, value, expected):
    monkeypatch.setenv("DEBUG", value)
    assert env_flag("DEBUG") is expected


def test_no_secret_key_means_no_start_in_production():
    done = run(["check"], DEBUG="false", ALLOWED_HOSTS="example.com")
    assert done.returncode != 0
    assert "SECRET_KEY" in done.stderr


def test_development_key_only_with_debug():
    assert settings_of("DEBUG", "SECRET_KEY", DEBUG="yes")["SECRET_KEY"].startswith("django-insecure")
    production = settings_of("SECRET_KEY", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SECURE_SSL_REDIRECT",
                             "SECURE_HSTS_SECONDS", **PRODUCTION)
    assert production == {"SECRET_KEY": PRODUCTION["SECRET_KEY"], "SESSION_COOKIE_SECURE": "True",
                          "CSRF_COOKIE_SECURE": "True", "SECURE_SSL_REDIRECT": "True",
                          "SECURE_HSTS_SECONDS": "31536000"}


def test_allowed_hosts_include_render_hostname():
    hosts = settings_of("ALLOWED_HOSTS", **PRODUCTION, RENDER_EXTERNAL_HOSTNAME="dermai.onrender.com")
    assert hosts["ALLOWED_HOSTS"] == str(["example.com", "dermai.onrender.com"])


def test_database_defaults_to_embedded_sqlite_named_by_db_name(tmp_path):
    env = {key: "" for key in ("DATABASE_URL",)}
    found = settings_of("DATABASES", DEBUG="true", DB_NAME="dermai-test.sqlite3", **env)["DATABASES"]
    assert "sqlite3" in found and str(ROOT / "dermai-test.sqlite3") in found


def test_database_url_is_used(tmp_path):
    found = settings_of("DATABASES", DEBUG="true", DATABASE_URL="postgres://u:p@db.internal:5433/dermai")
    assert "postgresql" in found["DATABASES"] and "db.internal" in found["DATABASES"]


def test_queue_settings_from_the_environment():
    names = ("DERMAI_MAX_CONCURRENT", "DERMAI_MAX_WAIT", "DERMAI_QUEUE_PLACES")
    assert settings_of(*names, DEBUG="true", DERMAI_MAX_CONCURRENT="2", DERMAI_MAX_WAIT="30.5",
                       DERMAI_QUEUE_PLACES="7") == {"DERMAI_MAX_CONCURRENT": "2", "DERMAI_MAX_WAIT": "30.5",
                                                   "DERMAI_QUEUE_PLACES": "7"}
    # never zero analyses at once nor zero places; a negative wait is none
    assert settings_of(*names, DEBUG="true", DERMAI_MAX_CONCURRENT="0", DERMAI_MAX_WAIT="-5",
                       DERMAI_QUEUE_PLACES="0") == {"DERMAI_MAX_CONCURRENT": "1", "DERMAI_MAX_WAIT": "0.0",
                                                   "DERMAI_QUEUE_PLACES": "1"}


def test_upload_limits_from_the_environment():
    found = settings_of("MAX_UPLOAD_BYTES", "FILE_UPLOAD_MAX_MEMORY_SIZE", "DATA_UPLOAD_MAX_MEMORY_SIZE",
                        DEBUG="true", DERMAI_MAX_UPLOAD_MB="4")
    assert int(found["MAX_UPLOAD_BYTES"]) == 4 * 1024 * 1024
    # Uploads bigger than this go to a temporary file rather than RAM; other fields stay small.
    assert int(found["FILE_UPLOAD_MAX_MEMORY_SIZE"]) <= 4 * 1024 * 1024
    assert int(found["DATA_UPLOAD_MAX_MEMORY_SIZE"]) <= 1024 * 1024


PRODUCTION_REQUESTS = """
import django
django.setup()
from django.core.management import call_command
from django.test import Client
call_command("collectstatic", interactive=False, verbosity=0)  # as build.sh does: pages need its manifest
client = Client()
print(client.get("/health/").status_code, client.get("/").status_code, client.get("/")["Location"],
      client.get("/", secure=True).status_code, client.get("/", secure=True)["Strict-Transport-Security"])
"""


def test_production_redirects_to_https_except_health(tmp_path):
    done = run(PRODUCTION_REQUESTS, **{**PRODUCTION, "ALLOWED_HOSTS": "testserver",
                                       "DATABASE_URL": f"sqlite:///{tmp_path / 'prod.sqlite3'}"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["200", "301", "https://testserver/", "200",
                                   "max-age=31536000;", "includeSubDomains;", "preload"]


class UnreadableBody(io.RawIOBase):
    def read(self, *args):
        raise AssertionError("the oversized body was read")


def test_oversized_upload_is_refused_before_its_body_is_read(settings):
    request = RequestFactory().post("/api/predict/", data=b"", content_type="multipart/form-data; boundary=x")
    request.META["CONTENT_LENGTH"] = str(settings.MAX_UPLOAD_BYTES * 10)
    request.META["wsgi.input"] = UnreadableBody()
    request._stream = UnreadableBody()
    answered = UploadSizeLimitMiddleware(lambda request: HttpResponse("reached the view"))(request)
    assert answered.status_code == 413
    assert json.loads(answered.content)["field"] == "image"


def test_ordinary_requests_pass_the_size_check(settings):
    request = RequestFactory().get("/", HTTP_CONTENT_LENGTH="bogus")
    request.META["CONTENT_LENGTH"] = "bogus"
    assert UploadSizeLimitMiddleware(lambda request: HttpResponse("view"))(request).content == b"view"


def test_the_deployments_language_is_english_unless_dermai_language_says_vietnamese():
    assert settings_of("LANGUAGE_CODE", DEBUG="yes")["LANGUAGE_CODE"] == "en"
    assert settings_of("LANGUAGE_CODE", DEBUG="yes", DERMAI_LANGUAGE=" VI ")["LANGUAGE_CODE"] == "vi"
    refused = run(["check"], DEBUG="yes", DERMAI_LANGUAGE="fr")  # a language without a catalogue: no start
    assert refused.returncode != 0 and "DERMAI_LANGUAGE='fr' is not one of en, vi" in refused.stderr
