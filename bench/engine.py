#!/usr/bin/env python
"""Engine benchmark: the seeds' design (Keras in the web process) against DermAI's LiteRT bundle, side by side.

    python bench/engine.py                                   # int8 of the committed bundle only
    python bench/engine.py --bundle build/bundle-all --paths keras fp32 fp16 int8 \\
        --markdown docs/BENCHMARKS.md --json docs/benchmarks.json      # 5-6 minutes on 2 cores

Paths: `keras` is the seeds' design (the original TensorFlow Keras model, GradientTape Grad-CAM;
DERMAL_ENGINE=keras); fp32/fp16/int8 are the bundle's LiteRT backbones with the NumPy head and Grad-CAM. Every
call goes through predict_skin_simple (decode, preprocess, model, overlay rendering), on the same real photos.

Each path runs in three fresh processes: Grad-CAM on with 1 thread (import, load, first prediction, warm
latency, peak RSS, throughput), Grad-CAM off with 1 thread, and Grad-CAM on with 2 threads (throughput);
the LiteRT paths a fourth, Grad-CAM on with flip averaging (DERMAI_FLIP_AVERAGE), 1 thread.
Threads: DERMAL_THREADS (LiteRT), OMP/OPENBLAS/MKL_NUM_THREADS (NumPy, oneDNN) and TF_NUM_INTRAOP_THREADS /
TF_NUM_INTEROP_THREADS (TensorFlow) are all set to the count. Every figure is also given as a ratio to the
first path (keras when it runs), measured in the same run so machine noise cancels.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.report import SERVICE_END, SERVICE_START, header, number, service_span, shown, table  # noqa: E402
from bench.batch import BATCH_END, BATCH_START  # noqa: E402
from bench.cold_start import COLD_END, COLD_START  # noqa: E402
from bench.page_agreement import BEGIN as AGREEMENT_START, END as AGREEMENT_END  # noqa: E402
from bench.phone import PHONE_END, PHONE_START  # noqa: E402
from bench.report import marked_span  # noqa: E402

PATHS = ("keras", "fp32", "fp16", "int8")
THREAD_VARIABLES = ("DERMAL_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                    "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")
# (key, Grad-CAM, threads, flip averaging) of the fresh processes each path runs in
RUNS = (("cam_1t", True, 1, False), ("nocam_1t", False, 1, False), ("cam_2t", True, 2, False),
        ("flip_1t", True, 1, True))
FLIP_RUN = "flip_1t"  # LiteRT paths only: keras at twice its 1.5 s per photo would add minutes
# The figures of the report: (label, run, field, format, higher is better)
COLUMNS = (
    ("import s", "cam_1t", "import_s", ".2f", False),
    ("model load s", "cam_1t", "load_s", ".2f", False),
    ("first prediction s", "cam_1t", "first_prediction_s", ".2f", False),
    ("warm median s, Grad-CAM on", "cam_1t", "warm_median_s", ".3f", False),
    ("warm p95 s, Grad-CAM on", "cam_1t", "warm_p95_s", ".3f", False),
    ("warm CPU s per image, Grad-CAM on", "cam_1t", "warm_cpu_median_s", ".3f", False),
    ("warm median s, Grad-CAM off", "nocam_1t", "warm_median_s", ".3f", False),
    ("warm p95 s, Grad-CAM off", "nocam_1t", "warm_p95_s", ".3f", False),
    ("peak RSS MB, Grad-CAM on", "cam_1t", "peak_rss_mb", ".0f", False),
    ("peak RSS MB, Grad-CAM off", "nocam_1t", "peak_rss_mb", ".0f", False),
    ("images/s, 1 thread", "cam_1t", "images_per_s", ".2f", True),
    ("images/s, 2 threads", "cam_2t", "images_per_s", ".2f", True),
    ("warm median s, flip averaging, Grad-CAM on", FLIP_RUN, "warm_median_s", ".3f", False),
    ("warm p95 s, flip averaging, Grad-CAM on", FLIP_RUN, "warm_p95_s", ".3f", False),
    ("warm CPU s per image, flip averaging", FLIP_RUN, "warm_cpu_median_s", ".3f", False),
)
HEADLINE_FIELDS = ("peak_rss_mb", "warm_median_s", "warm_cpu_median_s")
SERVICE_PLACEHOLDER = """## Whole service (Gunicorn): requests/s and peak summed RSS under 1, 2 and 4 clients

