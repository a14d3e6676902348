#!/usr/bin/env python
"""Model evaluation: the Keras original and every precision of a bundle, on the labelled images, with and
without the metadata inputs -> docs/EVALUATION.md, docs/evaluation.json, docs/confusion_<default>.png and
docs/gradcam_examples.png.

    python bench/evaluate.py --bundle build/bundle-all        # keras + fp32 + fp16 + int8, 3-6 minutes
    python bench/evaluate.py                                  # keras + the committed bundle (int8)
    python bench/evaluate.py --limit 7 --heldout-limit 4 --out /tmp/eval   # a quick look
    python bench/evaluate.py --heldout-section-only      # only the held-out section `manage.py evaluate` measures

Every photo goes through the serving preprocessing (Dermal.inference.imaging). The Keras original is run with
model.predict (needs requirements-offline.txt and sklesion); the bundle's backbones with LiteRT and the NumPy
head. Metadata "given" uses each image's age, sex and body site; "unknown" sets all three to unknown.

The held-out section opens with the figures of `manage.py evaluate` on the same folder, computed by its own
code (Dermal.measure), so users and the project measure the same way. The scope and referral section, written
by `python -m trust` between <!-- trust:begin --> and <!-- trust:end -->, is kept as it is.
"""
import argparse
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import pictures  # noqa: E402
from bench.report import command_line, header, machine, marked_span, number, shown, table, with_marked_block  # noqa: E402,E501
from Dermal.inference import evaluation as ev  # noqa: E402
from Dermal.inference import imaging  # noqa: E402
from Dermal.inference.bundle import DEFAULT_BUNDLE_DIR, check_bundle, class_infos, encode_metadata  # noqa: E402
from Dermal.inference.datasets import EVAL_DIR, HELDOUT_DIR, load_labelled  # noqa: E402
from Dermal.inference.engines import MIRRORS, LiteRTEngine  # noqa: E402
from Dermal.measure import report as measure_report  # noqa: E402
from Dermal.measure.folder import measure_folder  # noqa: E402
from quantize_model import PRECISIONS, keras_probabilities as keras_predict  # noqa: E402

KERAS = "keras"
VARIANTS = ("given", "unknown")
MELANOMA, NEVUS = "mel", "nv"
HELDOUT = "derm_heldout"
TILE_SIDE = 180  # px, the long side of each example in the Grad-CAM grid: small, as a derived work should be
SEEN_CAVEAT = ("**derm_eval images are likely seen in training**: they come from HAM10000's training pool and "
               "sklesion's own train/test split is not published, so these figures show parity between the "
               "paths and a sanity check, not held-out accuracy.")
HAM_CREDIT = ("Images: HAM10000, Tschandl, P., Rosendahl, C. & Kittler, H., Sci. Data 5, 180161 (2018), "
              "CC BY-NC 4.0.")
HELDOUT_HEADING = "## derm_heldout (ISIC Archive) - never seen"
HELDOUT_BEGIN, HELDOUT_END = "<!-- heldout:begin: the code of manage.py evaluate, via bench/evaluate.py -->", \
    "<!-- heldout:end -->"
TRUST_BEGIN, TRUST_END = "<!-- trust:begin -->", "<!-- trust:end -->"
ISIC_CREDIT = ("Held-out images: ISIC Archive (ISIC 2018 Task 1-2 validation images; 68 CC-0, 29 CC-BY-NC, "
               "Department of Dermatology, Medical University of Vienna).")


@dataclass
class Sample:
    batch: np.ndarray  # (1, h, w, 3) model input
    metas: dict        # variant -> metadata vector
    dx: str


@dataclass
class Dataset:
    name: str
    directory: Path
    items: list
    samples: list


