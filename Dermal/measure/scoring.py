"""The evaluation's figures from the results table of labelled photos: JSON-ready, drawn by figures.py and
written by report.py. Proportions carry Wilson 95% intervals (honest for small counts); the AUC and the
referral's sensitivity and specificity carry bootstrap 95% intervals."""
import numpy as np

from Dermal.inference import evaluation as ev

MELANOMA, NEVUS = "mel", "nv"
WIDE_INTERVAL = 0.4   # an interval wider than this is flagged: too few photos for the figure to mean much
MOST_WRONG = 8        # photos shown as "the model got these most wrong"


def _probabilities(rows, classes):
    return np.array([[float(r[f"p_{c}"]) for c in classes] for r in rows])


def _share(hits, trials):
    interval = ev.wilson_interval(hits, trials)
    return {"value": hits / trials if trials else None, "hits": int(hits), "count": int(trials),
            "interval": interval, "wide": interval is not None and interval[1] - interval[0] > WIDE_INTERVAL}


def per_class(truth, predicted, classes):
    """class -> recall (of its photos) and precision (of the predictions of it), with counts and intervals."""
    matrix = ev.confusion_matrix(truth, predicted, classes)
    return {c: {"photos": int(matrix[i].sum()), "recall": _share(matrix[i, i], matrix[i].sum()),
                "precision": _share(matrix[i, i], matrix[:, i].sum())} for i, c in enumerate(classes)}


def melanoma_vs_nevus(probs, truth, classes, rounds):
    """ROC of P(melanoma) between the melanoma and nevus photos, its AUC and bootstrap 95% interval."""
    chosen = np.isin(truth, [MELANOMA, NEVUS])
    positive = np.asarray(truth)[chosen] == MELANOMA
    if positive.all() or not positive.any():
        return None
    scores = probs[chosen, classes.index(MELANOMA)]
    fpr, tpr = ev.roc_curve(scores, positive)
    return {"melanomas": int(positive.sum()), "nevi": int((~positive).sum()), "auc": ev.roc_auc(scores, positive),
            "interval": ev.bootstrap_auc_interval(scores, positive, rounds=rounds), "fpr": fpr, "tpr": tpr}


def referral(rows, malignant, rounds):
    """Sensitivity and specificity of the referral as it was given (at the threshold in use), bootstrap 95%."""
    flagged = np.array([r["referral"] == "True" for r in rows])
    positive = np.array([r["dx"] in malignant for r in rows])
    thresholds = sorted({float(r["referral_threshold"]) for r in rows if r["referral_threshold"]})
    figures = {"threshold": thresholds[0] if len(thresholds) == 1 else thresholds,
               "malignant": int(positive.sum()), "benign": int((~positive).sum())}
    for name, group, hit in (("sensitivity", positive, flagged), ("specificity", ~positive, ~flagged)):
        figures[name] = float(hit[group].mean()) if group.any() else None
        figures[f"{name}_interval"] = ev.bootstrap_rate_interval(hit[group], rounds) if group.any() else None
    return figures


def scope_shares(rows):
    """verdict -> (count, share) of the photos analysed."""
    verdicts = [r["scope"] or "unknown" for r in rows]
    return {v: {"count": verdicts.count(v), "share": verdicts.count(v) / len(rows)} for v in sorted(set(verdicts))}


def most_wrong(rows, probs, truth, classes, count=MOST_WRONG):
    """The wrongly classified photos with the lowest probability on their true class."""
    on_truth = probs[np.arange(len(rows)), [classes.index(t) for t in truth]]
    wrong = [i for i in np.argsort(on_truth, kind="stable") if rows[i]["top_class"] != truth[i]]
    return [{"path": rows[i]["path"], "image_id": rows[i]["image_id"], "dx": truth[i],
             "top_class": rows[i]["top_class"], "p_true": float(on_truth[i]),
             "top_probability": float(rows[i]["top_probability"])} for i in wrong[:count]]


def evaluate(rows, class_info, rounds=2000):
    """Every figure of the report from the table's labelled rows (rows that failed are counted, not scored)."""
    classes = [c.code for c in class_info]
    malignant = {c.code for c in class_info if c.malignant}
    failed = [{"path": r["path"], "error": r["error"]} for r in rows if r["error"]]
    rows = [r for r in rows if not r["error"]]
    if not rows:
        raise ValueError("no photo could be analysed: nothing to evaluate")
    truth, predicted = [r["dx"] for r in rows], [r["top_class"] for r in rows]
    probs = _probabilities(rows, classes)
    present = [c for c in classes if c in truth]
    by_class = per_class(truth, predicted, classes)
    return {
        "photos": len(rows), "failed": failed, "classes": classes,
        "counts": {c: truth.count(c) for c in present},
        "accuracy": _share(sum(t == p for t, p in zip(truth, predicted)), len(rows)),
        "balanced_accuracy": ev.balanced_accuracy(truth, predicted),
        "per_class": by_class,
        "confusion": ev.confusion_matrix(truth, predicted, classes).tolist(),
        "melanoma_vs_nevus": melanoma_vs_nevus(probs, truth, classes, rounds),
        "reliability": ev.reliability_bins(probs, [classes.index(t) for t in truth]),
        "expected_calibration_error": ev.expected_calibration_error(probs, [classes.index(t) for t in truth]),
        "referral": referral(rows, malignant, rounds),
        "scope": scope_shares(rows),
        "flip_average": rows[0]["flip_average"] == "True",
        "most_wrong": most_wrong(rows, probs, truth, classes),
        "small_classes": [c for c in present if by_class[c]["recall"]["wide"]],
    }
