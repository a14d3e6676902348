"""The real DermAI service for the endurance commands and tests, built on test_before_deploy.py's pieces.

render.yaml's Gunicorn line on 127.0.0.1 with production settings and a throw-away SQLite (or a given
DATABASE_URL), a memory sampler that also keeps a time series, and readings of the server log and workers.
"""
import argparse
import contextlib
import json
import re
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import test_before_deploy as proof

BUDGET_MB = 512.0
# What Gunicorn's master logs when a worker dies other than by its own recycling or a normal stop.
WORKER_DEATH = re.compile(r"WORKER TIMEOUT|was sent SIG(?!TERM)|exited with code|Perhaps out of memory|"
                          r"Worker failed to boot")
RECYCLE = "Autorestarting worker after current request."


def with_options(argv, options):
    """argv with each `--option value` of `options` replaced (or appended when the line lacks it)."""
    argv = list(argv)
    for option, value in options.items():
        if option in argv:
            argv[argv.index(option) + 1] = str(value)
        else:
            argv += [option, str(value)]
    return argv


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
    raise proof.ProofError(f"the serving bundle is inconsistent: {problem}")


class Service:
    """A running service: its Server (process group), an HTTP Client, and the log to read."""

    def __init__(self, server, client, argv, env):
        self.server, self.client, self.argv, self.env = server, client, argv, env

    @property
    def master_pid(self):
        return self.server.process.pid

    def worker_pids(self):
        return proof.service_pids(self.master_pid)[1:]

    def log(self):
        return self.server.log_tail(chars=10**9)

    def worker_deaths(self):
        """Log lines saying a worker was killed or crashed (recycling and a normal stop excluded)."""
        return [line for line in self.log().splitlines() if WORKER_DEATH.search(line)]

    def recycles(self):
        return self.log().count(RECYCLE)


@contextlib.contextmanager
def running_service(*, database_url=None, env=None, options=None, collect_static=False, start_timeout=90,
                    request_timeout=120):
    """render.yaml's service, answering /health/ 200, for the duration of the block; always stopped.

    `options` overrides Gunicorn options of the start line (e.g. {"--max-requests": 250}); `env` adds
    variables on top of production settings. The service reads a snapshot of the serving bundle unless `env`
    gives its own DERMAL_BUNDLE_DIR.
    """
    port = proof.free_port()
    argv = with_options(proof.local_argv(proof.start_command(), port), options or {})
    with tempfile.TemporaryDirectory(prefix="dermai-endurance-") as tmp:
        settings = SimpleNamespace(database_url=database_url, engine="litert", budget=BUDGET_MB)
        server_env = {**proof.server_env(settings, Path(tmp), port), **(env or {})}
        if not (env or {}).get("DERMAL_BUNDLE_DIR"):
            server_env["DERMAL_BUNDLE_DIR"] = str(snapshot_bundle(Path(tmp) / "bundle"))
        proof.run_step([sys.executable, "manage.py", "migrate", "--no-input"], server_env, "manage.py migrate")
        if collect_static:  # the production pages need the collected, hashed static files
            proof.run_step([sys.executable, "manage.py", "collectstatic", "--no-input"], server_env,
                           "manage.py collectstatic")
        client = proof.Client(port, timeout=request_timeout)
        with proof.Server(argv, server_env, Path(tmp) / "gunicorn.log") as server:
            server.wait_healthy(client, start_timeout)
            yield Service(server, client, argv, server_env)


class SeriesSampler(proof.ServiceSampler):
    """ServiceSampler that also keeps every reading as (uploads done, worker pids, summed RSS MB)."""

    def __init__(self, service, hz):
        super().__init__(service.master_pid, hz=hz)
        self.service = service
        self.uploads_done = 0  # set by the caller as answers arrive
        self.series = []

    def sample_now(self):
        workers = tuple(self.service.worker_pids())
        reading = super().sample_now()
        self.series.append((self.uploads_done, workers, reading["rss_mb"]))
        return reading


def generations(series, warmup, window):
    """Drift per worker generation: the median summed RSS over the `window` uploads after `warmup`, against
    the median over the generation's last `window` uploads. Readings taken while two workers coexist (a
    recycle in progress) or none runs are left out. A generation too short to have both windows has no drift.
    """
    by_worker = {}
    for done, workers, rss in series:
        if len(workers) == 1:
            by_worker.setdefault(workers[0], []).append((done, rss))
    rows = []
    for pid, readings in by_worker.items():
        first, last = readings[0][0], readings[-1][0]
        row = {"worker_pid": pid, "uploads": last - first, "first_upload": first,
               "peak_rss_mb": max(rss for _, rss in readings)}
        baseline = [rss for done, rss in readings if first + warmup <= done < first + warmup + window]
        end = [rss for done, rss in readings if done >= last - window]
        row["trend_mb"] = trend(readings, first, step=2 * window)
        if last - first >= warmup + 2 * window and baseline and end:
            row.update(baseline_rss_mb=round(statistics.median(baseline), 1),
                       end_rss_mb=round(statistics.median(end), 1))
            row["drift_mb"] = round(row["end_rss_mb"] - row["baseline_rss_mb"], 1)
        rows.append(row)
    return sorted(rows, key=lambda row: row["first_upload"])


def trend(readings, first, step):
    """The median summed RSS of each run of `step` uploads: a creep shows as a rising row, a plateau as flat."""
    buckets = {}
    for done, rss in readings:
        buckets.setdefault((done - first) // step, []).append(rss)
    return [round(statistics.median(values), 1) for _, values in sorted(buckets.items())]


def run_clients(count, seconds_limit, work):
    """Run `work(i, deadline)` in `count` threads until it returns or the deadline; True if all finished."""
    deadline = time.monotonic() + seconds_limit
    threads = [threading.Thread(target=work, args=(i, deadline), daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=max(1.0, deadline - time.monotonic() + 150))  # + one request's timeout
    return not any(thread.is_alive() for thread in threads)


def command_parser(description, hz):
    """The options every endurance command has (--images, --hz, --json); each adds its own."""
    p = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--images", type=Path, default=proof.DEFAULT_IMAGES, help="folder of real photos")
    p.add_argument("--hz", type=float, default=hz, help=f"memory sampling rate (default {hz:g})")
    p.add_argument("--json", type=Path, help="write the report to this JSON file")
    return p


def verdict_lines(report, name):
    """The closing lines of a command's summary: its first failures, then NAME: PASS or FAIL."""
    return [*(f"  FAIL: {problem}" for problem in report["failures"][:20]),
            f"{name}: " + ("FAIL" if report["failures"] else "PASS")]


def run_command(args, measure, summary):
    """Measure, print the summary, keep the report as JSON if asked; exit status 1 on any failure."""
    report = measure(args)
    print(summary(report))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 1 if report["failures"] else 0