Pending: `.venv/bin/python bench/service.py` writes its table here."""


def percentile(sorted_values, share):
    """Nearest-rank percentile of an ascending list."""
    return sorted_values[min(len(sorted_values) - 1, round(share * (len(sorted_values) - 1)))]


def measure(images, gradcam, flip_average, count):
    """Runs inside the fresh process: the figures of one path with one setting."""
    started = time.perf_counter()
    from Dermal.AI_detection import predict_skin_simple
    from Dermal.inference.datasets import load_labelled
    from Dermal.inference.memory import peak_rss_mb

    imported = time.perf_counter() - started
    items = load_labelled(images)
    photos = [items[i % len(items)].read() for i in range(count + 1)]
    started = time.perf_counter()
    first = predict_skin_simple(photos[0], gradcam=gradcam, flip_average=flip_average)
    first_call = time.perf_counter() - started
    warm, cpu = [], []
    for photo in photos[1:]:
        started, cpu_started = time.perf_counter(), time.process_time()
        predict_skin_simple(photo, gradcam=gradcam, flip_average=flip_average)
        warm.append(time.perf_counter() - started)
        cpu.append(time.process_time() - cpu_started)
    warm.sort()
    return {"engine": first.engine, "precision": first.precision, "gradcam": gradcam,
            "flip_average": first.flip_average, "warm_calls": count,
            "import_s": round(imported, 3), "load_s": round(first.timings["load"], 3),
            "first_prediction_s": round(first_call - first.timings["load"], 3),
            "warm_median_s": round(statistics.median(warm), 4), "warm_p95_s": round(percentile(warm, 0.95), 4),
            "warm_cpu_median_s": round(statistics.median(cpu), 4),
            "images_per_s": round(count / sum(warm), 3), "peak_rss_mb": round(peak_rss_mb(), 1),
            "tensorflow_imported": "tensorflow" in sys.modules}


def run_worker(path, gradcam, threads, flip_average, args):
    """One fresh process for one path and setting; returns its figures."""
    env = dict(os.environ, DERMAL_BUNDLE_DIR=str(args.bundle.resolve()), TF_CPP_MIN_LOG_LEVEL="3",
               DERMAL_ENGINE="keras" if path == "keras" else "litert",
               **{name: str(threads) for name in THREAD_VARIABLES})
    if path != "keras":
        env["DERMAL_PRECISION"] = path
    command = [sys.executable, __file__, "--worker", "--images", str(args.images.resolve()),
               "--count", str(args.count)]
    command += ["--gradcam"] * gradcam + ["--flip-average"] * flip_average
    done = subprocess.run(command, env=env, capture_output=True, text=True, cwd=ROOT)
    if done.returncode:
        sys.exit(f"the {path} worker (Grad-CAM {'on' if gradcam else 'off'}, {threads} thread(s), flip averaging "
                 f"{'on' if flip_average else 'off'}) failed:\n"
                 + done.stderr[-3000:])
    return {"threads": threads, **json.loads(done.stdout.strip().splitlines()[-1])}


def run_path(path, args):
    runs = {}
    for key, gradcam, threads, flip_average in RUNS:
        if flip_average and path == "keras":
            continue
        runs[key] = run_worker(path, gradcam, threads, flip_average, args)
        print(f"  {path} {key}: {json.dumps(runs[key])}", file=sys.stderr)
    return {"path": path, "runs": runs}


def figure(result, run, field):
    """A path's figure, or None for a run it skips (keras has no flip-averaging run)."""
    return result["runs"].get(run, {}).get(field)


