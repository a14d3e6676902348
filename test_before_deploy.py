#!/usr/bin/env python
"""The pre-deploy proof: run DermAI exactly as Render will, measure it, and say whether it fits.

What it does
  1. Reads the start command from render.yaml (never a copy of it) and runs that line locally: `$PORT` becomes a
     free port sampled on 127.0.0.1 and the 0.0.0.0 bind host becomes 127.0.0.1 (nothing else changes). The
     gunicorn found first is the one beside this interpreter (its bin dir leads PATH).
  2. Production settings: render.yaml's env values (DEBUG=false, ENABLE_GRADCAM, the *_NUM_THREADS, ...), a
     fresh random SECRET_KEY, ALLOWED_HOSTS=127.0.0.1,localhost, and a throw-away SQLite DATABASE_URL (or
     --database-url), migrated, and collectstatic run (into the run's own folder), as build.sh does. Requests carry
     `X-Forwarded-Proto: https`, as Render's TLS proxy adds, so the production SSL redirect stays on.
  3. Measures the whole service, the Gunicorn master plus its workers summed (RSS and PSS), sampled at ~20 Hz
     in a background thread, plus each process's VmHWM (kernel high-water mark, catches spikes between
     samples): after start-up (Django imported, model not loaded; /memory/ must say so), after the first
     prediction (model loaded; always the same 600x450 photo, so the figure is the model's on any clone and
     whatever --images holds; the photos' own cost is reported separately, as the peak over it), the peak during N real uploads over HTTP with Grad-CAM on (default 20), and the
     peak during a burst of concurrent uploads (default 4). Also the first-request time and the warm
     median/p95 latency of the sequential uploads.
  4. Prints each figure against its threshold and the decision matrix verdict, writes the figures as JSON
     (--json PATH), and exits non-zero unless the verdict is "deploy" or "deploy and watch".

At Render free's CPU (--cpus 0.1): the same proof with the Gunicorn master and its worker in a cgroup whose CPU
quota is 0.1 CPU (harness/cpu_cap.py; the build steps run uncapped, as Render builds elsewhere), and the figures as
users meet them: boot (start to /health/ 200), the first analysis (model load included) and the warm analysis
(median of the sequential uploads, flip averaging as render.yaml sets it). A capped run defaults to 3 uploads and
a burst of 2, and waits as long as Gunicorn's --timeout for the start and each request. Where the machine cannot
cap a process (no cgroup cpu controller, not root, a read-only cgroup file system) the proof says so and runs
uncapped, without those figures.

Peak memory is the larger of the sampled summed RSS and the summed VmHWM of the live processes: RSS counts the
pages master and worker share twice, so it errs on the safe side of what the container is charged (PSS is
printed beside it).

Thresholds (defaults, each a flag): start-up < 100 MB; the loaded model < 160 MB over start-up; peak < 450 MB
and < --budget (512 MB); warm prediction p95 < 10 s; the first (cold) request within Gunicorn's --timeout; no
5xx but the slot 503; every upload answered 200 with real probabilities and a Grad-CAM overlay; /memory/ says
the model is not loaded at start-up. Memory figures are the summed RSS.

Burst and the analysis queue: the service analyses DERMAI_MAX_CONCURRENT photos at once (default 1); a request
waits its turn unless its expected wait passes DERMAI_MAX_WAIT (default 90 s) or the queue is full, and is then
answered 503 with Retry-After.
That is the designed behaviour, not a server error: the proof counts those "slot 503s" separately and retries
each after its Retry-After (capped at 5 s, bounded in attempts and time) until every upload succeeds. Any other
5xx, any 503 without Retry-After, or an upload that never gets its 200 fails the proof. (The tests run it with
DERMAI_MAX_WAIT=0 so that the burst really meets the limiter.)

Decision matrix (the seeds' checklist)
  deploy            every threshold passes and the peak leaves >= 20% of the budget free
  deploy and watch  every threshold passes but the headroom under the budget is < 20%
  do not deploy     any threshold fails (or the proof could not run)
Exit status: 0 for deploy / deploy and watch, 1 for do not deploy, 2 when the proof could not run at all.

Examples
  python test_before_deploy.py                      # the proof with the int8 LiteRT engine and ../shared/derm_eval
                                                    # (the committed CC-0 photos of tests/data when it is absent)
  python test_before_deploy.py --json proof.json    # and keep the figures
  python test_before_deploy.py --engine keras       # the same proof with the original Keras model (TensorFlow)
  python test_before_deploy.py --cpus 0.1           # at Render free's CPU: boot, first and warm analysis
  python test_before_deploy.py --images DIR --budget 512
  python test_before_deploy.py --largest            # the largest photos it accepts (40 MP), on any clone
"""
import argparse
import contextlib
import json
import os
import platform
import signal
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

