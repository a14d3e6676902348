"""harness.blueprint: render.yaml's start line made local, and Gunicorn's own reading of it."""
import pytest

from harness import ProofError
from harness.blueprint import gunicorn_settings, local_argv, start_command, with_app


@pytest.mark.parametrize("line, expected", [
    ("gunicorn app --bind 0.0.0.0:$PORT --workers 1",
     ["gunicorn", "app", "--bind", "127.0.0.1:8123", "--workers", "1"]),
    ("gunicorn app -b 0.0.0.0:${PORT}", ["gunicorn", "app", "-b", "127.0.0.1:8123"]),
    ("gunicorn app --bind=0.0.0.0:$PORT", ["gunicorn", "app", "--bind=127.0.0.1:8123"]),
    ("gunicorn app --threads 2", ["gunicorn", "app", "--threads", "2", "--bind", "127.0.0.1:8123"]),
])
def test_local_argv_only_fills_the_port_and_the_loopback_host(line, expected):
    assert local_argv(line, 8123) == expected


@pytest.mark.parametrize("line", ["gunicorn app --bind unix:/tmp/s.sock",
                                  "gunicorn app --bind 0.0.0.0:$PORT -e X=$HOME"])
def test_local_argv_refuses_what_it_cannot_run_locally(line):
    with pytest.raises(ProofError):
        local_argv(line, 8123)


def test_gunicorn_settings_is_gunicorns_own_reading():
    settings = gunicorn_settings(local_argv(start_command(), 8123))
    assert settings["workers"] == 1 and settings["threads"] == 64 and settings["timeout"] == 300
    with pytest.raises(ProofError):
        gunicorn_settings(["uvicorn", "app"])


def test_with_app_serves_another_application_and_changes_nothing_else():
    line = local_argv(start_command(), 8000)
    other = with_app(line, "bench.engine_only:application")
    assert gunicorn_settings(other)["args"] == ["bench.engine_only:application"]
    assert [arg for arg in other if arg != "bench.engine_only:application"] == \
        [arg for arg in line if arg != "dermai.wsgi:application"]
