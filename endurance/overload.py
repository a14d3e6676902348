#!/usr/bin/env python
"""Overload: --clients concurrent clients upload back to back for --seconds against render.yaml's service.

The default configuration (render.yaml's 1 worker and 64 threads, one analysis at once, the analysis queue's
defaults) must answer every request with 200 (a real prediction) or with the queue's 503 + Retry-After; no other status, no connection reset or
timeout, no worker killed (Gunicorn's log is read; recycling by --max-requests is counted apart), and the
summed RSS of master + workers (sampled at --hz, and the processes' VmHWM) stays under --budget throughout.
Clients do not wait out Retry-After: they upload again at once, the worst case for the service.
Afterwards the service must still be healthy and analyse a photo.

  python endurance/overload.py                      # 8 clients for 60 s (the CI run is the same)
  python endurance/overload.py --clients 16 --seconds 300
Exit status: 0 pass, 1 fail.
"""
import sys
import threading
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: the project, not endurance/, must lead the path
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from endurance.service import command_parser, run_clients, run_command, verdict_lines  # noqa: E402
from harness.client import Tally, check_prediction, upload_until_done  # noqa: E402
from harness.memory import ServiceSampler  # noqa: E402
from harness.photos import load_images  # noqa: E402
from harness.report import DEFAULT_LIMITS, percentile  # noqa: E402
from harness.service import running_service  # noqa: E402


def parser():
    p = command_parser(__doc__, hz=20)
    p.add_argument("--clients", type=int, default=8, help="concurrent clients (default 8)")
    p.add_argument("--seconds", type=float, default=60, help="how long the clients keep uploading (default 60)")
    p.add_argument("--budget", type=float, default=float(DEFAULT_LIMITS["budget_mb"]),
                   help="memory budget, MB (default %(default)g)")
    return p


class Counts:
    """Each answer sorted into 200 / slot 503 / other, plus the connection errors."""

    def __init__(self):
        self.lock = threading.Lock()
        self.ok = self.slot_503 = 0
        self.other, self.connection_errors, self.wrong, self.seconds = [], [], [], []

    def add(self, label, image, response=None, error=None):
        with self.lock:
            if response is not None:
                self.seconds.append(response.seconds)
            if error is not None:
                self.connection_errors.append(f"{label}: {error!r}")
            elif response.status == 200:
                self.ok += 1
                if problem := check_prediction(response, image, True):
                    self.wrong.append(f"{label}: {problem}")
            elif response.slot_busy:
                self.slot_503 += 1
            else:
                self.other.append(f"{label}: {response.status} {response.body[:200]!r}")


def hammer(service, images, clients, seconds):
    """Every client uploads back to back until the time is up; returns the Counts."""
    counts = Counts()

    def client(i, deadline):
        n = 0
        while time.monotonic() < deadline:
            n += 1
            image = images[(i * 7 + n) % len(images)]
            try:
                counts.add(f"client {i + 1} upload {n}", image, response=service.client.upload(image))
            except OSError as exc:  # a reset, refused or timed-out connection
                counts.add(f"client {i + 1} upload {n}", image, error=exc)

    finished = run_clients(clients, seconds, client)
    if not finished:
        counts.other.append("a client was still waiting for its answer long after the time was up")
    return counts


def still_serving(service, image):
    """After the storm: /health/ 200 and one more upload analysed."""
    problems = []
    if (health := service.client.get("/health/", timeout=30)).status != 200:
        problems.append(f"/health/ answered {health.status} after the overload: {health.body[:200]!r}")
    response, _ = upload_until_done(service.client, image, Tally(), "upload after the overload",
                                          time.monotonic() + 60)
    if response is None:
        problems.append("no upload succeeded after the overload")
    return problems


def overload(args):
    images = load_images(args.images)
    with running_service() as service:
        workers_before = service.worker_pids()
        sampler = ServiceSampler(service.master_pid, hz=args.hz)
        sampler.start()
        try:
            counts = hammer(service, images, args.clients, args.seconds)
            after = still_serving(service, images[0])
            sampler.sample_now()
        finally:
            sampler.stop()
        peak = max(filter(None, (sampler.peak("rss_mb"), sampler.peak("hwm_sum_mb"))), default=None)
        report = {
            "clients": args.clients, "seconds": args.seconds, "gunicorn": " ".join(service.argv[1:]),
            "ok_200": counts.ok, "slot_503": counts.slot_503, "other": counts.other,
            "connection_errors": counts.connection_errors, "wrong_answers": counts.wrong,
            "answer_p95_s": percentile(counts.seconds, 0.95), "answer_max_s": max(counts.seconds, default=None),
            "workers_before": workers_before, "workers_after": service.worker_pids(),
            "recycles": service.recycles(), "worker_deaths": service.worker_deaths(),
            "peak_rss_mb": sampler.peak("rss_mb"), "peak_pss_mb": sampler.peak("pss_mb"),
            "peak_hwm_sum_mb": sampler.peak("hwm_sum_mb"), "peak_mb": peak, "budget_mb": args.budget,
            "after": after, "samples": sampler.samples, "sampler_error": sampler.error,
        }
    report["failures"] = failures(report)
    return report


def failures(report):
    """Why the overload run fails ([] when it passes)."""
    found = [*report["other"], *report["connection_errors"], *report["wrong_answers"], *report["worker_deaths"],
             *report["after"]]
    if report["ok_200"] == 0:
        found.append("no upload was analysed")
    if not report["recycles"] and report["workers_after"] != report["workers_before"]:
        found.append(f"the worker changed without a recycle: {report['workers_before']} -> "
                     f"{report['workers_after']}")
    if report["peak_mb"] is None or report["peak_mb"] >= report["budget_mb"]:
        found.append(f"peak {report['peak_mb']} MB is not under the {report['budget_mb']:g} MB budget")
    return found


def summary(report):
    total = report["ok_200"] + report["slot_503"] + len(report["other"]) + len(report["connection_errors"])
    lines = [f"DermAI overload: {report['clients']} clients for {report['seconds']:g} s, {total} requests",
             f"gunicorn {report['gunicorn']}",
             f"200: {report['ok_200']}  slot 503 + Retry-After: {report['slot_503']}  other: "
             f"{len(report['other'])}  connection errors: {len(report['connection_errors'])}",
             f"answer time p95 {report['answer_p95_s'] or 0:.2f} s, max {report['answer_max_s'] or 0:.2f} s",
             f"workers {report['workers_before']} -> {report['workers_after']}, recycles {report['recycles']}, "
             f"killed {len(report['worker_deaths'])}",
             f"peak summed RSS {report['peak_rss_mb']} MB, PSS {report['peak_pss_mb']} MB, VmHWM sum "
             f"{report['peak_hwm_sum_mb']} MB (budget {report['budget_mb']:g} MB)"]
    lines += verdict_lines(report, "OVERLOAD")
    return "\n".join(lines)


def main(argv=None):
    return run_command(parser().parse_args(argv), overload, summary)


if __name__ == "__main__":
    sys.exit(main())