from harness import ProofError  # the harness: psutil, PyYAML, requests; no model, no Django
from harness.blueprint import gunicorn_settings, local_argv, start_command
from harness.client import Tally, check_prediction, top_class, upload_until_done
from harness.cpu_cap import unavailable
from harness.memory import ServiceSampler, process_breakdown, service_cpu_seconds
from harness.photos import DEFAULT_IMAGES, describe, load_images, model_photo, scaled_photos, spread
from harness.report import DEFAULT_LIMITS, exit_code, finish, markdown, percentile, table
from harness.service import running_service

MEMORY_KEYS = ("rss_mb", "pss_mb", "hwm_sum_mb")
# Flags whose default depends on the CPU cap: at 0.1 CPU one analysis takes ~5 s (LiteRT) to ~50 s (Keras).
UNCAPPED = {"uploads": 20, "burst": 4, "start_timeout": 90, "request_timeout": 120}
CAPPED = {"uploads": 3, "burst": 2}  # and the timeouts: Gunicorn's own --timeout


class Run:
    """One proof run against a started service: the memory sampler, the tally of answers, the report."""

    def __init__(self, args, service, images):
        self.args, self.service, self.client = args, service, service.client
        self.model_photo = model_photo()
        # every class of a sorted label file visited in order; the burst takes others
        self.sequential = spread(images, args.uploads)
        self.burst = [images[(i * 7 + 3) % len(images)] for i in range(args.burst)]
        self.sampler, self.tally = ServiceSampler(service.master_pid, hz=args.hz), Tally()
        self.report = new_report(args, service, self.model_photo)
        self.report["meta"]["photos"] = describe(list({i.path: i for i in self.sequential + self.burst}.values()))
        self.figures, self.errors, self.limits = self.report["figures"], self.report["errors"], self.report["limits"]

    def phase_peaks(self, prefix):
        """The peaks of the phase just ended, after one last reading."""
        self.sampler.sample_now()
        for key in MEMORY_KEYS:
            self.figures[f"{prefix}_peak_{key.replace('_sum', '')}"] = self.sampler.peak(key, [prefix])

    def upload(self, image, label, deadline):
        """An upload until answered; a 200 that is not a real prediction is noted. Returns (response, s)."""
        response, seconds = upload_until_done(self.client, image, self.tally, label, deadline)
        if response is not None and (problem := check_prediction(response, image, True)):
            self.errors.append(f"{label} ({image.path.name}): {problem}")
        return response, seconds


def new_report(args, service, run_photo):
    limits = {"startup_mb": args.startup_limit, "model_mb": args.model_limit, "peak_mb": args.peak_limit,
              "budget_mb": float(args.budget), "warm_s": args.warm_limit,
              "first_s": float(service.gunicorn.get("timeout", 30))}
    meta = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
                   f"{psutil.virtual_memory().total / 2**30:.0f} GiB, Python {platform.python_version()}",
        "start_command": start_command(),
        "local_argv": service.argv,
        "gunicorn": {k: service.gunicorn.get(k) for k in ("workers", "worker_class", "threads", "timeout",
                                                          "max_requests", "max_requests_jitter")},
        "engine": args.engine, "images": str(args.images), "uploads": args.uploads, "burst": args.burst,
        "cpus": args.cpus,
        "model_photo": {"path": str(run_photo.path), "px": list(run_photo.size())},
    }
    return {"meta": meta, "limits": limits, "figures": {"uploads": args.uploads, "burst": args.burst,
                                                        "startup_seconds": service.ready_seconds}, "errors": []}


