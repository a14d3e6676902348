#!/usr/bin/env python
"""Batch throughput of `manage.py analyse`: photos per second and each worker's peak memory for 1 worker, 2
workers and the number it picks by itself, on the held-out photos (97, up to 30 MP) -> the batch section of
docs/BENCHMARKS.md (bench/engine.py keeps it).

    .venv/bin/python bench/batch.py            # about 4 minutes on 2 cores
    .venv/bin/python bench/batch.py --images tests/data --markdown /tmp/batch.md

Each setting is the real command in a process of its own (start-up and each worker's model load included in
the wall time); the rate is the command's own (photos analysed / time from the first job to the last row).
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.report import add_section_arguments, command_line, machine, table, write_section  # noqa: E402
from Dermal.inference.datasets import HELDOUT_DIR  # noqa: E402

BATCH_START = "<!-- batch-view: produced by bench/batch.py; bench/engine.py keeps this section -->"
BATCH_END = "<!-- /batch-view -->"
SUMMARY = re.compile(r"(\d+) analysed at ([\d.]+) photos/s(?:, peak (\d+) MB per worker)?")
CHOSEN = re.compile(r"using (\d+) worker\(s\)")


def measure(images, workers, gradcam):
    """{workers, chosen, photos, rate, wall, peak} of one run of the command (workers None: its own choice)."""
    with tempfile.TemporaryDirectory() as scratch:
        argv = [sys.executable, "manage.py", "analyse", str(images), "--csv", f"{scratch}/out.csv",
                *(["--workers", str(workers)] if workers else []), *(["--gradcam", scratch] if gradcam else [])]
        started = time.perf_counter()
        done = subprocess.run(argv, cwd=ROOT, env={**os.environ, "DEBUG": "true"}, capture_output=True, text=True)
        wall = time.perf_counter() - started
    summary = SUMMARY.search(done.stderr)
    if done.returncode or not summary:
        raise SystemExit(f"{' '.join(argv)} failed:\n{done.stderr[-2000:]}")
    chosen = CHOSEN.search(done.stderr)
    return {"workers": workers or int(chosen.group(1)), "chosen": workers is None, "gradcam": gradcam,
            "photos": int(summary.group(1)), "rate": float(summary.group(2)), "wall": wall,
            "peak": int(summary.group(3)) if summary.group(3) else None,
            "why": chosen and done.stderr[chosen.start():].splitlines()[0]}


def section(results, images):
    rows = [[f"{r['workers']}{' (its own choice)' if r['chosen'] else ''}", "on" if r["gradcam"] else "off",
             r["photos"], f"{r['rate']:.2f}", f"{r['photos'] / r['wall']:.2f}", f"{r['wall']:.0f} s",
             f"{r['peak']} MB" if r["peak"] else "n/a"] for r in results]
    why = next((r["why"] for r in results if r["why"]), "")
    return "\n".join([
        BATCH_START, "## Batch analysis (`manage.py analyse`): photos per second by worker count", "",
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {machine()} by:", "",
        "```", command_line(), "```", "",
        f"`python manage.py analyse {os.path.relpath(images, ROOT)} --workers N --csv out.csv` on {results[0]['photos']} "
        f"photos of `{images.parent.name}`, each setting a fresh command. Rate: photos analysed per "
        "second from the first photo to the last row; wall: the whole command (start-up and every worker's model "
        "load included). Peak: the largest resident memory any worker reached (one worker analyses in the "
        "command's own process, Django included).", "",
        *table(["workers", "Grad-CAM", "photos", "photos/s", "photos/s, whole command", "wall", "peak per worker"],
               rows), "",
        f"With no --workers the command said: `{why}`.", "", BATCH_END])


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=Path, default=HELDOUT_DIR / "images", help="photos (default %(default)s)")
    add_section_arguments(parser, "batch")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    results = [measure(args.images, workers, gradcam=False) for workers in (1, 2, None)]
    results.append(measure(args.images, None, gradcam=True))
    write_section(args.markdown, BATCH_START, BATCH_END, section(results, args.images))
    print(section(results, args.images))
    return 0


if __name__ == "__main__":
    sys.exit(main())
