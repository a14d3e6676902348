#!/usr/bin/env python
"""Batch throughput of `manage.py analyse`: photos per second and each worker's peak memory for 1 worker, 2
workers and the number it picks by itself, on the held-out photos (97, up to 30 MP); then the same photos through a
Dask scheduler on this machine with 1 and 2 worker processes, and with 3 of which one is killed mid-run, each
cluster table compared with the local one row for row -> the batch section of docs/BENCHMARKS.md (bench/engine.py
keeps it).

    .venv/bin/python bench/batch.py            # about 8 minutes on 2 cores
    .venv/bin/python bench/batch.py --images tests/data/images --photos 200 --markdown /tmp/batch.md

Each setting is the real command in a process of its own (start-up and each worker's model load included in
the wall time); the rate is the command's own (photos analysed / time from the first job to the last row).
"""
import argparse
import itertools
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.dask_cluster import local_cluster  # noqa: E402
from bench.report import add_section_arguments, command_line, machine, table, write_section  # noqa: E402
from Dermal.inference.datasets import HELDOUT_DIR  # noqa: E402
from Dermal.measure.photos import PHOTO_SUFFIXES  # noqa: E402
from Dermal.measure.table import differences, read_table  # noqa: E402

BATCH_START = "<!-- batch-view: produced by bench/batch.py; bench/engine.py keeps this section -->"
BATCH_END = "<!-- /batch-view -->"
SUMMARY = re.compile(r"(\d+) analysed at ([\d.]+) photos/s(?:, peak (\d+) MB per worker)?")
CHOSEN = re.compile(r"using (\d+) worker\(s\)")


def _command(images, csv, workers, gradcam, scheduler):
    where = ["--scheduler", scheduler] if scheduler else ["--workers", str(workers)] if workers else []
    return [sys.executable, "manage.py", "analyse", str(images), "--csv", str(csv), *where,
            *(["--gradcam", str(csv.parent / "gradcam")] if gradcam else [])]


def measure(images, workers, gradcam, scheduler=None, during=None):
    """{workers, chosen, photos, rate, wall, peak, rows} of one run of the command (workers None: its own choice;
    with `scheduler`, the cluster's workers, `workers` of them); `during()` runs while the command does."""
    with tempfile.TemporaryDirectory() as scratch:
        argv = _command(images, Path(scratch) / "out.csv", workers, gradcam, scheduler)
        started = time.perf_counter()
        running = subprocess.Popen(argv, cwd=ROOT, env={**os.environ, "DEBUG": "true"}, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE, text=True)
        if during:
            during()
        stderr = running.communicate()[1]
        wall = time.perf_counter() - started
        rows = read_table(Path(scratch) / "out.csv") if running.returncode == 0 else []
    summary = SUMMARY.search(stderr)
    if running.returncode or not summary:
        raise SystemExit(f"{' '.join(argv)} failed:\n{stderr[-2000:]}")
    chosen = CHOSEN.search(stderr)
    return {"workers": workers or int(chosen.group(1)), "chosen": workers is None, "gradcam": gradcam,
            "photos": int(summary.group(1)), "rate": float(summary.group(2)), "wall": wall,
            "peak": int(summary.group(3)) if summary.group(3) else None, "rows": rows,
            "why": chosen and stderr[chosen.start():].splitlines()[0]}


def on_cluster(images, workers, folder, killed=False):
    """One run through a scheduler on this machine with `workers` worker processes; with `killed`, the last one
    is SIGKILLed (nanny and all) once it holds photos, mid-run."""
    held = []
    with local_cluster(folder, workers) as cluster:
        def kill():
            held.append(cluster.wait_until_busy(f"w{workers}"))
            os.killpg(cluster.processes[-1].pid, signal.SIGKILL)

        result = measure(images, workers, gradcam=False, scheduler=cluster.address, during=kill if killed else None)
    return {**result, "killed": held and held[0]}


def copies(images, count, folder):
    """`count` photos in `folder`: those of `images` linked over and over under distinct names."""
    originals = sorted(p for p in Path(images).iterdir() if p.suffix.lower() in PHOTO_SUFFIXES)
    for number, photo in zip(range(count), itertools.cycle(originals)):
        (folder / f"{number:04d}_{photo.name}").symlink_to(photo.absolute())
    return folder


