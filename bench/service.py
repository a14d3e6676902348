#!/usr/bin/env python
"""Whole-service view: the real Gunicorn service under 1, 2 and 4 concurrent clients, for the default
configuration (render.yaml's line, 1 worker) and for the largest number of workers that fits the memory budget.

    .venv/bin/python bench/service.py          # about 3-5 minutes on 2 cores; writes docs/BENCHMARKS.md's
                                               # service section and docs/service.json

The service is render.yaml's start line on a free 127.0.0.1 port with production settings (started by
harness.service, as the pre-deploy proof starts it); only `--workers` is overridden. Each client uploads
real photos with Grad-CAM on, retrying the concurrency limiter's 503 after its Retry-After, until the fixed
number of uploads is done. Memory: the summed RSS of master + workers, sampled at 20 Hz (harness.memory's
sampler), peak over the whole run, every worker having loaded the model first.

Max-workers rule: try N = 2, 3, ... workers (DERMAI_MAX_CONCURRENT=1 each); N fits when the peak summed RSS of
its run stays under the proof's peak limit (test_before_deploy.py --peak-limit, 450 MB of the 512 MB budget);
the answer is the last N that fits (the search stops at the first that does not).
"""
import argparse
import json
import os
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.report import header, number, shown, table, with_service_section  # noqa: E402
from harness.client import Tally, upload_until_done  # noqa: E402
from harness.memory import ServiceSampler, vm_hwm_mb  # noqa: E402
from harness.photos import DEFAULT_IMAGES, load_images, spread  # noqa: E402
from harness.report import DEFAULT_LIMITS, percentile  # noqa: E402
from harness.service import running_service  # noqa: E402

CLIENT_COUNTS = (1, 2, 4)
PEAK_LIMIT_MB = DEFAULT_LIMITS["peak_mb"]  # the pre-deploy proof's peak threshold
MAX_WORKERS_TRIED = 6  # bounds the search; 6 loaded workers cannot fit 512 MB anyway
LOADED_GROWTH_MB = 40  # a worker whose RSS grew this much since start-up has loaded the model
WARMUP_ROUNDS = 6      # rounds of one upload per worker, at most, to get every worker to load the model
SERVICE_ENV = {"DERMAI_MAX_CONCURRENT": "1"}  # the default, stated so the run does not depend on the shell's


def worker_rss_mb(service):
    """{worker pid: RSS MB} of the service's live workers."""
    rss = {}
    for pid in service.worker_pids():
        reading = vm_hwm_mb(pid)  # peak of the process: a worker that loaded once keeps the mark
        if reading is not None:
            rss[pid] = reading
    return rss


def load_model_everywhere(service, images, workers):
    """Uploads, `workers` at a time, until every worker's memory shows the loaded model; True if they all do."""
    before = worker_rss_mb(service)
    tally = Tally()
    for round_ in range(WARMUP_ROUNDS):
        run_uploads(service.client, images[round_ * workers:(round_ + 1) * workers] or images[:workers],
                    workers, tally)
        now = worker_rss_mb(service)
        if all(now.get(pid, 0) - start >= LOADED_GROWTH_MB for pid, start in before.items()):
            return True
    return False


