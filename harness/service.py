"""render.yaml's service running locally for the block of a `with`: started, healthy, always stopped.

The start line on a free 127.0.0.1 port with production settings and a throw-away SQLite (or a given
DATABASE_URL), migrated as build.sh does; the test suite, the proof, bench/ and endurance/ all run it this way.
"""
import contextlib
import re
import shutil
import tempfile
import time
from pathlib import Path

from harness import ProofError
from harness.blueprint import gunicorn_settings, local_argv, start_command, with_app, with_options
from harness.client import Client
from harness.cpu_cap import CpuCap
from harness.memory import service_pids
from harness.server import Server, free_port, prepare, server_env

# What Gunicorn's master logs when a worker dies other than by its own recycling or a normal stop.
WORKER_DEATH = re.compile(r"WORKER TIMEOUT|was sent SIG(?!TERM)|exited with code|Perhaps out of memory|"
                          r"Worker failed to boot")
RECYCLE = "Autorestarting worker after current request."


class Service:
    """A running service: its Server (process group), an HTTP Client, its argv, env and Gunicorn settings."""

    def __init__(self, server, client, argv, env, gunicorn):
        self.server, self.client, self.argv, self.env, self.gunicorn = server, client, argv, env, gunicorn
        self.cap = server.cap  # the CpuCap the master and its workers run in, or None
        self.ready_seconds = None  # spawn to /health/ 200

    @property
    def master_pid(self):
        return self.server.process.pid

    def worker_pids(self):
        return service_pids(self.master_pid)[1:]

    def log(self):
        return self.server.log_tail(chars=10**9)

    def worker_deaths(self):
        """Log lines saying a worker was killed or crashed (recycling and a normal stop excluded)."""
        return [line for line in self.log().splitlines() if WORKER_DEATH.search(line)]

    def recycles(self):
        return self.log().count(RECYCLE)


def snapshot_bundle(dest, attempts=4, wait_s=15):
    """A verified copy of the serving bundle at `dest`, so that the run serves the same files throughout even
    if the bundle is regenerated meanwhile (retried a few times while it is being rewritten)."""
    from Dermal.inference.bundle import BundleError, bundle_dir, check_bundle

    for attempt in range(attempts):
        shutil.rmtree(dest, ignore_errors=True)
        shutil.copytree(bundle_dir(), dest)
        try:
            check_bundle(dest)
            return Path(dest)
        except BundleError as exc:
            problem = exc
            if attempt + 1 < attempts:
                time.sleep(wait_s)
    raise ProofError(f"the serving bundle is inconsistent: {problem}")


@contextlib.contextmanager
def running_service(*, database_url=None, env=None, options=None, collect_static=False, engine="litert",
                    budget=512.0, port=None, log_path=None, bundle_snapshot=True, start_timeout=90,
                    request_timeout=120, cpus=None, app=None):
    """render.yaml's service, answering /health/ 200, for the duration of the block; always stopped.

    `options` overrides Gunicorn options of the start line (e.g. {"--max-requests": 250}); `env` adds
    variables on top of production settings (a DERMAI_API_TOKEN there is also sent by the client). With
    `bundle_snapshot` the service reads a verified copy of the serving bundle unless `env` gives its own
    DERMAL_BUNDLE_DIR. With `cpus` the master and its workers run in a cgroup capped at that many CPUs (0.1 is
    Render free's; the build steps are not capped); CapUnavailable where the machine cannot. `app` serves another
    WSGI application ("module:callable") on the same line (bench/cold_start.py's engine without Django). ProofError
    when it cannot start.
    """
    port = port or free_port()
    argv = with_options(local_argv(start_command(), port), options or {})
    argv = with_app(argv, app) if app else argv
    gunicorn = gunicorn_settings(argv)  # refuses a line that does not run gunicorn before anything starts
    with tempfile.TemporaryDirectory(prefix="dermai-service-") as tmp:
        settings = {**server_env(tmp, port, database_url=database_url, engine=engine, budget=budget), **(env or {})}
        if collect_static:  # its own copy: services started side by side (pytest-xdist) must not share one
            settings.setdefault("DERMAI_STATIC_ROOT", str(Path(tmp) / "staticfiles"))
        if bundle_snapshot and not (env or {}).get("DERMAL_BUNDLE_DIR"):
            settings["DERMAL_BUNDLE_DIR"] = str(snapshot_bundle(Path(tmp) / "bundle"))
        prepare(settings, collect_static)
        client = Client(port, token=settings.get("DERMAI_API_TOKEN", "").strip() or None, timeout=request_timeout)
        with CpuCap(cpus) if cpus else contextlib.nullcontext() as cap, \
                Server(argv, settings, log_path or Path(tmp) / "gunicorn.log", cap) as server:
            service = Service(server, client, argv, settings, gunicorn)
            service.ready_seconds = round(server.wait_healthy(client, start_timeout) - server.spawned, 2)
            yield service