def measure_startup(run):
    """Memory once healthy (Django imported, model not loaded), and /memory/ must say the model is not loaded."""
    time.sleep(1.0)  # let the worker settle after its first answers
    startup = run.sampler.sample_now()
    answer = run.client.get("/memory/", timeout=10)
    run.figures["model_loaded_at_startup"] = (answer.json() or {}).get("model_loaded") if answer.status == 200 \
        else None
    if answer.status != 200:
        run.errors.append(f"/memory/ answered {answer.status}")
    run.report["processes_at_startup"] = process_breakdown(run.service.master_pid)
    run.figures.update(startup_rss_mb=startup["rss_mb"], startup_pss_mb=startup["pss_mb"],
                       startup_hwm_mb=startup["hwm_sum_mb"])
    return startup


def measure_first(run, startup):
    """The first prediction loads the model: its time, and memory over start-up. It analyses the same small
    photo on every run (harness.photos.model_photo), so that the figure is the model's, not the first upload's."""
    run.sampler.phase = "first"
    response, seconds = run.upload(run.model_photo, "first upload", time.monotonic() + run.limits["first_s"] + 30)
    run.figures["first_request_s"] = round(seconds, 3) if response else None
    if response:  # what actually answered (the prediction says its engine and precision)
        answer = response.json() or {}
        run.report["meta"].update(engine=answer.get("engine"), precision=answer.get("precision"))
    time.sleep(0.5)
    loaded = run.sampler.sample_now()
    run.figures.update(loaded_rss_mb=loaded["rss_mb"], loaded_pss_mb=loaded["pss_mb"],
                       model_delta_mb=round(loaded["rss_mb"] - startup["rss_mb"], 1))


def measure_uploads(run):
    """N sequential uploads with Grad-CAM: peak memory, warm latency, agreement with the labels."""
    run.sampler.phase = "uploads"
    warm, agree, labelled = [], 0, 0
    deadline = time.monotonic() + run.args.phase_timeout
    cpu_before = service_cpu_seconds(run.service.master_pid)
    for n, image in enumerate(run.sequential):
        response, seconds = run.upload(image, f"upload {n + 1}", deadline)
        if response is None:
            continue
        warm.append(seconds)
        if image.dx:
            labelled += 1
            agree += top_class(response) == image.dx
    cpu_seconds = service_cpu_seconds(run.service.master_pid) - cpu_before
    run.figures.update(
        cpu_per_analysis_ms=round(1000 * cpu_seconds / len(warm), 1) if warm else None,
        warm_median_s=round(statistics.median(warm), 3) if warm else None,
        warm_p95_s=round(percentile(warm, 0.95), 3) if warm else None,
        warm_max_s=round(max(warm), 3) if warm else None,
        label_agreement=f"{agree}/{labelled}" if labelled else "n/a (unlabelled images)")
    run.phase_peaks("uploads")


