#!/usr/bin/env python
"""The pre-deploy proof: run DermAI exactly as Render will, measure it, and say whether it fits.

What it does
  1. Reads the start command from render.yaml (never a copy of it) and runs that line locally: `$PORT` becomes a
     free port sampled on 127.0.0.1 and the 0.0.0.0 bind host becomes 127.0.0.1 (nothing else changes). The
     gunicorn found first is the one beside this interpreter (its bin dir leads PATH).
  2. Production settings: render.yaml's env values (DEBUG=false, ENABLE_GRADCAM, the *_NUM_THREADS, ...), a
     fresh random SECRET_KEY, ALLOWED_HOSTS=127.0.0.1,localhost, and a throw-away SQLite DATABASE_URL (or
     --database-url), migrated, and collectstatic run into staticfiles/, as build.sh does. Requests carry
     `X-Forwarded-Proto: https`, as Render's TLS proxy adds, so the production SSL redirect stays on.
  3. Measures the whole service, the Gunicorn master plus its workers summed (RSS and PSS), sampled at ~20 Hz
     in a background thread, plus each process's VmHWM (kernel high-water mark, catches spikes between
     samples): after start-up (Django imported, model not loaded; /memory/ must say so), after the first
     prediction (model loaded), the peak during N real uploads over HTTP with Grad-CAM on (default 20), and the
     peak during a burst of concurrent uploads (default 4). Also the first-request time and the warm
     median/p95 latency of the sequential uploads.
  4. Prints each figure against its threshold and the decision matrix verdict, writes the figures as JSON
     (--json PATH), and exits non-zero unless the verdict is "deploy" or "deploy and watch".

Peak memory is the larger of the sampled summed RSS and the summed VmHWM of the live processes: RSS counts the
pages master and worker share twice, so it errs on the safe side of what the container is charged (PSS is
printed beside it).

Thresholds (defaults, each a flag): start-up < 100 MB; the loaded model < 150 MB over start-up; peak < 450 MB
and < --budget (512 MB); warm prediction p95 < 10 s; the first (cold) request within Gunicorn's --timeout; no
5xx but the slot 503; every upload answered 200 with real probabilities and a Grad-CAM overlay; /memory/ says
the model is not loaded at start-up. Memory figures are the summed RSS.

Burst and the concurrency slot: the service analyses DERMAI_MAX_CONCURRENT photos at once (default 1); a
request waits up to DERMAI_SLOT_TIMEOUT (default 5 s) for the slot, then is answered 503 with Retry-After.
That is the designed behaviour, not a server error: the proof counts those "slot 503s" separately and retries
each after its Retry-After (capped at 5 s, bounded in attempts and time) until every upload succeeds. Any other
5xx, any 503 without Retry-After, or an upload that never gets its 200 fails the proof. (The tests run it with
DERMAI_SLOT_TIMEOUT=0 so that the burst really meets the limiter.)

Decision matrix (the seeds' checklist)
  deploy            every threshold passes and the peak leaves >= 20% of the budget free
  deploy and watch  every threshold passes but the headroom under the budget is < 20%
  do not deploy     any threshold fails (or the proof could not run)
Exit status: 0 for deploy / deploy and watch, 1 for do not deploy, 2 when the proof could not run at all.

Examples
  python test_before_deploy.py                      # the proof with the int8 LiteRT engine and ../shared/derm_eval
  python test_before_deploy.py --json proof.json    # and keep the figures
  python test_before_deploy.py --engine keras       # the same proof with the original Keras model (TensorFlow)
  python test_before_deploy.py --images DIR --budget 512
"""
import argparse
import http.client
import json
import os
import platform
import random
import re
import secrets
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
from Dermal.inference.memory import service_memory  # noqa: E402  (psutil only: no model, no Django)

RENDER_YAML = ROOT / "render.yaml"
DEFAULT_IMAGES = ROOT.parent / "shared" / "derm_eval"
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png"}
HEADROOM_FRACTION = 0.20
SLOT_RETRY_CAP_S = 5.0
VERDICTS = ("deploy", "deploy and watch", "do not deploy")
# Variables of this shell that would make the server differ from Render's (extra Gunicorn options, another
# settings module, a test run's async-safety switch). Everything else passes through, e.g. DERMAI_* tuning.
NOT_INHERITED = ("GUNICORN_CMD_ARGS", "DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE")


class ProofError(RuntimeError):
    """The proof could not be run (no server, no images, a bad render.yaml): the verdict is do not deploy."""


# --- render.yaml and the start line -------------------------------------------------------------------------

def load_blueprint(path=RENDER_YAML):
    text = Path(path).read_text()
    try:
        import yaml
    except ImportError:  # the proof must not need the test tools: a minimal reading of the two things it uses
        return _minimal_blueprint(text)
    return yaml.safe_load(text)


