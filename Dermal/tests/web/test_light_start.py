"""The web layer starts light: loading the URLconf, the middleware and the WSGI app imports no engine, and the
garbage collector is left working, with the objects of the start out of its way."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
# matplotlib and tqdm serve the measuring commands (manage.py analyse, evaluate) only: never a web worker; nor do
# dask, distributed and fsspec (analyse --scheduler).
HEAVY = ("numpy", "PIL", "simplejpeg", "ai_edge_litert", "Dermal.AI_detection", "Dermal.inference.engines",
         "matplotlib", "tqdm", "Dermal.measure", "sklearn", "trust", "dask", "distributed", "fsspec")
HARNESS = ("yaml", "requests", "harness")  # the pre-deploy proof's libraries: in requirements.txt, never imported here
FOR_MEMORY = ("psutil",)  # /memory/'s alone: 40 ms of CPU a cold start at 0.1 CPU does without

PROBE = """
import gc, json, sys
import dermai.wsgi  # the application, as Gunicorn's worker loads it
import dermai.urls, Dermal.urls, Dermal.admin, Dermal.forms, Dermal.services, Dermal.views
collector = {"enabled": gc.isenabled(), "frozen": gc.get_freeze_count()}
from django.test import Client
client = Client()
assert client.get("/health/", secure=True).status_code in (200, 503)  # Render polls it from the start
started = sorted(name for name in %r if name in sys.modules)
assert client.get("/memory/", secure=True).json()["model_loaded"] is False
print(json.dumps([started, sorted(name for name in %r if name in sys.modules), collector]))
""" % (HEAVY + HARNESS + FOR_MEMORY, HEAVY + HARNESS)


@pytest.fixture(scope="module")
def started(tmp_path_factory):
    """What a fresh interpreter loading the WSGI app had imported, then after /memory/, and its collector's state."""
    database = tmp_path_factory.mktemp("probe") / "probe.sqlite3"
    env = {"PATH": "/usr/bin:/bin", "DEBUG": "false", "SECRET_KEY": "x" * 60, "ALLOWED_HOSTS": "testserver",
           "DATABASE_URL": f"sqlite:///{database}", "DJANGO_SETTINGS_MODULE": "dermai.settings"}
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True,
                          check=True, timeout=120)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_starting_and_health_checks_import_neither_numpy_nor_pillow_nor_the_engine(started):
    at_start, after_memory, _ = started
    assert at_start == [], "imported by starting and /health/"
    assert after_memory == [], "imported by /memory/"


def test_the_wsgi_app_leaves_the_collector_on_with_the_objects_of_its_start_frozen(started):
    collector = started[2]
    assert collector["enabled"], "dermai.wsgi left the garbage collector off"
    # Loading the app makes ~60,000 objects the collector tracks; nothing is frozen unless dermai.wsgi freezes it.
    assert collector["frozen"] > 40_000, "the objects of the start are left to every full collection"