def measure_burst(run):
    """A burst of concurrent uploads: the slot limiter answers 503 + Retry-After, retried until analysed."""
    run.sampler.phase = "burst"
    before, count = run.tally.slot_503s, run.args.burst
    barrier = threading.Barrier(max(1, count))
    deadline = time.monotonic() + run.args.phase_timeout

    def burst_one(i):
        try:
            barrier.wait(timeout=10)
        except threading.BrokenBarrierError:
            pass
        run.upload(run.burst[i], f"burst {i + 1}", deadline)

    started = time.perf_counter()
    threads = [threading.Thread(target=burst_one, args=(i,), daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=max(1.0, deadline - time.monotonic() + 5))
    run.figures["burst_seconds"] = round(time.perf_counter() - started, 2)
    if any(thread.is_alive() for thread in threads):
        run.tally.fail("the burst did not finish in time")
    run.phase_peaks("burst")
    run.figures.update(slot_503s=run.tally.slot_503s, burst_slot_503s=run.tally.slot_503s - before)


def measure_end(run):
    """The home page renders with production settings and collected static files; the service at the end."""
    home = run.client.get("/", timeout=30)
    run.figures["home_status"] = home.status
    if home.status != 200:
        run.errors.append(f"GET / answered {home.status} with production settings")
    run.report["processes_at_end"] = process_breakdown(run.service.master_pid)
    end = run.client.get("/memory/", timeout=10).json() or {}
    meta = run.report["meta"]
    meta["engine"] = meta.get("engine") or end.get("engine") or run.args.engine
    meta["precision"] = meta.get("precision") or end.get("precision")
    run.report["memory_endpoint"] = end


def measure_capped(run):
    """The figures as users meet them at the capped CPU, and how often the quota held the service back."""
    cap, figures = run.service.cap, run.figures
    run.report["capped"] = {
        "cpus": cap.cpus, "cgroup": cap.describe(), "path": str(cap.path), "boot_s": figures["startup_seconds"],
        "first_analysis_s": figures.get("first_request_s"), "warm_median_s": figures.get("warm_median_s"),
        "warm_uploads": run.args.uploads, "flip_average": run.service.env.get("DERMAI_FLIP_AVERAGE"),
        **cap.throttling()}


def totals(run):
    """The whole run's peaks and answer counts, once the sampler has stopped."""
    sampler, tally, figures = run.sampler, run.tally, run.figures
    if sampler.error:
        run.errors.append(f"memory sampler: {sampler.error}")
    figures.update(
        samples=sampler.samples,
        sampled_peak_rss_mb=sampler.peak("rss_mb"), sampled_peak_pss_mb=sampler.peak("pss_mb"),
        peak_hwm_sum_mb=sampler.peak("hwm_sum_mb"),
        statuses={str(k): v for k, v in sorted(tally.statuses.items())},
        server_errors=len(tally.server_errors), failed_uploads=len(tally.failed))
    figures["peak_mb"] = max(filter(None, (figures["sampled_peak_rss_mb"], figures["peak_hwm_sum_mb"])),
                             default=None)
    if figures["peak_mb"] and figures.get("loaded_rss_mb"):  # what the photos uploaded added to the model's cost
        figures["photos_delta_mb"] = round(figures["peak_mb"] - figures["loaded_rss_mb"], 1)
    run.errors += tally.server_errors + tally.failed
    if run.errors:
        run.report["server_log_tail"] = run.service.server.log_tail()


@contextlib.contextmanager
def photos_to_upload(args):
    """--images, or with --largest the committed photos at the service's pixel limit (removed afterwards)."""
    if not args.largest:
        yield load_images(args.images)
        return
    from Dermal.inference.imaging import MAX_PIXELS  # the service's own limit (DERMAI_MAX_PIXELS)

    with tempfile.TemporaryDirectory(prefix="dermai-largest-") as folder:
        args.images = scaled_photos(folder, MAX_PIXELS)
        yield load_images(args.images)


def run_proof(args):
    service_options = dict(database_url=args.database_url, engine=args.engine, budget=float(args.budget),
                           port=args.port, log_path=args.server_log, collect_static=not args.skip_collectstatic,
                           bundle_snapshot=False, start_timeout=args.start_timeout,
                           request_timeout=args.request_timeout, cpus=args.cpus)
    with photos_to_upload(args) as images, running_service(**service_options) as service:
        run = Run(args, service, images)
        run.sampler.start()
        try:
            startup = measure_startup(run)
            measure_first(run, startup)
            measure_uploads(run)
            measure_burst(run)
            measure_end(run)
            if service.cap:
                measure_capped(run)
        finally:
            run.sampler.stop()
        totals(run)
    return run.report


def parser():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--engine", choices=("litert", "keras"), default="litert",
                   help="DERMAL_ENGINE for the server: litert (the int8 bundle, default) or keras (TensorFlow)")
    p.add_argument("--images", type=Path, default=DEFAULT_IMAGES,
                   help=f"folder of real photos (default {DEFAULT_IMAGES})")
    p.add_argument("--largest", action="store_true",
                   help="upload the largest photos the service accepts instead: the committed photos scaled up to "
                        "its pixel limit (40 MP by default)")
    p.add_argument("--budget", type=float, default=DEFAULT_LIMITS["budget_mb"],
                   help="the container's memory in MB (default %(default)s)")
    p.add_argument("--startup-limit", type=float, default=DEFAULT_LIMITS["startup_mb"],
                   help="start-up memory limit, MB (default %(default)s)")
    p.add_argument("--model-limit", type=float, default=DEFAULT_LIMITS["model_mb"],
                   help="memory the loaded model may add over start-up, MB (default %(default)s)")
    p.add_argument("--peak-limit", type=float, default=DEFAULT_LIMITS["peak_mb"],
                   help="peak memory limit, MB (default %(default)s)")
    p.add_argument("--warm-limit", type=float, default=DEFAULT_LIMITS["warm_s"],
                   help="warm prediction p95 limit, s (default %(default)s)")
    p.add_argument("--cpus", type=float,
                   help="run the service in a cgroup capped at this many CPUs (0.1 is Render free's) and report "
                        "boot, first and warm analysis there")
    p.add_argument("--uploads", type=int, help="sequential uploads with Grad-CAM (default 20; 3 with --cpus)")
    p.add_argument("--burst", type=int, help="concurrent uploads in the burst (default 4; 2 with --cpus)")
    p.add_argument("--json", type=Path, help="write the figures, checks and verdict to this JSON file")
    p.add_argument("--markdown", type=Path, help="write the table as Markdown to this file (for the README)")
    p.add_argument("--database-url", help="DATABASE_URL to use (default: a throw-away SQLite file)")
    p.add_argument("--port", type=int, help="port on 127.0.0.1 (default: a free one)")
    p.add_argument("--hz", type=float, default=20, help="memory sampling rate (default 20)")
    p.add_argument("--start-timeout", type=float,
                   help="seconds for /health/ to answer 200 (default 90; Gunicorn's --timeout with --cpus)")
    p.add_argument("--request-timeout", type=float,
                   help="seconds per HTTP request (default 120; Gunicorn's --timeout with --cpus)")
    p.add_argument("--phase-timeout", type=float, default=600, help="seconds for the uploads, and for the burst")
    p.add_argument("--skip-collectstatic", action="store_true", help="serve the repository's staticfiles/ as it is")
    p.add_argument("--server-log", help="keep Gunicorn's output in this file")
    return p