def _minimal_blueprint(text):
    """startCommand and the literal `key:`/`value:` env pairs of the first web service, without PyYAML."""
    start = re.search(r"^\s*startCommand:\s*(.+?)\s*$", text, re.M)
    env, key = [], None
    for line in text.splitlines():
        if m := re.match(r"^\s*-\s*key:\s*(\S+)\s*$", line):
            key = m.group(1)
            env.append({"key": key})
        elif key and (m := re.match(r"^\s*value:\s*(.*?)\s*$", line)):
            env[-1]["value"] = m.group(1).strip("\"'")
        elif key and re.match(r"^\s*(generateValue|fromDatabase):", line):
            env[-1]["generated"] = True
    return {"services": [{"type": "web", "startCommand": start.group(1) if start else None, "envVars": env}]}


def web_service(blueprint):
    for service in blueprint.get("services") or []:
        if service.get("type") == "web":
            return service
    raise ProofError("render.yaml declares no web service")


def start_command(path=RENDER_YAML):
    """The web service's startCommand, exactly as written in render.yaml."""
    command = web_service(load_blueprint(path)).get("startCommand")
    if not command:
        raise ProofError("render.yaml's web service has no startCommand")
    return command


def render_env(path=RENDER_YAML):
    """The literal env values render.yaml gives the web service (generated and database values excluded)."""
    env = {}
    for item in web_service(load_blueprint(path)).get("envVars") or []:
        if "value" in item and "key" in item:
            env[item["key"]] = str(item["value"])
    return env


def local_argv(command, port, host="127.0.0.1"):
    """render.yaml's start line as argv for this machine: $PORT -> port, bind host 0.0.0.0 -> host.

    Nothing else is changed. A line without --bind gets one, since Gunicorn would otherwise bind 0.0.0.0:$PORT.
    """
    line = re.sub(r"\$\{PORT\}|\$PORT\b", str(port), command)
    if "$" in line:
        raise ProofError(f"the start command uses a variable the proof cannot fill: {command!r}")
    argv = shlex.split(line)
    bound = False
    for i, arg in enumerate(argv):
        if arg in ("--bind", "-b") and i + 1 < len(argv):
            argv[i + 1] = _local_bind(argv[i + 1], host)
            bound = True
        elif arg.startswith("--bind="):
            argv[i] = "--bind=" + _local_bind(arg[len("--bind="):], host)
            bound = True
    if not bound:
        argv += ["--bind", f"{host}:{port}"]
    return argv


def _local_bind(address, host):
    if address.startswith(("unix:", "fd://")):
        raise ProofError(f"the proof needs a TCP bind, not {address!r}")
    _, _, port = address.rpartition(":")
    return f"{host}:{port}"


def gunicorn_settings(argv):
    """Gunicorn's own reading of a start line (workers, threads, timeout, ...): a dict of the set options."""
    from gunicorn.config import Config

    if not argv or Path(argv[0]).name != "gunicorn":
        raise ProofError(f"the start command does not run gunicorn: {argv[:1]}")
    parsed = Config().parser().parse_args(argv[1:])
    return {key: value for key, value in vars(parsed).items() if value is not None}


def free_port():
    """A port the kernel says is free on 127.0.0.1 (bound to :0 and released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def interpreter_path_env(env):
    """env with this interpreter's bin dir leading PATH, so `gunicorn` is the one installed beside it."""
    env = dict(env)
    bindir = os.path.dirname(sys.executable)
    env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
    return env


# --- memory --------------------------------------------------------------------------------------------------

