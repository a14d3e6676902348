"""The web layer starts light: loading the URLconf, the middleware and the WSGI app imports no engine."""
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
# matplotlib and tqdm serve the measuring commands (manage.py analyse, evaluate) only: never a web worker.
HEAVY = ("numpy", "PIL", "simplejpeg", "ai_edge_litert", "Dermal.AI_detection", "Dermal.inference.engines",
         "matplotlib", "tqdm", "Dermal.measure", "sklearn", "trust")
HARNESS = ("yaml", "requests", "harness")  # the pre-deploy proof's libraries: in requirements.txt, never imported here
FOR_MEMORY = ("psutil",)  # /memory/'s alone: 40 ms of CPU a cold start at 0.1 CPU does without

PROBE = """
import json, sys
import django
django.setup()
import dermai.urls, Dermal.urls, Dermal.admin, Dermal.forms, Dermal.services, Dermal.views
from django.core.wsgi import get_wsgi_application
get_wsgi_application()  # the middleware chain, as Gunicorn's worker loads it
from django.test import Client
client = Client()
assert client.get("/health/", secure=True).status_code in (200, 503)  # Render polls it from the start
started = sorted(name for name in %r if name in sys.modules)
assert client.get("/memory/", secure=True).json()["model_loaded"] is False
print(json.dumps([started, sorted(name for name in %r if name in sys.modules)]))
""" % (HEAVY + HARNESS + FOR_MEMORY, HEAVY + HARNESS)


def test_starting_and_health_checks_import_neither_numpy_nor_pillow_nor_the_engine(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "DEBUG": "false", "SECRET_KEY": "x" * 60, "ALLOWED_HOSTS": "testserver",
           "DATABASE_URL": f"sqlite:///{tmp_path / 'probe.sqlite3'}", "DJANGO_SETTINGS_MODULE": "dermai.settings"}
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True,
                          check=True, timeout=120)
    started, after_memory = json.loads(done.stdout.strip().splitlines()[-1])
    assert started == [], "imported by starting and /health/"
    assert after_memory == [], "imported by /memory/"