def with_defaults(args):
    """args with the defaults that depend on the CPU cap filled in; a cap this machine cannot make is dropped,
    said plainly, and kept as the reason its figures are missing."""
    reason = args.cpus and unavailable(args.cpus)
    args.cap_skipped = {"cpus": args.cpus, "skipped": reason} if reason else None
    if reason:
        print(f"test_before_deploy: cannot cap the CPU at {args.cpus:g} here ({reason}); the proof runs uncapped "
              "and the capped figures are skipped", file=sys.stderr)
        args.cpus = None
    defaults = dict(UNCAPPED)
    if args.cpus:
        timeout = float(gunicorn_settings(local_argv(start_command(), 0)).get("timeout", 30))
        defaults.update(CAPPED, start_timeout=timeout, request_timeout=timeout)
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    return args


def prove(args):
    """The run and its verdict, printed; (report, exit status): 2 when the proof could not run at all."""
    try:
        report = run_proof(args)
        if args.cap_skipped:
            report["capped"] = args.cap_skipped
        report = finish(report)
        print(table(report))
        return report, exit_code(report["verdict"])
    except ProofError as exc:
        print(f"test_before_deploy: the proof could not run: {exc}", file=sys.stderr)
        print("VERDICT: DO NOT DEPLOY")
        return {"verdict": "do not deploy", "error": str(exc), "checks": [], "figures": {},
                "meta": {"engine": args.engine}, "limits": {"budget_mb": float(args.budget)}}, 2


def keep(report, code, args):
    """The problems and the server log on stderr; the Markdown table and the JSON report if asked."""
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


def main(argv=None):
    args = parser().parse_args(argv)
    if args.cpus is not None and args.cpus <= 0:
        parser().error("--cpus must be above 0")
    args = with_defaults(args)
    if args.uploads < 1 or args.burst < 1:
        parser().error("--uploads and --burst must be at least 1")
    # A SIGTERM (a CI timeout) becomes SystemExit so that the server's process group is still killed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    report, code = prove(args)
    keep(report, code, args)
    return code


if __name__ == "__main__":
    sys.exit(main())