def vm_hwm_mb(pid):
    """A process's peak resident set (VmHWM) in MB, or None if it is gone."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def process_breakdown(root_pid):
    """Each process of the service: pid, role, RSS, PSS and VmHWM in MB (the master first)."""
    rows = []
    for pid in service_pids(root_pid):
        try:
            full = psutil.Process(pid).memory_full_info()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        rows.append({"pid": pid, "role": "master" if pid == root_pid else "worker",
                     "rss_mb": round(full.rss / 2**20, 1), "pss_mb": round(getattr(full, "pss", full.rss) / 2**20, 1),
                     "hwm_mb": round(vm_hwm_mb(pid) or 0, 1)})
    return rows


def service_pids(root_pid):
    try:
        root = psutil.Process(root_pid)
        return [root.pid, *(child.pid for child in root.children(recursive=True))]
    except psutil.NoSuchProcess:
        return []


class ServiceSampler(threading.Thread):
    """Samples the summed RSS/PSS of a process tree at `hz` and the summed VmHWM of its live processes.

    Peaks are kept per phase (set `phase` to switch) and overall; `sample_now()` takes one reading at once.
    """

    def __init__(self, root_pid, hz=20.0):
        super().__init__(name="memory-sampler", daemon=True)
        self.root_pid, self.interval = root_pid, 1.0 / hz
        self.phase = "start-up"
        self.peaks = {}          # phase -> {"rss_mb", "pss_mb", "hwm_sum_mb"}
        self.samples = 0
        self.error = None
        self._stop_event = threading.Event()
        self._lock = threading.Lock()

    def sample_now(self):
        memory = service_memory(self.root_pid)
        hwm = sum(filter(None, (vm_hwm_mb(pid) for pid in service_pids(self.root_pid))))
        reading = {"rss_mb": memory["rss_mb"], "pss_mb": memory["pss_mb"], "hwm_sum_mb": round(hwm, 1)}
        with self._lock:
            self.samples += 1
            peak = self.peaks.setdefault(self.phase, dict(reading))
            for key, value in reading.items():
                peak[key] = max(peak[key], value)
        return reading

    def run(self):
        while not self._stop_event.wait(self.interval):
            try:
                self.sample_now()
            except psutil.NoSuchProcess as exc:
                self.error = f"the server process is gone ({exc})"
                return
            except Exception as exc:  # keep sampling through a transient /proc race
                self.error = repr(exc)

    def stop(self):
        self._stop_event.set()
        self.join(timeout=5)

    def peak(self, key, phases=None):
        with self._lock:
            values = [p[key] for name, p in self.peaks.items() if phases is None or name in phases]
        return max(values) if values else None


# --- HTTP ------------------------------------------------------------------------------------------------------

class Client:
    """Plain http.client requests to 127.0.0.1, with Render's proxy header and a bounded timeout."""

    def __init__(self, port, token=None, timeout=120.0):
        self.port, self.timeout = port, timeout
        self.headers = {"X-Forwarded-Proto": "https", "Host": f"127.0.0.1:{port}"}
        if token:
            self.headers["Authorization"] = f"Bearer {token}"

    def request(self, method, path, body=None, headers=None, timeout=None):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout or self.timeout)
        started = time.perf_counter()
        try:
            connection.request(method, path, body=body, headers={**self.headers, **(headers or {})})
            response = connection.getresponse()
            data = response.read()
            return Response(response.status, {k.lower(): v for k, v in response.getheaders()}, data,
                            time.perf_counter() - started)
        finally:
            connection.close()

    def get(self, path, timeout=None):
        return self.request("GET", path, timeout=timeout)

    def upload(self, image, gradcam=True, timeout=None):
        body, content_type = multipart(image, gradcam)
        return self.request("POST", "/api/predict/", body=body, headers={"Content-Type": content_type},
                            timeout=timeout)


class Response:
    def __init__(self, status, headers, body, seconds):
        self.status, self.headers, self.body, self.seconds = status, headers, body, seconds

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    @property
    def slot_busy(self):
        """The concurrency limiter's answer: 503 with Retry-After (designed, not a server error)."""
        return self.status == 503 and "retry-after" in self.headers

    def retry_after(self):
        try:
            return max(0.0, float(self.headers.get("retry-after", 1)))
        except ValueError:
            return 1.0


class Image:
    def __init__(self, path, dx=None, age=None, sex=None, site=None):
        self.path, self.dx, self.age, self.sex, self.site = Path(path), dx, age, sex, site

    def fields(self, gradcam):
        fields = {"gradcam": "true" if gradcam else "false"}
        for name in ("age", "sex", "site"):
            if getattr(self, name):
                fields[name] = str(getattr(self, name))
        return fields


def multipart(image, gradcam=True):
    """A multipart/form-data body: the photo as `image` plus age/sex/site/gradcam fields."""
    boundary = f"----dermai-proof-{uuid.uuid4().hex}"
    parts = []
    for name, value in image.fields(gradcam).items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    suffix = image.path.suffix.lower()
    mime = "image/png" if suffix == ".png" else "image/jpeg"
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="{image.path.name}"\r\n'
                 f"Content-Type: {mime}\r\n\r\n".encode() + image.path.read_bytes() + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def load_images(folder):
    """Images of a folder: HAM10000 style (images/ + labels.csv, with age/sex/site sent along) or plain files."""
    folder = Path(folder)
    if (folder / "images").is_dir() and (folder / "labels.csv").is_file():
        from Dermal.inference.datasets import load_labelled

        items = [Image(item.path, item.dx, item.age, item.sex, item.site) for item in load_labelled(folder)]
    else:
        directory = folder / "images" if (folder / "images").is_dir() else folder
        items = [Image(p) for p in sorted(directory.iterdir()) if p.suffix.lower() in IMAGE_SUFFIXES] \
            if directory.is_dir() else []
    if not items:
        raise ProofError(f"no images found in {folder} (expected *.jpg/*.png, or images/ with labels.csv)")
    return items


