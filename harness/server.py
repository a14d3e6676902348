"""The real Gunicorn as a child process group: its production environment, start, health wait, log and stop."""
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from harness import ProofError
from harness.blueprint import ROOT, generated_keys, render_env

# Variables of this shell that would make the server differ from Render's (extra Gunicorn options, another
# settings module, a test run's async-safety switch). Everything else passes through, e.g. DERMAI_* tuning.
NOT_INHERITED = ("GUNICORN_CMD_ARGS", "DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE")


def free_port():
    """A port the kernel says is free on 127.0.0.1 (bound to :0 and released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def interpreter_path_env(env):
    """env with this interpreter's bin dir leading PATH, so `gunicorn` is the one installed beside it."""
    env = dict(env)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    return env


def server_env(db_dir, port, *, database_url=None, engine="litert", budget=512.0):
    """Production settings: render.yaml's env values, a fresh secret for each value Render generates (SECRET_KEY,
    DERMAI_API_TOKEN), loopback hosts, a throw-away SQLite in `db_dir` unless `database_url` is given."""
    env = {k: v for k, v in os.environ.items() if k not in NOT_INHERITED}
    env.update(render_env())
    env.pop("PYTHON_VERSION", None)
    env.update({key: secrets.token_urlsafe(50) for key in generated_keys()})
    env.update({
        "PORT": str(port),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATABASE_URL": database_url or f"sqlite:///{Path(db_dir) / 'proof.sqlite3'}",
        "DERMAL_ENGINE": engine,
        "MEMORY_BUDGET_MB": str(budget),
        "PYTHONUNBUFFERED": "1",
    })
    return interpreter_path_env(env)


def run_step(argv, env, label, timeout=300):
    """A build step (migrate, collectstatic) in the project folder; ProofError with its output if it fails."""
    try:
        done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise ProofError(f"{label} took longer than {timeout} s") from exc
    if done.returncode != 0:
        raise ProofError(f"{label} failed ({done.returncode}):\n{(done.stdout + done.stderr)[-3000:]}")


def prepare(env, collect_static):
    """What build.sh does before the start line: compile the app's modules (a Render start finds them compiled),
    migrate, and collectstatic for the production pages."""
    run_step([sys.executable, "-m", "compileall", "-q", "-x", "/tests/", "Dermal", "dermai"], env, "compileall")
    run_step([sys.executable, "manage.py", "migrate", "--no-input"], env, "manage.py migrate")
    if collect_static:
        run_step([sys.executable, "manage.py", "collectstatic", "--no-input"], env, "manage.py collectstatic")


class Server:
    """The real Gunicorn, in its own process group, always killed (the group) on exit; inside `cap` (a
    harness.cpu_cap.CpuCap) from its first instruction when one is given."""

    def __init__(self, argv, env, log_path, cap=None):
        self.argv, self.env, self.log_path, self.cap = argv, env, log_path, cap
        self.process = self.spawned = None

    def __enter__(self):
        executable = shutil.which(self.argv[0], path=self.env["PATH"])
        if not executable:
            raise ProofError(f"{self.argv[0]} is not installed beside {sys.executable} nor on PATH")
        self.log = open(self.log_path, "wb")
        command = [executable, *self.argv[1:]]
        self.process = subprocess.Popen(self.cap.command(command) if self.cap else command, cwd=ROOT, env=self.env,
                                        stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        self.spawned = time.monotonic()
        return self

    def wait_healthy(self, client, timeout):
        """Polls /health/ until 200; returns that moment (time.monotonic()), or ProofError with the log."""
        deadline, last = time.monotonic() + timeout, "no answer"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ProofError(f"the server exited with {self.process.returncode} while starting:\n{self.log_tail()}")
            try:
                response = client.get("/health/", timeout=5)
                if response.status == 200:
                    return time.monotonic()
                last = f"{response.status} {response.body[:200]!r}"
            except OSError as exc:  # requests' errors are OSErrors: not listening yet
                last = repr(exc)
            time.sleep(0.2)
        raise ProofError(f"/health/ was not 200 within {timeout} s (last: {last}):\n{self.log_tail()}")

    def log_tail(self, chars=3000):
        try:
            self.log.flush()
            return Path(self.log_path).read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def __exit__(self, *exc):
        if self.process and self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
            except ProcessLookupError:
                pass
        if self.process:  # workers left behind by a master that died first
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        self.log.close()
        return False