def spread(items, limit):
    """`limit` items evenly spread over the list (all of them without a limit), keeping every class in view."""
    if not limit or limit >= len(items):
        return items
    return [items[i * len(items) // limit] for i in range(limit)]


def prepare(name, directory, limit, manifest):
    height, width = manifest["input"]["height"], manifest["input"]["width"]
    items = spread(load_labelled(directory), limit)
    samples = []
    for item in items:
        pixels = imaging.open_photo(item.read(), min(height, width)).pixels
        metas = {"given": encode_metadata(manifest, item.age, item.sex, item.site),
                 "unknown": encode_metadata(manifest)}
        samples.append(Sample(imaging.model_input(pixels, height, width), metas, item.dx))
    return Dataset(name, directory, items, samples)


def keras_probabilities(manifest, datasets, flip_dataset):
    """({(dataset, variant): probabilities} of the original Keras model, its flip-averaged probabilities on
    `flip_dataset` with metadata given)."""
    from Dermal.inference.engines import keras_source_path
    from Dermal.inference.offline_keras import SplitModel, load_keras_model

    split = SplitModel(load_keras_model(keras_source_path(manifest)))
    probabilities = {(d.name, v): keras_predict(split, [(s.batch, s.metas[v], s.dx) for s in d.samples])
                     for d in datasets for v in VARIANTS}
    mirrored = [keras_predict(split, [(mirror(s.batch), s.metas["given"], s.dx) for s in flip_dataset.samples])
                for mirror in MIRRORS]
    return probabilities, np.mean([probabilities[flip_dataset.name, "given"], *mirrored], axis=0)


def bundle_engine(bundle, precision, threads):
    manifest, precision, backbone = check_bundle(bundle, precision)
    return LiteRTEngine(bundle, manifest, precision, backbone, threads)


def bundle_probabilities(engine, datasets):
    """{(dataset, variant): probabilities} of one LiteRT backbone with the NumPy head."""
    return {(d.name, v): np.stack([engine.analyse(s.batch, s.metas[v], gradcam=False)[0] for s in d.samples])
            for d in datasets for v in VARIANTS}


def flip_averaged(engine, dataset):
    """Flip-averaged probabilities of one backbone on `dataset`, metadata given."""
    return np.stack([engine.analyse(s.batch, s.metas["given"], False, True).probabilities for s in dataset.samples])


def melanoma_nevus_scores(probs, truth, classes):
    """(P(melanoma) of the melanoma and nevus images, which are melanomas), or None without both kinds."""
    chosen = np.isin(truth, [MELANOMA, NEVUS])
    positive = np.asarray(truth)[chosen] == MELANOMA
    if positive.all() or not positive.any():
        return None
    return probs[chosen, classes.index(MELANOMA)], positive


def melanoma_vs_nevus(probs, truth, classes, rounds):
    """AUC of P(melanoma) between the melanoma and nevus images, with its bootstrap 95% interval."""
    chosen = melanoma_nevus_scores(probs, truth, classes)
    if chosen is None:
        return None, None
    scores, positive = chosen
    return ev.roc_auc(scores, positive), ev.bootstrap_auc_interval(scores, positive, rounds=rounds)


def paired_auc_difference(single, flipped, positive, rounds, seed=0):
    """Bootstrap 95% interval of AUC(flipped) - AUC(single), both computed on the same resampled photos
    (positives and negatives resampled separately), so the photos' own difficulty cancels."""
    rng = np.random.default_rng(seed)
    pos, neg = np.flatnonzero(positive), np.flatnonzero(~positive)
    differences = []
    for _ in range(rounds):
        chosen = np.r_[rng.choice(pos, len(pos)), rng.choice(neg, len(neg))]
        differences.append(ev.roc_auc(flipped[chosen], positive[chosen]) - ev.roc_auc(single[chosen], positive[chosen]))
    low, high = np.percentile(differences, [2.5, 97.5])
    return float(low), float(high)


def figures(probs, truth, classes, reference, rounds):
    """Every figure of one model on one dataset with one metadata variant."""
    predicted = [classes[i] for i in probs.argmax(axis=1)]
    top1, max_difference = ev.agreement(reference, probs)
    auc, interval = melanoma_vs_nevus(probs, truth, classes, rounds)
    return {"images": len(truth), "accuracy": ev.accuracy(truth, predicted),
            "balanced_accuracy": ev.balanced_accuracy(truth, predicted),
            "recall": ev.per_class_recall(truth, predicted, classes),
            "precision": ev.per_class_precision(truth, predicted, classes),
            "confusion": ev.confusion_matrix(truth, predicted, classes).tolist(),
            "melanoma_sensitivity": ev.sensitivity(truth, predicted, MELANOMA),
            "expected_calibration_error": ev.expected_calibration_error(probs, [classes.index(t) for t in truth]),
            "mel_vs_nv_auc": auc, "mel_vs_nv_auc_interval": interval,
            "agreement_with_keras": top1, "max_probability_difference": max_difference}


def evaluate(datasets, probabilities, models, classes, rounds):
    """{dataset: {images, classes present, results: [one row per model and variant]}}."""
    report = {}
    for d in datasets:
        truth = [s.dx for s in d.samples]
        rows = [{"model": m, "metadata": v,
                 **figures(probabilities[m][d.name, v], truth, classes, probabilities[KERAS][d.name, v], rounds)}
                for m in models for v in VARIANTS]
        report[d.name] = {"folder": str(d.directory), "images": len(truth),
                          "counts": {c: truth.count(c) for c in classes if c in truth}, "results": rows}
    return report


def grid_picture(dataset, bundle, precision, classes, path):
    """The first image of each class with the bundle's top class and Grad-CAM overlay."""
    engine = bundle_engine(bundle, precision, threads=2)
    height, width = engine.manifest["input"]["height"], engine.manifest["input"]["width"]
    tiles = []
    for code in classes:
        item = next((i for i in dataset.items if i.dx == code), None)
        if item is None:
            continue
        pixels = imaging.open_photo(item.read(), min(height, width)).pixels
        meta = encode_metadata(engine.manifest, item.age, item.sex, item.site)
        probs, cam, _ = engine.analyse(imaging.model_input(pixels, height, width), meta, gradcam=True)
        top = int(probs.argmax())
        caption = [f"true: {code}", f"{precision}: {classes[top]} {probs[top]:.2f}"]
        tiles.append(pictures.example_tile(imaging.display_copy(pixels, TILE_SIDE), cam, caption))
    footer = (f"Top: photo; bottom: Grad-CAM of the {precision} bundle for its top class. "
              f"derm_eval, likely seen in training. {HAM_CREDIT}")
    pictures.save_png(pictures.side_by_side(tiles, footer), path)


def confusion_picture(report, precision, classes, path):
    titles = {"derm_eval": f"derm_eval, {precision}, metadata given (likely seen in training)",
              "derm_heldout": f"derm_heldout, {precision}, metadata given (never seen)"}
    panels = [pictures.confusion_panel(np.array(row(report, name, precision, "given")["confusion"]), classes,
                                       titles[name]) for name in report]
    footer = f"Rows: true class; columns: predicted. {HAM_CREDIT.split(',')[0]}; {ISIC_CREDIT.split(' (')[0]}."
    pictures.save_png(pictures.side_by_side(panels, footer), path)


def row(report, dataset, model, variant):
    return next(r for r in report[dataset]["results"] if r["model"] == model and r["metadata"] == variant)


def auc_cell(r):
    if r["mel_vs_nv_auc"] is None:
        return "n/a"
    low, high = r["mel_vs_nv_auc_interval"]
    return f"{r['mel_vs_nv_auc']:.3f} [{low:.3f}, {high:.3f}]"


def summary_table(rows):
    head = ["model", "metadata", "images", "accuracy", "balanced accuracy", "melanoma sensitivity",
            "mel-vs-nv AUC [95% CI]", "ECE", "top-1 agreement with keras", "max abs. diff. vs keras"]
    return table(head, [[r["model"], r["metadata"], r["images"], number(r["accuracy"]),
                         number(r["balanced_accuracy"]), number(r["melanoma_sensitivity"]), auc_cell(r),
                         number(r["expected_calibration_error"]),
                         "reference" if r["model"] == KERAS else number(r["agreement_with_keras"]),
                         "reference" if r["model"] == KERAS else number(r["max_probability_difference"], ".4f")]
                        for r in rows])


def per_class_table(rows, classes):
    def cell(r, c):
        return f"{number(r['recall'][c], '.2f')} / {number(r['precision'][c], '.2f')}"

    return table(["model", "metadata", *classes], [[r["model"], r["metadata"], *(cell(r, c) for c in classes)]
                                                   for r in rows])


def confusion_table(matrix, classes, present):
    """The rows of the classes present (true class) against every predicted class."""
    return table(["true \\ predicted", *classes], [[c, *matrix[classes.index(c)]] for c in present])


def metadata_table(report, models):
    """What the metadata inputs add: given minus unknown, per model and dataset."""
    head = ["model", *(f"{d}: {what}" for d in report for what in ("accuracy", "balanced accuracy"))]
    rows = []
    for m in models:
        cells = [f"{row(report, d, m, 'given')[k] - row(report, d, m, 'unknown')[k]:+.3f}"
                 for d in report for k in ("accuracy", "balanced_accuracy")]
        rows.append([m, *cells])
    return table(head, rows)


def headline(report, models):
    """The figures users choose a precision by, metadata given: derm_eval (likely seen) and held-out."""
    head = ["model", "derm_eval balanced accuracy (likely seen in training)", "held-out accuracy",
            "held-out balanced accuracy", "held-out melanoma sensitivity", "held-out mel-vs-nv AUC [95% CI]",
            "held-out top-1 agreement with keras"]
    rows = []
    for m in models:
        seen, unseen = row(report, "derm_eval", m, "given"), row(report, "derm_heldout", m, "given")
        rows.append([m, number(seen["balanced_accuracy"]), number(unseen["accuracy"]),
                     number(unseen["balanced_accuracy"]), number(unseen["melanoma_sensitivity"]), auc_cell(unseen),
                     "reference" if m == KERAS else number(unseen["agreement_with_keras"])])
    return table(head, rows)


def dataset_section(report, name, models, classes, caveat):
    data = report[name]
    present = [c for c in classes if c in data["counts"]]
    counts = ", ".join(f"{c} {n}" for c, n in data["counts"].items())
    given = [row(report, name, m, "given") for m in models]
    lines = [f"{data['images']} images ({counts}) from `{Path(data['folder']).name}`.", "", caveat, "",
             *summary_table(data["results"]), "", caveat, "",
             "Per-class recall / precision (n/a: no image of that class, or never predicted):", "",
             *per_class_table(data["results"], present), ""]
    for r in (given[0], given[-1]):
        lines += [f"Confusion matrix, {r['model']}, metadata given:", "",
                  *confusion_table(r["confusion"], classes, present), ""]
    return lines


def flip_effect(probabilities, dataset, flipped, models, classes, rounds):
    """{model: figures with flip averaging, plus the paired bootstrap interval of the AUC change} on the
    held-out photos, metadata given."""
    truth = [s.dx for s in dataset.samples]
    effect = {}
    for m in models:
        flip = figures(flipped[m], truth, classes, flipped[KERAS], rounds)
        single = melanoma_nevus_scores(probabilities[m][dataset.name, "given"], truth, classes)
        both = melanoma_nevus_scores(flipped[m], truth, classes)
        if single and both:
            flip["auc_change_interval"] = paired_auc_difference(single[0], both[0], single[1], rounds)
        effect[m] = flip
    return effect


def flip_table(report, effect, models):
    head = ["model", "accuracy single", "accuracy flip-averaged", "mel-vs-nv AUC single [95% CI]",
            "mel-vs-nv AUC flip-averaged [95% CI]", "AUC change [paired 95% CI]", "top-1 agreement with keras (flip)"]
    rows = []
    for m in models:
        single, flip = row(report, HELDOUT, m, "given"), effect[m]
        change = "n/a"
        if single["mel_vs_nv_auc"] is not None and "auc_change_interval" in flip:
            low, high = flip["auc_change_interval"]
            change = f"{flip['mel_vs_nv_auc'] - single['mel_vs_nv_auc']:+.3f} [{low:+.3f}, {high:+.3f}]"
        rows.append([m, number(single["accuracy"]), number(flip["accuracy"]), auc_cell(single), auc_cell(flip),
                     change, "reference" if m == KERAS else number(flip["agreement_with_keras"])])
    return table(head, rows)


def flip_section(report, effect, models):
    return ["## Flip averaging on held-out photos (metadata given)", "",
            "Flip averaging (DERMAI_FLIP_AVERAGE=true) runs the photo and its mirror image in both axes (a half "
            "turn) through the backbone and averages the probabilities: twice the backbone cost (latency in "
            "docs/BENCHMARKS.md). Keras: model.predict on the same two images. The AUC change's "
            "interval is a paired bootstrap (the same resampled photos for both), so it is narrower than the two "
            "AUCs' own intervals suggest.", "",
            *flip_table(report, effect, models), "", ISIC_CREDIT, ""]


def measured_heldout(directory, rounds, workers):
    """The held-out figures as a user measures them (`manage.py evaluate`'s own code), as a marked block."""
    figures, context, _ = measure_folder(directory, ROOT / "build" / f"evaluation-{Path(directory).name}",
                                         workers=workers, rounds=rounds, say=print)
    folder = os.path.relpath(directory, ROOT)
    context.update(folder=folder, command=f"python manage.py evaluate {folder}")
    return "\n".join([HELDOUT_BEGIN, f"### As users measure it: `python manage.py evaluate {folder}`", "",
                      "The serving path (the committed bundle, metadata given) through the command's own code; "
                      "its HTML report with the figures and the photos it got most wrong is written to "
                      f"`build/evaluation-{Path(directory).name}/`.", "",
                      *measure_report.markdown(figures, context), "", HELDOUT_END])


def with_kept_trust_section(text, previous):
    """`text` with the scope-and-referral section of the previous document, when it had one."""
    span = marked_span(previous, TRUST_BEGIN, TRUST_END)
    return text if span is None else with_marked_block(text, TRUST_BEGIN, TRUST_END, previous[span[0]:span[1]])


def document(report, models, classes, args, manifest, default, effect, measured):
    source = manifest["source"]
    heldout = report["derm_heldout"]
    heldout_caveat = (f"Never seen in training (ISIC ids outside HAM10000), but only {heldout['images']} images of "
                      f"{len(heldout['counts'])} classes and few melanomas: read the intervals, not just the points. "
                      "Balanced accuracy is over the classes present. " + ISIC_CREDIT)
    lines = header("DermAI model evaluation: the Keras original and each bundle precision")
    lines += [
        f"Models: `keras` is sklesion {source.get('version', '')} `{source['file']}` run by TensorFlow "
        f"(model.predict); {', '.join(m for m in models if m != KERAS)}: the LiteRT backbones of the bundle "
        f"`{shown(args.bundle)}` with the NumPy head (serving default: {default}). Every photo goes through the "
        "serving preprocessing. Metadata `given`: each image's age, sex and body site; `unknown`: all three "
        "unknown, as when a user leaves them blank.", "",
        "Figures: accuracy; balanced accuracy = mean recall over the classes present; melanoma sensitivity = "
        "share of melanomas whose top class is mel; mel-vs-nv AUC = rank-based AUC of P(mel) between the "
        f"melanoma and nevus images, with a stratified bootstrap 95% percentile interval ({args.bootstrap} "
        "resamples); ECE = expected calibration error of the top-1 probability over 10 equal-width bins; top-1 "
        "agreement and the largest probability difference against keras with the same metadata.", "",
        "For scale: sklesion's own published test report (its unpublished split, 1,511 HAM10000 images) gives "
        "accuracy 0.825 and balanced accuracy 0.723.", "",
        "## Headline (metadata given)", "", *headline(report, models), "",
        SEEN_CAVEAT, "", ISIC_CREDIT, "",
        "## derm_eval (HAM10000) - likely seen in training", "",
        *dataset_section(report, "derm_eval", models, classes, SEEN_CAVEAT),
        HELDOUT_HEADING, "", measured, "", "### Each model and precision", "",
        *dataset_section(report, "derm_heldout", models, classes, heldout_caveat),
        *flip_section(report, effect, models),
        "## What the metadata adds (given minus unknown)", "",
        *metadata_table(report, models), "",
        "(derm_eval: likely seen in training; derm_heldout: never seen.)", "",
        "## Pictures", "",
        f"![Confusion matrices of the {default} bundle](confusion_{default}.png)", "",
        f"Confusion matrices of the {default} bundle, metadata given: left derm_eval (likely seen in training), "
        f"right derm_heldout (never seen). {HAM_CREDIT} {ISIC_CREDIT}", "",
        "![Photos and Grad-CAM overlays](gradcam_examples.png)", "",
        f"The first derm_eval image of each class (not chosen for looks), with the {default} bundle's top class "
        f"and its Grad-CAM overlay. Likely seen in training. {HAM_CREDIT}", "",
    ]
    return "\n".join(lines)


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bundle", type=Path, default=DEFAULT_BUNDLE_DIR, help="bundle folder (every precision "
                        "it holds is evaluated)")
    parser.add_argument("--images", type=Path, default=EVAL_DIR, help="labelled images (default %(default)s)")
    parser.add_argument("--heldout", type=Path, default=HELDOUT_DIR, help="held-out images (default %(default)s)")
    parser.add_argument("--limit", type=int, help="evaluate only this many images of --images, evenly spread")
    parser.add_argument("--heldout-limit", type=int, help="the same for --heldout")
    parser.add_argument("--bootstrap", type=int, default=2000, help="bootstrap resamples (default %(default)s)")
    parser.add_argument("--threads", type=int, default=2, help="LiteRT threads")
    parser.add_argument("--out", type=Path, default=ROOT / "docs", help="folder for the report and pictures")
    parser.add_argument("--workers", type=int, help="worker processes for the held-out section (default: what "
                        "memory and cores allow)")
    parser.add_argument("--heldout-section-only", action="store_true", help="only rewrite the held-out section "
                        "that manage.py evaluate's code measures, in the existing OUT/EVALUATION.md")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    started = time.time()
    path = args.out / "EVALUATION.md"
    measured = measured_heldout(args.heldout, args.bootstrap, args.workers)
    if args.heldout_section_only:
        path.write_text(with_marked_block(path.read_text(), HELDOUT_BEGIN, HELDOUT_END, measured, HELDOUT_HEADING))
        print(f"wrote the held-out section of {path} in {time.time() - started:.0f} s")
        return 0
    manifest, default, _ = check_bundle(args.bundle)
    classes = [c.code for c in class_infos(manifest)]
    precisions = [p for p in reversed(PRECISIONS) if p in manifest["backbones"]]  # the closest to keras first
    datasets = [prepare("derm_eval", args.images, args.limit, manifest),
                prepare("derm_heldout", args.heldout, args.heldout_limit, manifest)]
    heldout = datasets[1]
    keras_probs, keras_flipped = keras_probabilities(manifest, datasets, heldout)
    probabilities, flipped = {KERAS: keras_probs}, {KERAS: keras_flipped}
    for precision in precisions:
        engine = bundle_engine(args.bundle, precision, args.threads)
        probabilities[precision] = bundle_probabilities(engine, datasets)
        flipped[precision] = flip_averaged(engine, heldout)
    models = [KERAS, *precisions]
    report = evaluate(datasets, probabilities, models, classes, args.bootstrap)
    effect = flip_effect(probabilities, heldout, flipped, models, classes, args.bootstrap)
    args.out.mkdir(parents=True, exist_ok=True)
    confusion_picture(report, default, classes, args.out / f"confusion_{default}.png")
    grid_picture(datasets[0], args.bundle, default, classes, args.out / "gradcam_examples.png")
    previous = path.read_text() if path.exists() else ""
    path.write_text(with_kept_trust_section(document(report, models, classes, args, manifest, default, effect,
                                                     measured), previous))
    provenance = {"command": command_line(), "machine": machine(), "bundle": shown(args.bundle),
                  "generated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    (args.out / "evaluation.json").write_text(json.dumps({**provenance, **report, "flip_average": effect},
                                                         indent=1, default=float) + "\n")
    print("\n".join(headline(report, models)))
    print(f"wrote {args.out}/EVALUATION.md, evaluation.json and pictures in {time.time() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
