#!/usr/bin/env python
"""Soak: N real uploads with Grad-CAM against render.yaml's service; memory drift per worker generation.

Starts the real Gunicorn line on 127.0.0.1 (production settings, throw-away SQLite), sends --requests uploads
of real photos from --clients threads (default 2, the worker's thread count, so that a request is queued or
in flight whenever the worker recycles), and samples the summed RSS of master + workers.

Drift is measured per worker generation (Gunicorn's --max-requests replaces the worker, so the PID changes):
the median summed RSS over the --window uploads after the first --warmup uploads of a generation, against the
median over its last --window uploads. A generation shorter than warmup + 2 windows has no drift figure.

Passes when: no 5xx (a slot 503 is retried and counted, it is not an error), every upload answered 200 with
a real prediction, no connection error, no worker killed (the log is read), and every drift < --drift-limit.

  python endurance/soak.py --requests 1000                                    # before a release (~5 min)
  python endurance/soak.py --requests 100 --max-requests 50 --max-requests-jitter 0 --warmup 16 --window 16
                                                    # the suite's smoke run: crosses a recycle
--max-requests/--max-requests-jitter override those options of render.yaml's line (nothing else changes).
Exit status: 0 pass, 1 fail.
"""
import sys
import threading
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: the project, not endurance/, must lead the path
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from endurance.service import (SeriesSampler, command_parser, generations, run_clients,  # noqa: E402
                               run_command, verdict_lines)
from harness.client import Tally, check_prediction, upload_until_done  # noqa: E402
from harness.photos import load_images, spread  # noqa: E402
from harness.service import running_service  # noqa: E402


def parser():
    p = command_parser(__doc__, hz=10)
    p.add_argument("--requests", type=int, default=1000, help="uploads to send (default 1000)")
    p.add_argument("--clients", type=int, default=2, help="concurrent clients (default 2)")
    p.add_argument("--warmup", type=int, default=50, help="uploads of a generation before its baseline (50)")
    p.add_argument("--window", type=int, default=50, help="uploads in the baseline and end windows (50)")
    p.add_argument("--drift-limit", type=float, default=5.0, help="largest acceptable drift, MB (default 5)")
    p.add_argument("--max-requests", type=int, help="override render.yaml's --max-requests")
    p.add_argument("--max-requests-jitter", type=int, help="override render.yaml's --max-requests-jitter")
    p.add_argument("--time-limit", type=float, default=1800, help="seconds for all uploads (default 1800)")
    return p


def gunicorn_overrides(args):
    overrides = {"--max-requests": args.max_requests, "--max-requests-jitter": args.max_requests_jitter}
    return {option: value for option, value in overrides.items() if value is not None}


def send_uploads(service, sampler, images, args):
    """Every upload until answered (slot 503s retried); returns the Tally and the wrong answers."""
    tally, wrong, lock = Tally(), [], threading.Lock()
    queue = iter(enumerate(spread(images, args.requests)))

    def client(_, deadline):
        while time.monotonic() < deadline:
            with lock:
                n, image = next(queue, (None, None))
            if image is None:
                return
            response, _ = upload_until_done(service.client, image, tally, f"upload {n + 1}", deadline)
            if response is not None and (problem := check_prediction(response, image, True)):
                wrong.append(f"upload {n + 1}: {problem}")
            with lock:
                sampler.uploads_done += 1

    if not run_clients(args.clients, args.time_limit, client):
        wrong.append("the uploads did not finish within --time-limit")
    return tally, wrong


def soak(args):
    images = load_images(args.images)
    started = time.monotonic()
    with running_service(options=gunicorn_overrides(args)) as service:
        sampler = SeriesSampler(service, hz=args.hz)
        sampler.start()
        try:
            tally, wrong = send_uploads(service, sampler, images, args)
            time.sleep(1.0)  # a last reading of the settled service
        finally:
            sampler.stop()
        rows = generations(sampler.series, args.warmup, args.window)
        report = {
            "requests": args.requests, "clients": args.clients, "gunicorn": " ".join(service.argv[1:]),
            "seconds": round(time.monotonic() - started, 1),
            "answered_200": tally.statuses.get(200, 0),
            "statuses": {str(k): v for k, v in sorted(tally.statuses.items())},
            "slot_503s_retried": tally.slot_503s,
            "server_errors": tally.server_errors, "lost": tally.failed, "wrong_answers": wrong,
            "worker_deaths": service.worker_deaths(), "recycles": service.recycles(),
            "generations": rows,
            "peak_rss_mb": sampler.peak("rss_mb"), "peak_hwm_sum_mb": sampler.peak("hwm_sum_mb"),
            "samples": sampler.samples, "sampler_error": sampler.error,
            "drift_limit_mb": args.drift_limit, "window": args.window,
        }
    report["failures"] = failures(report)
    return report


def failures(report):
    """Why the soak fails ([] when it passes)."""
    found = [*report["server_errors"], *report["lost"], *report["wrong_answers"], *report["worker_deaths"]]
    drifts = [row["drift_mb"] for row in report["generations"] if "drift_mb" in row]
    if not drifts:
        found.append("no worker generation was long enough to measure its drift (raise --requests)")
    found += [f"worker {row['worker_pid']}: drift {row['drift_mb']} MB >= {report['drift_limit_mb']} MB"
              for row in report["generations"] if row.get("drift_mb", 0) >= report["drift_limit_mb"]]
    return found


def summary(report):
    lines = [f"DermAI soak: {report['requests']} uploads with Grad-CAM from {report['clients']} clients in "
             f"{report['seconds']} s",
             f"gunicorn {report['gunicorn']}",
             f"answers: {report['statuses']} (slot 503s retried: {report['slot_503s_retried']}); "
             f"5xx: {len(report['server_errors'])}; lost or not 200: {len(report['lost'])}; "
             f"worker recycles: {report['recycles']}; workers killed: {len(report['worker_deaths'])}",
             f"peak summed RSS {report['peak_rss_mb']} MB (VmHWM sum {report['peak_hwm_sum_mb']} MB)",
             "worker generation        uploads  after warm-up  at the end  drift  peak"]
    for row in report["generations"]:
        drift = (f"{row['baseline_rss_mb']:>10.1f} MB {row['end_rss_mb']:>8.1f} MB {row['drift_mb']:+6.1f} MB"
                 if "drift_mb" in row else f"{'(too short to measure)':>33}")
        lines.append(f"  pid {row['worker_pid']:<8} from #{row['first_upload']:<5} {row['uploads']:>7} "
                     f"{drift} {row['peak_rss_mb']:6.1f} MB")
        lines.append(f"    median RSS per {2 * report['window']} uploads: {' '.join(map(str, row['trend_mb']))}")
    lines += verdict_lines(report, "SOAK")
    return "\n".join(lines)


def main(argv=None):
    return run_command(parser().parse_args(argv), soak, summary)


if __name__ == "__main__":
    sys.exit(main())