def ratio(value, base, higher):
    if value is None or base is None:
        return None
    return round(value / base if higher else base / value, 2)


def with_ratios(results):
    """Each path's figures as a ratio to the first path's (>1 is better for every ratio)."""
    base = results[0]
    for result in results:
        result["ratio_to"] = base["path"]
        result["ratios"] = {
            label: ratio(figure(result, run, f), figure(base, run, f), higher) for label, run, f, _, higher in COLUMNS}
    return results


def figures_table(results):
    """Figures as rows, paths as columns; after each path's figure its ratio to the base path."""
    rows = []
    for label, run, field, spec, _ in COLUMNS:
        cells = [number(figure(r, run, field), spec) for r in results]
        rows.append([label, cells[0], *(f"{c} ({number(r['ratios'][label], '.2f')}x)" if r['ratios'][label] else c
                                        for c, r in zip(cells[1:], results[1:]))])
    return table(["figure", *(r["path"] for r in results)], rows)


def headline(results):
    """One line per path: peak RSS and warm latency (wall and CPU) with Grad-CAM, against the base path."""
    base = results[0]
    lines = []
    for r in results[1:]:
        parts = [f"{label.split(',')[0]} {figure(r, 'cam_1t', field):{spec}} vs {figure(base, 'cam_1t', field):{spec}} "
                 f"({r['ratios'][label]:.1f}x {'less' if 'RSS' in label else 'faster'})"
                 for label, run, field, spec, _ in COLUMNS if run == "cam_1t" and field in HEADLINE_FIELDS]
        lines.append(f"- **{r['path']}** vs {base['path']}, Grad-CAM on, 1 thread: " + "; ".join(parts) + ".")
    return lines


def flip_lines(results):
    """Per LiteRT path: the flip-averaged warm call against the single pass, both Grad-CAM on, 1 thread."""
    lines = []
    for r in results:
        flipped, single = figure(r, FLIP_RUN, "warm_median_s"), figure(r, "cam_1t", "warm_median_s")
        if flipped is not None:
            p95 = figure(r, FLIP_RUN, "warm_p95_s")
            lines.append(f"- **{r['path']}**: warm median {flipped:.3f} s (p95 {p95:.3f} s, "
                         f"CPU {figure(r, FLIP_RUN, 'warm_cpu_median_s'):.3f} s) with flip averaging against "
                         f"{single:.3f} s without: {flipped / single:.1f}x the whole call.")
    return lines


def service_section(previous):
    """The whole-service section as bench/service.py last wrote it, or the placeholder."""
    span = service_span(previous)
    if span:
        return previous[span[0]:span[1]]
    return f"{SERVICE_START}\n{SERVICE_PLACEHOLDER}\n{SERVICE_END}"


