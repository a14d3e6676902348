"""What the endurance commands share: a sampler that keeps a time series, drift per worker generation,
client threads, and the command line and verdict of each command. The service itself is harness.service's.
"""
import argparse
import json
import statistics
import threading
import time
from pathlib import Path

from harness.memory import ServiceSampler
from harness.photos import DEFAULT_IMAGES


class SeriesSampler(ServiceSampler):
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
    p.add_argument("--images", type=Path, default=DEFAULT_IMAGES, help="folder of real photos (default %(default)s)")
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