def spread(items, count):
    """`count` items spread evenly over the list (so every class of a sorted label file is visited)."""
    if count <= 0:
        return []
    return [items[(i * len(items)) // count % len(items)] for i in range(count)] if count <= len(items) \
        else [items[i % len(items)] for i in range(count)]


# --- figures, thresholds, verdict ------------------------------------------------------------------------------

def percentile(values, fraction):
    """Nearest-rank percentile (p95 of 20 values is the 19th smallest)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * fraction // 1))  # ceil
    return ordered[int(rank) - 1]


def checks_for(figures, limits):
    """The threshold checks: a list of {name, value, limit, unit, passed}. A missing figure fails."""

    def check(name, value, limit, unit, below=True):
        passed = value is not None and (value < limit if below else value == limit)
        return {"name": name, "value": value, "limit": limit, "unit": unit, "passed": bool(passed)}

    return [
        check("start-up memory (Django imported, model not loaded)", figures.get("startup_rss_mb"),
              limits["startup_mb"], "MB"),
        check("model loaded, over start-up", figures.get("model_delta_mb"), limits["model_mb"], "MB"),
        check("peak memory (whole run, Grad-CAM on)", figures.get("peak_mb"), limits["peak_mb"], "MB"),
        check("peak memory within the budget", figures.get("peak_mb"), limits["budget_mb"], "MB"),
        check("warm prediction p95", figures.get("warm_p95_s"), limits["warm_s"], "s"),
        check("first request (cold) within the Gunicorn timeout", figures.get("first_request_s"),
              limits["first_s"], "s"),
        check("server errors (5xx other than the slot 503)", figures.get("server_errors"), 0, "", below=False),
        check("uploads that never got a 200", figures.get("failed_uploads"), 0, "", below=False),
        check("model loaded at start-up (/memory/ model_loaded)", figures.get("model_loaded_at_startup"),
              False, "", below=False),
    ]


def decide(checks, peak_mb, budget_mb):
    """The decision matrix: do not deploy on any failure; deploy with >= 20% headroom; else deploy and watch."""
    if not checks or not all(c["passed"] for c in checks) or peak_mb is None:
        return "do not deploy"
    headroom = round(budget_mb - peak_mb, 6)
    return "deploy" if headroom >= round(HEADROOM_FRACTION * budget_mb, 6) else "deploy and watch"


def exit_code(verdict):
    return 0 if verdict in ("deploy", "deploy and watch") else 1


def _fmt(value, unit):
    if isinstance(value, bool) or value is None:
        return str(value).lower() if value is not None else "n/a"
    if isinstance(value, float):
        return f"{value:.2f} {unit}".strip() if unit == "s" else f"{value:.1f} {unit}".strip()
    return f"{value} {unit}".strip()


def markdown(report):
    """The same figures as a Markdown table (for the README)."""
    meta, f = report["meta"], report["figures"]
    lines = [f"Measured {meta['date']} on {meta['machine']}; engine {meta.get('engine')} ({meta.get('precision')}), "
             f"{f.get('uploads')} uploads + a burst of {f.get('burst')}, Grad-CAM on, "
             f"budget {report['limits']['budget_mb']:.0f} MB.", "",
             "| check | measured | threshold | result |", "|---|---|---|---|"]
    for c in report["checks"]:
        limit = c["limit"]
        shown = f"{limit:g} {c['unit']}" if isinstance(limit, float) else _fmt(limit, c["unit"])
        lines.append(f"| {c['name']} | {_fmt(c['value'], c['unit'])} | {'<' if c['unit'] else '='} {shown} | "
                     f"{'PASS' if c['passed'] else 'FAIL'} |")
    lines += ["", "| also measured | value |", "|---|---|"]
    lines += [f"| {name} | {value} |" for name, value in _info(report)]
    lines += ["", f"**Verdict: {report['verdict']}**"]
    return "\n".join(lines) + "\n"


def _per_process(rows):
    return ", ".join(f"{r['role']} {r['rss_mb']:.1f} MB" for r in rows) if rows else "n/a"


def _info(report):
    """The figures without a threshold, as (name, value) pairs."""
    f = report["figures"]
    return [
        ("start-up PSS / VmHWM sum", f"{_fmt(f.get('startup_pss_mb'), 'MB')} / {_fmt(f.get('startup_hwm_mb'), 'MB')}"),
        ("after 1st prediction RSS / PSS",
         f"{_fmt(f.get('loaded_rss_mb'), 'MB')} / {_fmt(f.get('loaded_pss_mb'), 'MB')}"),
        (f"peak during {f.get('uploads')} uploads RSS / PSS / VmHWM sum",
         f"{_fmt(f.get('uploads_peak_rss_mb'), 'MB')} / {_fmt(f.get('uploads_peak_pss_mb'), 'MB')} / "
         f"{_fmt(f.get('uploads_peak_hwm_mb'), 'MB')}"),
        (f"peak during burst of {f.get('burst')} RSS / PSS / VmHWM sum",
         f"{_fmt(f.get('burst_peak_rss_mb'), 'MB')} / {_fmt(f.get('burst_peak_pss_mb'), 'MB')} / "
         f"{_fmt(f.get('burst_peak_hwm_mb'), 'MB')}"),
        ("first request (model load + 1st analysis)", _fmt(f.get("first_request_s"), "s")),
        ("warm median / p95", f"{_fmt(f.get('warm_median_s'), 's')} / {_fmt(f.get('warm_p95_s'), 's')}"),
        ("burst: slot 503s retried / burst wall time",
         f"{f.get('slot_503s')} / {_fmt(f.get('burst_seconds'), 's')}"),
        ("headroom under the budget", f"{_fmt(f.get('headroom_mb'), 'MB')} ({_fmt(f.get('headroom_pct'), '%')})"),
        ("top class agrees with the label", f"{f.get('label_agreement')}"),
        ("home page (GET /, production settings)", f"{f.get('home_status')}"),
        ("per process at start-up, RSS", _per_process(report.get("processes_at_startup"))),
        ("per process at the end, RSS", _per_process(report.get("processes_at_end"))),
        ("server ready (spawn to /health/ 200)", _fmt(f.get("startup_seconds"), "s")),
    ]


def table(report):
    """The human-readable table: each figure against its threshold, then the figures without one, the verdict."""
    rows = [("check", "measured", "threshold", "result")]
    for c in report["checks"]:
        limit = c["limit"]
        shown = f"{limit:g} {c['unit']}" if isinstance(limit, float) else _fmt(limit, c["unit"])
        threshold = f"< {shown}" if c["unit"] else f"= {shown}"
        rows.append((c["name"], _fmt(c["value"], c["unit"]), threshold, "PASS" if c["passed"] else "FAIL"))
    info = _info(report)
    widths = [max(len(str(r[i])) for r in rows + [(a, b, "", "") for a, b in info]) for i in range(2)]
    widths += [max(len(r[2]) for r in rows), 6]
    lines = []
    for i, row in enumerate(rows):
        lines.append("  ".join(str(cell).ljust(widths[j]) for j, cell in enumerate(row)).rstrip())
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    lines.append("")
    for name, value in info:
        lines.append(f"{name.ljust(widths[0])}  {value}")
    meta = report["meta"]
    lines.insert(0, f"DermAI pre-deploy proof, {meta['date']}, {meta['machine']}, engine {meta.get('engine')} "
                    f"({meta.get('precision')}), budget {report['limits']['budget_mb']:.0f} MB")
    lines.insert(1, f"start command: {meta['start_command']}")
    lines.insert(2, "")
    lines.append("")
    lines.append(f"VERDICT: {report['verdict'].upper()}")
    return "\n".join(lines)


# --- the run ---------------------------------------------------------------------------------------------------

def server_env(args, db_dir, port):
    env = {k: v for k, v in os.environ.items() if k not in NOT_INHERITED}
    env.update(render_env())
    env.pop("PYTHON_VERSION", None)
    env.update({
        "PORT": str(port),
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATABASE_URL": args.database_url or f"sqlite:///{db_dir / 'proof.sqlite3'}",
        "DERMAL_ENGINE": args.engine,
        "MEMORY_BUDGET_MB": str(args.budget),
        "PYTHONUNBUFFERED": "1",
    })
    return interpreter_path_env(env)


def run_step(argv, env, label, timeout=300):
    try:
        done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise ProofError(f"{label} took longer than {timeout} s") from exc
    if done.returncode != 0:
        raise ProofError(f"{label} failed ({done.returncode}):\n{(done.stdout + done.stderr)[-3000:]}")


class Server:
    """The real Gunicorn, in its own process group, always killed (the group) on exit."""

    def __init__(self, argv, env, log_path):
        self.argv, self.env, self.log_path = argv, env, log_path
        self.process = None

    def __enter__(self):
        executable = shutil.which(self.argv[0], path=self.env["PATH"])
        if not executable:
            raise ProofError(f"{self.argv[0]} is not installed beside {sys.executable} nor on PATH")
        self.log = open(self.log_path, "wb")
        self.process = subprocess.Popen([executable, *self.argv[1:]], cwd=ROOT, env=self.env, stdin=subprocess.DEVNULL,
                                        stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        return self

    def wait_healthy(self, client, timeout):
        deadline, last = time.monotonic() + timeout, "no answer"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ProofError(f"the server exited with {self.process.returncode} while starting:\n{self.log_tail()}")
            try:
                response = client.get("/health/", timeout=5)
                if response.status == 200:
                    return time.monotonic()
                last = f"{response.status} {response.body[:200]!r}"
            except OSError as exc:
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


class Tally:
    """Every HTTP answer to the uploads: statuses, slot 503s, other server errors."""

    def __init__(self):
        self.lock = threading.Lock()
        self.statuses, self.slot_503s, self.server_errors, self.failed = {}, 0, [], []

    def record(self, response, label):
        with self.lock:
            self.statuses[response.status] = self.statuses.get(response.status, 0) + 1
            if response.slot_busy:
                self.slot_503s += 1
            elif response.status >= 500:
                self.server_errors.append(f"{label}: {response.status} {response.body[:300]!r}")


def upload_until_done(client, image, tally, label, deadline, max_attempts=60):
    """POST until a non-slot answer (a slot 503 is retried after Retry-After, capped); bounded in time/tries."""
    started = time.perf_counter()
    for _ in range(max_attempts):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        try:
            response = client.upload(image, timeout=min(client.timeout, remaining))
        except OSError as exc:
            with tally.lock:
                tally.failed.append(f"{label}: {exc!r}")
            return None, time.perf_counter() - started
        tally.record(response, label)
        if not response.slot_busy:
            if response.status != 200:
                with tally.lock:
                    tally.failed.append(f"{label}: {response.status} {response.body[:300]!r}")
                return None, time.perf_counter() - started
            return response, time.perf_counter() - started
        time.sleep(min(response.retry_after(), SLOT_RETRY_CAP_S) + random.uniform(0, 0.2))
    with tally.lock:
        tally.failed.append(f"{label}: still busy (slot 503) after its retries")
    return None, time.perf_counter() - started


def check_prediction(response, image, expect_overlay):
    """A 200 that is a real prediction: probabilities summing to 1 and, with Grad-CAM, an overlay."""
    data = response.json()
    if not isinstance(data, dict):
        return "the answer is not JSON"
    probabilities = data.get("probabilities")
    if not isinstance(probabilities, dict) or abs(sum(probabilities.values()) - 1) > 1e-3:
        return f"no probabilities summing to 1: {str(data)[:200]}"
    if expect_overlay and not any("overlay" in key and value for key, value in data.items()):
        return "Grad-CAM was asked for but the answer has no overlay"
    return None


def top_class(response):
    data = response.json()
    return data.get("top_class") if isinstance(data, dict) else None


def run_proof(args):
    images = load_images(args.images)
    command = start_command()
    port = args.port or free_port()
    argv = local_argv(command, port)
    gunicorn = gunicorn_settings(argv)
    limits = {"startup_mb": args.startup_limit, "model_mb": args.model_limit, "peak_mb": args.peak_limit,
              "budget_mb": float(args.budget), "warm_s": args.warm_limit,
              "first_s": float(gunicorn.get("timeout", 30))}
    report = {
        "meta": {
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
                       f"{psutil.virtual_memory().total / 2**30:.0f} GiB, Python {platform.python_version()}",
            "start_command": command,
            "local_argv": argv,
            "gunicorn": {k: gunicorn.get(k) for k in ("workers", "worker_class", "threads", "timeout",
                                                      "max_requests", "max_requests_jitter")},
            "engine": args.engine,
            "images": str(args.images),
            "uploads": args.uploads,
            "burst": args.burst,
        },
        "limits": limits,
        "figures": {"uploads": args.uploads, "burst": args.burst},
        "errors": [],
    }
    figures = report["figures"]
    with tempfile.TemporaryDirectory(prefix="dermai-proof-") as tmp:
        tmp = Path(tmp)
        env = server_env(args, tmp, port)
        token = env.get("DERMAI_API_TOKEN", "").strip() or None
        run_step([sys.executable, "manage.py", "migrate", "--no-input"], env, "manage.py migrate")
        if not args.skip_collectstatic:
            run_step([sys.executable, "manage.py", "collectstatic", "--no-input"], env, "manage.py collectstatic")
        client = Client(port, token=token, timeout=args.request_timeout)
        log_path = Path(args.server_log) if args.server_log else tmp / "gunicorn.log"
        with Server(argv, env, log_path) as server:
            spawned = time.monotonic()
            sampler, tally = ServiceSampler(server.process.pid, hz=args.hz), Tally()
            sampler.start()
            try:
                healthy = server.wait_healthy(client, args.start_timeout)
                figures["startup_seconds"] = round(healthy - spawned, 2)
                time.sleep(1.0)  # let the worker settle after its first answers
                startup = sampler.sample_now()
                memory_endpoint = client.get("/memory/", timeout=10)
                status = memory_endpoint.json() or {}
                figures["model_loaded_at_startup"] = status.get("model_loaded") if memory_endpoint.status == 200 \
                    else None
                if memory_endpoint.status != 200:
                    report["errors"].append(f"/memory/ answered {memory_endpoint.status}")
                report["processes_at_startup"] = process_breakdown(server.process.pid)
                figures.update(startup_rss_mb=startup["rss_mb"], startup_pss_mb=startup["pss_mb"],
                               startup_hwm_mb=startup["hwm_sum_mb"])

                # The first prediction: loads the model.
                sampler.phase = "first"
                first_image = images[0]
                response, seconds = upload_until_done(client, first_image, tally, "first upload",
                                                      time.monotonic() + limits["first_s"] + 30)
                figures["first_request_s"] = round(seconds, 3) if response else None
                if response and (problem := check_prediction(response, first_image, True)):
                    report["errors"].append(f"first upload: {problem}")
                if response:  # what actually answered (the prediction says its engine and precision)
                    answer = response.json() or {}
                    report["meta"].update(engine=answer.get("engine"), precision=answer.get("precision"))
                time.sleep(0.5)
                loaded = sampler.sample_now()
                figures.update(loaded_rss_mb=loaded["rss_mb"], loaded_pss_mb=loaded["pss_mb"],
                               model_delta_mb=round(loaded["rss_mb"] - startup["rss_mb"], 1))

                # N sequential uploads with Grad-CAM: peak memory, warm latency.
                sampler.phase = "uploads"
                warm, agree, labelled = [], 0, 0
                deadline = time.monotonic() + args.phase_timeout
                for n, image in enumerate(spread(images, args.uploads)):
                    response, seconds = upload_until_done(client, image, tally, f"upload {n + 1}", deadline)
                    if response is None:
                        continue
                    warm.append(seconds)
                    if problem := check_prediction(response, image, True):
                        report["errors"].append(f"upload {n + 1} ({image.path.name}): {problem}")
                    if image.dx:
                        labelled += 1
                        agree += top_class(response) == image.dx
                figures.update(
                    warm_median_s=round(statistics.median(warm), 3) if warm else None,
                    warm_p95_s=round(percentile(warm, 0.95), 3) if warm else None,
                    warm_max_s=round(max(warm), 3) if warm else None,
                    label_agreement=f"{agree}/{labelled}" if labelled else "n/a (unlabelled images)")
                sampler.sample_now()
                for key in ("rss_mb", "pss_mb", "hwm_sum_mb"):
                    figures[f"uploads_peak_{key.replace('_sum', '')}"] = sampler.peak(key, ["uploads"])

                # A burst of concurrent uploads: the slot limiter answers 503 + Retry-After, retried.
                sampler.phase = "burst"
                before = tally.slot_503s
                barrier = threading.Barrier(max(1, args.burst))
                deadline = time.monotonic() + args.phase_timeout

                def burst_one(i):
                    try:
                        barrier.wait(timeout=10)
                    except threading.BrokenBarrierError:
                        pass
                    image = images[(i * 7 + 3) % len(images)]
                    response, _ = upload_until_done(client, image, tally, f"burst {i + 1}", deadline)
                    if response is not None and (problem := check_prediction(response, image, True)):
                        report["errors"].append(f"burst {i + 1}: {problem}")

                started = time.perf_counter()
                threads = [threading.Thread(target=burst_one, args=(i,), daemon=True) for i in range(args.burst)]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join(timeout=max(1.0, deadline - time.monotonic() + 5))
                figures["burst_seconds"] = round(time.perf_counter() - started, 2)
                if any(thread.is_alive() for thread in threads):
                    tally.failed.append("the burst did not finish in time")
                sampler.sample_now()
                for key in ("rss_mb", "pss_mb", "hwm_sum_mb"):
                    figures[f"burst_peak_{key.replace('_sum', '')}"] = sampler.peak(key, ["burst"])
                figures["slot_503s"] = tally.slot_503s
                figures["burst_slot_503s"] = tally.slot_503s - before

                # Smoke: the home page renders with production settings and collected static files.
                home = client.get("/", timeout=30)
                figures["home_status"] = home.status
                if home.status != 200:
                    report["errors"].append(f"GET / answered {home.status} with production settings")

                report["processes_at_end"] = process_breakdown(server.process.pid)
                end = client.get("/memory/", timeout=10).json() or {}
                report["meta"]["engine"] = report["meta"].get("engine") or end.get("engine") or args.engine
                report["meta"]["precision"] = report["meta"].get("precision") or end.get("precision")
                report["memory_endpoint"] = end
            finally:
                sampler.stop()
            if sampler.error:
                report["errors"].append(f"memory sampler: {sampler.error}")
            figures.update(
                samples=sampler.samples,
                sampled_peak_rss_mb=sampler.peak("rss_mb"), sampled_peak_pss_mb=sampler.peak("pss_mb"),
                peak_hwm_sum_mb=sampler.peak("hwm_sum_mb"),
                statuses={str(k): v for k, v in sorted(tally.statuses.items())},
                server_errors=len(tally.server_errors), failed_uploads=len(tally.failed))
            figures["peak_mb"] = max(filter(None, (figures["sampled_peak_rss_mb"], figures["peak_hwm_sum_mb"])),
                                     default=None)
            report["errors"] += tally.server_errors + tally.failed
            if tally.server_errors or tally.failed or report["errors"]:
                report["server_log_tail"] = server.log_tail()
    return report


def finish(report, limits):
    figures = report["figures"]
    peak = figures.get("peak_mb")
    if peak is not None:
        figures["headroom_mb"] = round(limits["budget_mb"] - peak, 1)
        figures["headroom_pct"] = round(100 * (limits["budget_mb"] - peak) / limits["budget_mb"], 1)
    report["checks"] = checks_for(figures, limits)
    if report["errors"]:  # a wrong answer (no probabilities, no overlay, a 500 on /) is a failure too
        report["checks"].append({"name": "answers as expected (see the problems listed)",
                                 "value": len(report["errors"]),
                                 "limit": 0, "unit": "", "passed": False})
    report["verdict"] = decide(report["checks"], peak, limits["budget_mb"])
    return report


def parser():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--engine", choices=("litert", "keras"), default="litert",
                   help="DERMAL_ENGINE for the server: litert (the int8 bundle, default) or keras (TensorFlow)")
    p.add_argument("--images", type=Path, default=DEFAULT_IMAGES,
                   help=f"folder of real photos (default {DEFAULT_IMAGES})")
    p.add_argument("--budget", type=float, default=512, help="the container's memory in MB (default 512)")
    p.add_argument("--startup-limit", type=float, default=100, help="start-up memory limit, MB (default 100)")
    p.add_argument("--model-limit", type=float, default=150,
                   help="memory the loaded model may add over start-up, MB (default 150)")
    p.add_argument("--peak-limit", type=float, default=450, help="peak memory limit, MB (default 450)")
    p.add_argument("--warm-limit", type=float, default=10, help="warm prediction p95 limit, s (default 10)")
    p.add_argument("--uploads", type=int, default=20, help="sequential uploads with Grad-CAM (default 20)")
    p.add_argument("--burst", type=int, default=4, help="concurrent uploads in the burst (default 4)")
    p.add_argument("--json", type=Path, help="write the figures, checks and verdict to this JSON file")
    p.add_argument("--markdown", type=Path, help="write the table as Markdown to this file (for the README)")
    p.add_argument("--database-url", help="DATABASE_URL to use (default: a throw-away SQLite file)")
    p.add_argument("--port", type=int, help="port on 127.0.0.1 (default: a free one)")
    p.add_argument("--hz", type=float, default=20, help="memory sampling rate (default 20)")
    p.add_argument("--start-timeout", type=float, default=90, help="seconds for /health/ to answer 200")
    p.add_argument("--request-timeout", type=float, default=120, help="seconds per HTTP request")
    p.add_argument("--phase-timeout", type=float, default=600, help="seconds for the uploads, and for the burst")
    p.add_argument("--skip-collectstatic", action="store_true", help="reuse staticfiles/ as it is")
    p.add_argument("--server-log", help="keep Gunicorn's output in this file")
    return p


def main(argv=None):
    args = parser().parse_args(argv)
    if args.uploads < 1 or args.burst < 1:
        parser().error("--uploads and --burst must be at least 1")
    limits = {"budget_mb": float(args.budget)}
    # A SIGTERM (a CI timeout) becomes SystemExit so that the server's process group is still killed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        report = run_proof(args)
        limits = report["limits"]
        finish(report, limits)
        print(table(report))
        code = exit_code(report["verdict"])
    except ProofError as exc:
        report = {"verdict": "do not deploy", "error": str(exc), "checks": [], "figures": {},
                  "meta": {"engine": args.engine}, "limits": limits}
        print(f"test_before_deploy: the proof could not run: {exc}", file=sys.stderr)
        print("VERDICT: DO NOT DEPLOY")
        code = 2
    if report.get("errors"):
        print("\nproblems:", *report["errors"][:20], sep="\n  ", file=sys.stderr)
        if report.get("server_log_tail"):
            print("\nserver log (tail):\n" + report["server_log_tail"], file=sys.stderr)
    if args.markdown and report.get("checks"):
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(markdown(report))
    if args.json:
        report["exit_code"] = code
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2, default=str) + "\n")
    return code


if __name__ == "__main__":
    sys.exit(main())