def document(results, args, previous, load_at_start):
    count = args.count
    lines = header("DermAI benchmarks: the seeds' design (Keras) vs the LiteRT bundle")
    lines += [
        f"Load average at the start of the run: {load_at_start:.1f} (1 min; at the end: above). Timings are "
        "wall time, so other work on the machine slows every path, and multi-threaded runs most; the ratios "
        "come from one run, path after path.", "",
        f"Photos: {count} warm calls per setting (after one first call) on the real images of `{args.images.name}` "
        f"(600x450 HAM10000 JPEGs by default; accuracy does not matter here, only speed and memory). "
        f"Bundle: `{shown(args.bundle)}`. Each figure comes from a fresh process, so load and peak RSS are each "
        "path's own.", "",
        "- `keras`: the seeds' design, the original TensorFlow Keras model (sklesion 0.2.2, Xception) with "
        "GradientTape Grad-CAM (DERMAL_ENGINE=keras). It computes the heatmap in the same tape pass as the "
        "prediction, so Grad-CAM off only skips the overlay rendering.",
        "- `fp32`, `fp16`, `int8`: LiteRT backbones of the same model (int8 = dynamic-range: int8 weights, "
        "float activations) with the NumPy head and NumPy Grad-CAM; TensorFlow is never imported.",
        "- import: `from Dermal.AI_detection import predict_skin_simple` (the engines import their runtime on "
        "load, so TensorFlow's ~6 s import is in the keras model load). Model load: the first call's `load` "
        "timing; first prediction: the rest of that call. Warm median and p95 over the warm calls, wall time of "
        "the whole predict_skin_simple call (decode, preprocess, model, overlay PNG). Warm CPU s: the median "
        "CPU time of the process per call (all its threads), which other work on the machine disturbs far "
        "less than wall time.",
        "- Peak RSS: the process's VmHWM at the end (kernel high-water mark, catches spikes). images/s: warm "
        "sequential calls with Grad-CAM on, with 1 and with 2 threads (DERMAL_THREADS, OMP/OPENBLAS/MKL_NUM_THREADS, "
        "TF_NUM_INTRAOP_THREADS and TF_NUM_INTEROP_THREADS all set to the count). The service runs 1 thread "
        "(render.yaml).",
        "- Flip averaging (DERMAI_FLIP_AVERAGE=true, or predict_skin_simple(flip_average=True)): the photo and "
        "the photo turned upside down (flipped both ways) go through the backbone and the probabilities are "
        "averaged; Grad-CAM stays the photo's own. Measured for the LiteRT paths only (keras would take ~2x its "
        "1.5 s per photo), 1 thread, "
        "Grad-CAM on, in its own fresh process. Its effect on accuracy is in docs/EVALUATION.md.", "",
        f"## Per path (in brackets: the ratio to {results[0]['path']} in the same run; above 1x is better)", "",
        *figures_table(results), "",
    ]
    if len(results) > 1:
        lines += ["## Headline", "", *headline(results), ""]
    if flip_lines(results):
        lines += ["## Flip averaging (the switch DERMAI_FLIP_AVERAGE, on by default)", "", *flip_lines(results), ""]
    lines += [service_section(previous), ""]
    # bench/batch.py's, bench/phone.py's, bench/cold_start.py's and bench/page_agreement.py's
    for begin, end in ((BATCH_START, BATCH_END), (PHONE_START, PHONE_END), (COLD_START, COLD_END),
                       (AGREEMENT_START, AGREEMENT_END)):
        kept = marked_span(previous, begin, end)
        lines += [previous[kept[0]:kept[1]], ""] if kept else []
    return "\n".join(lines)


def parse_args(argv):
    # No project import here: a worker times its own first import of the project.
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=Path, help="labelled images folder (default ../shared/derm_eval)")
    parser.add_argument("--bundle", type=Path, help="bundle folder (default Dermal/bundle)")
    parser.add_argument("--paths", nargs="+", default=["int8"], choices=PATHS, help="the first is the base of ratios")
    parser.add_argument("--count", type=int, default=50, help="warm calls per setting (default %(default)s)")
    parser.add_argument("--json", type=Path, help="write the figures as JSON here")
    parser.add_argument("--markdown", type=Path, help="write the Markdown report here (e.g. docs/BENCHMARKS.md)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--gradcam", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--flip-average", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.worker:
        print(json.dumps(measure(args.images, args.gradcam, args.flip_average, args.count)))
        return 0
    from Dermal.inference.bundle import DEFAULT_BUNDLE_DIR
    from Dermal.inference.datasets import EVAL_DIR

    args.images, args.bundle = args.images or EVAL_DIR, args.bundle or DEFAULT_BUNDLE_DIR
    load_at_start = os.getloadavg()[0]
    results = with_ratios([run_path(path, args) for path in args.paths])
    previous = args.markdown.read_text() if args.markdown and args.markdown.is_file() else None
    text = document(results, args, previous, load_at_start)
    print(text)
    if args.markdown:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(text)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"count": args.count, "images": shown(args.images), "results": results},
                                        indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