def run_uploads(client, images, clients, tally):
    """`clients` threads share the uploads; returns (seconds until a prediction per upload, wall seconds)."""
    queue, latencies, lock = list(images), [], threading.Lock()
    deadline = time.monotonic() + 60 + 10 * len(images)  # generous, but bounded

    def client_loop():
        while True:
            with lock:
                if not queue:
                    return
                image = queue.pop()
            response, seconds = upload_until_done(client, image, tally, image.path.name, deadline)
            if response is not None:
                with lock:
                    latencies.append(seconds)

    started = time.perf_counter()
    threads = [threading.Thread(target=client_loop, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=max(1.0, deadline - time.monotonic() + 130))
    return latencies, time.perf_counter() - started


def load_phase(service, sampler, images, clients):
    """The figures of one client count: requests/s, latency, slot 503s, failures, peak summed RSS."""
    sampler.phase = f"{clients} clients"
    tally = Tally()
    latencies, wall = run_uploads(service.client, images, clients, tally)
    return {"clients": clients, "uploads": len(images), "ok": len(latencies),
            "requests_per_s": round(len(latencies) / wall, 2),
            "latency_median_s": round(statistics.median(latencies), 3) if latencies else None,
            "latency_p95_s": round(percentile(latencies, 0.95), 3) if latencies else None,
            "slot_503s": tally.slot_503s, "failures": len(tally.failed) + len(tally.server_errors),
            "peak_rss_mb": round(sampler.peak("rss_mb", [sampler.phase]), 1)}


def measure_workers(workers, images):
    """One service with `workers` workers: every worker loads the model, then each client count in turn."""
    with running_service(options={"--workers": workers}, env=SERVICE_ENV) as service:
        sampler = ServiceSampler(service.master_pid, hz=20)
        sampler.start()
        try:
            sampler.phase = "warm-up"
            all_loaded = load_model_everywhere(service, images, workers)
            phases = [load_phase(service, sampler, images, clients) for clients in CLIENT_COUNTS]
        finally:
            sampler.stop()
        per_worker = worker_rss_mb(service)
        result = {"workers": workers, "all_workers_loaded": all_loaded, "argv": service.argv,
                  "peak_rss_mb": round(sampler.peak("rss_mb"), 1),
                  "peak_hwm_sum_mb": round(sampler.peak("hwm_sum_mb"), 1),
                  "worker_peak_rss_mb": sorted(round(v, 1) for v in per_worker.values()),
                  "worker_deaths": service.worker_deaths(), "phases": phases}
    result["fits"] = result["peak_rss_mb"] < PEAK_LIMIT_MB and all_loaded
    print(f"  {workers} worker(s): peak {result['peak_rss_mb']} MB, "
          + ", ".join(f"{p['clients']} clients {p['requests_per_s']} req/s" for p in phases), file=sys.stderr)
    return result


def largest_fitting(images):
    """Runs N = 2, 3, ... workers while the peak stays under the limit; returns every run tried."""
    runs = []
    for workers in range(2, MAX_WORKERS_TRIED + 1):
        runs.append(measure_workers(workers, images))
        if not runs[-1]["fits"]:
            break
    return runs


def result_rows(runs, best):
    rows = []
    for run in runs:
        label = f"{run['workers']}" + (" (default)" if run["workers"] == 1 else "") + \
            (" (max that fits)" if run is best else "") + ("" if run["fits"] else " (over the limit)")
        for p in run["phases"]:
            rows.append([label, p["clients"], f"{p['ok']}/{p['uploads']}", number(p["requests_per_s"], ".2f"),
                         number(p["latency_median_s"], ".2f"), number(p["latency_p95_s"], ".2f"),
                         p["slot_503s"], p["failures"], number(p["peak_rss_mb"], ".0f")])
    return rows


def memory_rows(runs):
    return [[r["workers"], number(r["peak_rss_mb"], ".0f"), number(r["peak_hwm_sum_mb"], ".0f"),
             ", ".join(f"{v:.0f}" for v in r["worker_peak_rss_mb"]), "yes" if r["all_workers_loaded"] else "no",
             "yes" if r["fits"] else "no", len(r["worker_deaths"])] for r in runs]


def comparison(default, best):
    """What the extra workers buy at 4 clients, in this run's numbers."""
    if best is None or best is default:
        return []
    one, many = default["phases"][-1], best["phases"][-1]
    gain = many["requests_per_s"] / one["requests_per_s"]
    return [f"At {one['clients']} clients, {best['workers']} workers served {many['requests_per_s']:.2f} "
            f"requests/s against {one['requests_per_s']:.2f} with 1 ({gain:.2f}x) "
            f"for a peak of {best['peak_rss_mb']:.0f} MB against {default['peak_rss_mb']:.0f} MB, on 2 cores."]


def per_worker_rule(default):
    """The same answer from the default run's memory: master + N loaded workers under the limit."""
    worker = max(default["worker_peak_rss_mb"])
    master = default["peak_rss_mb"] - sum(default["worker_peak_rss_mb"])
    fits = int((PEAK_LIMIT_MB - master) // worker)
    return (f"Per-worker memory, from the 1-worker run: a loaded worker peaks at {worker:.0f} MB and the master "
            f"adds ~{master:.0f} MB, so {master:.0f} + N x {worker:.0f} < {PEAK_LIMIT_MB:.0f} MB allows N = {fits}.")


def section(report):
    runs, best = report["runs"], report["max_workers"]
    best_run = next((r for r in runs if r["workers"] == best), None)
    lines = ["## Whole service (Gunicorn): requests/s and peak summed RSS under 1, 2 and 4 clients", "",
             *header("", report["argv"])[2:],
             f"Load average (1 min): {report['load_at_start']:.1f} at the start, {report['load_at_end']:.1f} at the "
             "end: other work on the machine slows the times and makes them noisy (on a loaded machine, "
             "differences of 10-20% between rows were within that noise).", "",
             f"render.yaml's start line on 127.0.0.1 with production settings, only `--workers` overridden; "
             f"DERMAI_MAX_CONCURRENT=1 per worker (so N workers analyse N photos at once), the analysis "
             f"queue's defaults. {report['uploads']} real uploads per client count (Grad-CAM on, "
             f"`{Path(report['images']).name}`), shared by the clients; a slot 503 is retried after its "
             "Retry-After, so latency is the time until the prediction, retries included. Peak RSS: summed "
             "master + workers, sampled at 20 Hz, after every worker has loaded the model.", "",
             f"**Max-workers rule**: try N = 2, 3, ... workers; N fits when the peak summed RSS of its whole run "
             f"stays under {PEAK_LIMIT_MB:.0f} MB (test_before_deploy.py's peak limit, headroom under 512 MB); " +
             (f"the largest N that fits is **{best}**" if best else "not searched in this run (--workers)") +
             (f" (peak {best_run['peak_rss_mb']:.0f} MB)." if best_run else "."), "",
             per_worker_rule(runs[0]), "",
             *table(["workers", "clients", "ok", "requests/s", "latency median s", "latency p95 s", "slot 503s",
                     "failures", "peak RSS MB (phase)"], result_rows(runs, best_run)), "",
             "Memory per configuration (whole run):", "",
             *table(["workers", "peak summed RSS MB", "summed VmHWM MB", "each worker's peak MB",
                     "all loaded the model", f"fits under {PEAK_LIMIT_MB:.0f} MB", "worker deaths"],
                    memory_rows(runs)), "",
             *comparison(runs[0], best_run)]
    return "\n".join(lines)


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=Path, default=DEFAULT_IMAGES,
                        help="real photos (default %(default)s)")
    parser.add_argument("--uploads", type=int, default=40, help="uploads per client count (default %(default)s)")
    parser.add_argument("--markdown", type=Path, default=ROOT / "docs" / "BENCHMARKS.md",
                        help="document whose service section is replaced (default %(default)s)")
    parser.add_argument("--json", type=Path, default=ROOT / "docs" / "service.json", help="figures as JSON")
    parser.add_argument("--workers", type=int, help="measure only this many workers (no search; for a quick look)")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    started, load_at_start = time.time(), os.getloadavg()[0]
    images = spread(load_images(args.images), args.uploads)
    default = measure_workers(args.workers or 1, images)
    runs = [default] if args.workers else [default, *largest_fitting(images)]
    fitting = [r["workers"] for r in runs if r["fits"]] if not args.workers else []  # --workers: no search
    report = {"argv": sys.argv[1:] if argv is None else argv, "images": shown(args.images), "uploads": args.uploads,
              "peak_limit_mb": PEAK_LIMIT_MB, "load_at_start": load_at_start,
              "load_at_end": os.getloadavg()[0], "max_workers": max(fitting) if fitting else None, "runs": runs,
              "seconds": round(time.time() - started)}
    text = section(report)
    print(text)
    if args.markdown:
        previous = args.markdown.read_text() if args.markdown.is_file() else ""
        args.markdown.write_text(with_service_section(previous, text))
    if args.json:
        args.json.write_text(json.dumps(report, indent=1) + "\n")
    print(f"done in {report['seconds']} s", file=sys.stderr)
    searched_ok = bool(fitting) or bool(args.workers)
    return 0 if searched_ok and all(p["failures"] == 0 for r in runs for p in r["phases"]) else 1


if __name__ == "__main__":
    sys.exit(main())