def _local_rows(results):
    return [[f"{r['workers']}{' (its own choice)' if r['chosen'] else ''}", "on" if r["gradcam"] else "off",
             r["photos"], f"{r['rate']:.2f}", f"{r['photos'] / r['wall']:.2f}", f"{r['wall']:.0f} s",
             f"{r['peak']} MB" if r["peak"] else "n/a"] for r in results]


def _overhead(run, local):
    """Worker-milliseconds per photo beyond the local run's with as many workers, or None without one."""
    alike = next((r for r in local if r["workers"] == run["workers"] and not r["chosen"] and not r["gradcam"]), None)
    return alike and 1000 * run["workers"] * (1 / run["rate"] - 1 / alike["rate"])


def _agreement(run, reference):
    found = differences(run["rows"], reference["rows"])
    return f"same, {len(run['rows'])} rows" if not found else f"{len(found)} differences"


def _cluster_rows(clustered, local):
    rows = []
    for r in clustered:
        overhead = _overhead(r, local)
        killed = f", one killed holding {r['killed']} photo(s)" if r["killed"] else ""
        rows.append([f"{r['workers']}{killed}", r["photos"], f"{r['rate']:.2f}",
                     f"{r['photos'] / r['wall']:.2f}", f"{r['wall']:.0f} s", f"{r['peak']} MB",
                     "n/a" if overhead is None else f"{overhead:+.0f} ms", _agreement(r, local[0])])
    return rows


def _cluster_part(clustered, local):
    if not clustered:
        return []
    return [
        "### The same photos through a Dask scheduler on this machine (`--scheduler`)", "",
        "`dask scheduler` and N `dask worker --nworkers 1 --nthreads 1` processes on 127.0.0.1 (each worker behind "
        "its nanny), then `python manage.py analyse PHOTOS --scheduler tcp://127.0.0.1:PORT --csv out.csv`; in the "
        "last row the third worker (nanny and all) is SIGKILLed once it holds photos. Overhead: worker-time per "
        "photo beyond the local run with as many workers (N / rate, cluster minus local). Table: compared with the "
        "1-worker local table row for row (probabilities to 1e-9, every column but the timings).", "",
        *table(["workers", "photos", "photos/s", "photos/s, whole command", "wall", "peak per worker",
                "overhead per photo", "table vs local"], _cluster_rows(clustered, local)), ""]


def section(local, clustered, described):
    why = next((r["why"] for r in local if r["why"]), "")
    return "\n".join([
        BATCH_START, "## Batch analysis (`manage.py analyse`): photos per second by worker count", "",
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {machine()} by:", "",
        "```", command_line(), "```", "",
        f"`python manage.py analyse PHOTOS --workers N --csv out.csv` on {described}, each setting a fresh command. "
        "Rate: photos analysed per second from the first photo to the last row; wall: the whole command (start-up "
        "and every worker's model load included). Peak: the largest resident memory any worker reached (one worker "
        "analyses in the command's own process, Django included).", "",
        *table(["workers", "Grad-CAM", "photos", "photos/s", "photos/s, whole command", "wall", "peak per worker"],
               _local_rows(local)), "",
        *([f"With no --workers the command said: `{why}`.", ""] if why else []), *_cluster_part(clustered, local),
        BATCH_END])


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=Path, default=HELDOUT_DIR / "images", help="photos (default %(default)s)")
    parser.add_argument("--photos", type=int, help="link the photos of --images over and over under distinct "
                        "names until there are this many")
    parser.add_argument("--no-cluster", action="store_true", help="the local rows only")
    parser.add_argument("--counted-only", action="store_true", help="of the local rows, 1 and 2 workers only (no "
                        "worker count of the command's own choice, no Grad-CAM): what the cluster rows compare with")
    add_section_arguments(parser, "batch")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        images = copies(args.images, args.photos, Path(scratch)) if args.photos else args.images
        local = [measure(images, workers, gradcam=False) for workers in (1, 2) + ((None,) if not args.counted_only
                                                                                  else ())]
        if not args.counted_only:
            local.append(measure(images, None, gradcam=True))
        clustered = [] if args.no_cluster else [
            on_cluster(images, workers, Path(tempfile.mkdtemp(dir=scratch)), killed=killed)
            for workers, killed in ((1, False), (2, False), (3, True))]
    described = f"{local[0]['photos']} photos of `{os.path.relpath(args.images, ROOT)}`" + \
        (" linked over and over under distinct names" if args.photos else "")
    text = section(local, clustered, described)
    write_section(args.markdown, BATCH_START, BATCH_END, text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
