"""render.yaml is a valid free-tier blueprint, and its start command is the line test_before_deploy.py runs."""
import platform
import re
import shlex
from pathlib import Path

import pytest
import yaml
from gunicorn.config import Config

from harness.blueprint import local_argv, render_env, start_command
from harness.server import server_env

ROOT = Path(__file__).resolve().parent.parent
BLUEPRINT = yaml.safe_load((ROOT / "render.yaml").read_text())


def web():
    services = [s for s in BLUEPRINT["services"] if s["type"] == "web"]
    assert len(services) == 1
    return services[0]


def env_vars():
    return {item["key"]: item for item in web()["envVars"]}


def gunicorn_args():
    argv = shlex.split(web()["startCommand"])
    assert argv[0] == "gunicorn"
    return Config().parser().parse_args(argv[1:])


def test_web_service_is_python_on_the_free_plan_built_by_build_sh():
    service = web()
    assert service["runtime"] == "python"
    assert service["plan"] == "free"
    assert service["buildCommand"] == "./build.sh"
    assert service["healthCheckPath"] == "/health/"


def test_start_command_runs_the_wsgi_app_with_the_issue_values():
    args = gunicorn_args()  # Gunicorn's own parser: the values it will really use
    assert args.args == ["dermai.wsgi:application"]
    assert args.bind == ["0.0.0.0:$PORT"]
    assert args.workers == 1
    assert args.threads == 64
    assert args.keepalive == 75
    assert args.worker_class == "dermai.gunicorn_worker.ThreadWorker"
    assert args.timeout == 300
    assert args.max_requests and args.max_requests > 0
    assert args.max_requests_jitter and 0 < args.max_requests_jitter < args.max_requests
    assert args.preload_app is None  # Django is imported by the worker only, not twice
    assert args.control_socket_disable is True


def test_the_threads_leave_health_a_thread_however_full_the_analysis_queue(settings):
    """Each photo waiting its turn holds a Gunicorn thread: with the queue full and an analysis running, /health/, the
    pages and the uploads being read (and refused) still find threads (issue 35's 40 people at once)."""
    assert not {"DERMAI_QUEUE_PLACES", "DERMAI_MAX_CONCURRENT"} & set(render_env())  # the defaults are Render's
    free = gunicorn_args().threads - settings.DERMAI_QUEUE_PLACES - settings.DERMAI_MAX_CONCURRENT
    assert free > 40


def test_gunicorn_values_live_on_the_start_line_only():
    # Gunicorn reads ./gunicorn.conf.py by default: the values must not be in two places.
    assert not (ROOT / "gunicorn.conf.py").exists()
    assert gunicorn_args().config is None


def test_env_vars():
    env = env_vars()
    literal = {key: str(item["value"]) for key, item in env.items() if "value" in item}
    assert literal["DEBUG"] == "false"
    assert literal["ENABLE_GRADCAM"] == "true"
    assert literal["DERMAI_FLIP_AVERAGE"] == "true"  # production triage: 35% specificity instead of 23%
    assert literal["TF_CPP_MIN_LOG_LEVEL"] == "3"
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        assert literal[name] == "1"
    assert env["SECRET_KEY"] == {"key": "SECRET_KEY", "generateValue": True}
    assert env["DERMAI_API_TOKEN"] == {"key": "DERMAI_API_TOKEN", "generateValue": True}  # the API is closed
    # Every value is a string for Render (YAML would otherwise turn false/1 into bool/int).
    assert all(isinstance(item["value"], str) for item in env.values() if "value" in item)


def test_python_version_is_pinned_to_the_one_the_tests_run_on():
    assert env_vars()["PYTHON_VERSION"]["value"] == "3.11.7" == platform.python_version()


def test_database_url_comes_from_a_free_postgres_declared_here():
    source = env_vars()["DATABASE_URL"]["fromDatabase"]
    assert source["property"] == "connectionString"
    databases = {db["name"]: db for db in BLUEPRINT["databases"]}
    assert databases[source["name"]]["plan"] == "free"
    assert databases[source["name"]]["ipAllowList"] == []  # private network only


def test_the_proof_runs_exactly_this_start_command():
    command = web()["startCommand"]
    assert start_command() == command
    argv = local_argv(command, 54321)
    expected = shlex.split(command.replace("$PORT", "54321").replace("0.0.0.0", "127.0.0.1"))
    assert argv == expected
    assert argv.count("--bind") == 1 and argv[argv.index("--bind") + 1] == "127.0.0.1:54321"


def test_the_proof_uses_render_yaml_env_values_as_production_settings(tmp_path):
    env = server_env(tmp_path, 4242)
    for key, item in env_vars().items():
        if "value" in item and key != "PYTHON_VERSION":
            assert env[key] == item["value"], key
    assert env["DEBUG"] == "false" and len(env["SECRET_KEY"]) >= 50
    assert len(env["DERMAI_API_TOKEN"]) >= 50 and env["DERMAI_API_TOKEN"] != env["SECRET_KEY"]  # as Render's
    assert env["DATABASE_URL"].startswith("sqlite:///") and str(tmp_path) in env["DATABASE_URL"]
    assert "GUNICORN_CMD_ARGS" not in env


@pytest.mark.parametrize("name", ["requirements.txt"])
def test_serving_requirements_are_pinned_and_free_of_tensorflow(name):
    lines = [line.split("#")[0].strip() for line in (ROOT / name).read_text().splitlines()]
    pins = [line for line in lines if line and not line.startswith("-")]
    assert pins and all(re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==[0-9][^\s]*", line) for line in pins), pins
    names = {re.split(r"==", line)[0].lower() for line in pins}
    assert {"django", "gunicorn", "psutil", "pillow", "numpy", "whitenoise", "dj-database-url",
            "psycopg2-binary", "ai-edge-litert", "pyyaml", "requests"} <= names  # the proof runs on these alone
    assert not any(n.startswith(("tensorflow", "keras")) for n in names)
