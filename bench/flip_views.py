#!/usr/bin/env python
"""Which views should flip averaging average? Every choice, on every labelled set present.

    .venv/bin/python bench/flip_views.py             # about 2 minutes; writes docs/flip_views.md

Each photo (metadata given) goes through the bundle's backbone as it is and as its three mirror images; each
candidate averages some of those views' probabilities. Per candidate: the backbone runs it costs, the referral
threshold the trust tool's rule chooses on the same sources (trust.referral_fit), derm_heldout's cross-validated
sensitivity and specificity (fold seed 0, as the bundle quotes; and the mean over 20 fold seeds), the specificity at
the threshold on each source, and derm_heldout's AUCs. The engine averages the SERVED candidate (engines.MIRRORS).
"""
import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tqdm import tqdm  # noqa: E402

from Dermal.inference import imaging  # noqa: E402  (first: it keeps NumPy's BLAS to one thread)
import numpy as np  # noqa: E402
from bench.report import header, number, table  # noqa: E402
from Dermal.inference.bundle import encode_metadata  # noqa: E402
from Dermal.inference.engines import build_engine  # noqa: E402
from Dermal.inference.evaluation import roc_auc  # noqa: E402
from trust.photos import available_sources, lesion_items  # noqa: E402
from trust.referral_fit import choose_threshold, choosing, cross_validated_referrals, rates  # noqa: E402

VIEWS = (lambda x: x, lambda x: x[:, :, ::-1], lambda x: x[:, ::-1], lambda x: x[:, ::-1, ::-1])  # of (1, H, W, 3)
CANDIDATES = {"single pass": (0,), "+ left-right mirror": (0, 1), "+ up-down mirror": (0, 2),
              "+ half turn (both mirrors)": (0, 3), "+ all three mirror images": (0, 1, 2, 3)}
SERVED = "+ half turn (both mirrors)"
HELDOUT, SEEDS = "derm_heldout", 20


def view_probabilities(engine, items):
    """(photos, len(VIEWS), classes): each photo's probabilities as it is and as each mirror image."""
    size = engine.manifest["input"]["height"], engine.manifest["input"]["width"]
    rows = []
    for item in tqdm(items, desc="photos", unit="photo", leave=False):
        meta = encode_metadata(engine.manifest, item.age, item.sex, item.site)
        batch = imaging.model_input(imaging.open_photo(item.read(), min(size)).pixels, *size)
        rows.append([engine.probabilities(engine.feature_map(view(batch)), meta)[0][0] for view in VIEWS])
    return np.array(rows)


def candidate_figures(probabilities, dx, classes):
    """{candidate: figures} from {source: view_probabilities} and {source: diagnoses}."""
    malignant = [c["malignant"] for c in classes]
    positive = {s: np.isin(dx[s], [c["code"] for c in classes if c["malignant"]]) for s in dx}
    chosen_by = choosing(positive)
    figures = {}
    for name, views in CANDIDATES.items():
        averaged = {s: p[:, views].mean(axis=1) for s, p in probabilities.items()}
        scores = {s: a[:, malignant].sum(axis=1) for s, a in averaged.items()}
        choosers = {s: scores[s] for s in chosen_by}
        threshold = choose_threshold(choosers, positive)
        held = [rates(cross_validated_referrals(choosers, positive, seed)[HELDOUT], positive[HELDOUT])
                for seed in range(SEEDS)]
        figures[name] = {"runs": len(views), "threshold": threshold, "cross_validated": held[0],
                         "mean_cv_specificity": float(np.mean([h["specificity"] for h in held])),
                         "specificity": {s: rates(scores[s] >= threshold, positive[s])["specificity"] for s in scores},
                         "auc": roc_auc(scores[HELDOUT], positive[HELDOUT]),
                         "melanoma_auc": _melanoma_vs_nevus(averaged[HELDOUT], dx[HELDOUT], classes)}
    return figures


def _melanoma_vs_nevus(probabilities, dx, classes):
    chosen = np.isin(dx, ["mel", "nv"])
    return roc_auc(probabilities[chosen, [c["code"] for c in classes].index("mel")], dx[chosen] == "mel")


def document(figures, sources):
    head = ["views averaged", "backbone runs", "threshold", f"{HELDOUT} cross-validated sensitivity / specificity",
            f"mean over {SEEDS} fold seeds", *(f"{s} specificity at the threshold" for s in sources),
            f"{HELDOUT} AUC, malignant vs benign", f"{HELDOUT} AUC, melanoma vs nevus"]
    rows = [[f"**{name}** (served)" if name == SERVED else name, f["runs"], f"{f['threshold']:.4f}",
             f"{f['cross_validated']['sensitivity']:.3f} / {f['cross_validated']['specificity']:.3f}",
             f"{f['mean_cv_specificity']:.3f}", *(number(f["specificity"][s]) for s in sources),
             f"{f['auc']:.3f}", f"{f['melanoma_auc']:.3f}"] for name, f in figures.items()]
    return "\n".join(header("Flip averaging: which views") + [__doc__.split("\n\n", 2)[2].strip(), ""]
                     + table(head, rows)) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markdown", type=Path, default=ROOT / "docs" / "flip_views.md")
    args = parser.parse_args(argv)
    if HELDOUT not in available_sources():
        sys.exit(f"{HELDOUT} is not here: the referral's figures are measured on it")
    engine = build_engine(with_gate=False)
    items = {s: lesion_items(s) for s in available_sources()}
    probabilities = {s: view_probabilities(engine, i) for s, i in tqdm(items.items(), desc="sets", unit="set")}
    dx = {s: np.array([item.dx for item in i]) for s, i in items.items()}
    text = document(candidate_figures(probabilities, dx, engine.manifest["classes"]), list(items))
    args.markdown.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
