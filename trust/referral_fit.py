"""The referral threshold: chosen over every source's malignant lesions, measured by cross-validation.

The rule: for each source with malignant lesions, the highest threshold that refers at least the target share
of them (triage.threshold_for_sensitivity); the threshold is the lowest of those, so that no source falls
short. (derm_eval was probably seen in training: its malignant lesions score near 1, so its own threshold is
high and the held-out photos' decides.) Figures: five-fold cross-validation stratified within each source,
each fold's photos referred by the threshold the other folds chose, with Wilson 95% intervals (what the
result page quotes) and out-of-bag bootstrap ones: the threshold chosen again on photos resampled within each
source (malignant and benign apart) and measured on the photos each resample left out, so that the
threshold's own uncertainty is in them (wider: each round measures about a third of the photos).
"""
import numpy as np

from Dermal.inference.evaluation import bootstrap_auc_interval, roc_auc, wilson_interval
from Dermal.inference.triage import threshold_for_sensitivity

TARGET_SENSITIVITY, FOLDS, BOOTSTRAP_ROUNDS = 0.9, 5, 1000
# A source takes part in choosing the threshold with at least this many malignant lesions; smaller ones (the
# acral and phone sets: 3 and 1) are measured only, since 90% of three lesions is not a figure.
MIN_POSITIVES = 10
# Photos the model probably learnt from: they may help choose, but the figures a result page quotes come from
# the other sources, cross-validated.
SEEN_IN_TRAINING = {"derm_eval"}
MODES = {"single": "single", "flip_average": "flip"}   # bundle mode -> Readings field


def triage_scores(probabilities, classes):
    """{"malignant": summed malignant probability, "melanoma": P(mel)} per photo."""
    malignant = [c["malignant"] for c in classes]
    codes = [c["code"] for c in classes]
    return {"malignant": probabilities[:, malignant].sum(axis=1), "melanoma": probabilities[:, codes.index("mel")]}


def positives(readings, classes):
    return np.isin(readings.dx, [c["code"] for c in classes if c["malignant"]])


def choosing(positive):
    """The sources that choose the threshold: enough malignant lesions, and benign ones too."""
    return [s for s in positive if MIN_POSITIVES <= positive[s].sum() < len(positive[s])]


def choose_threshold(scores, positive, target=TARGET_SENSITIVITY):
    """The lowest of the choosing sources' thresholds ({source: array} each)."""
    return min(threshold_for_sensitivity(scores[s], positive[s], target)["threshold"] for s in scores)


def _fold_of(positive, rng):
    """A fold number per photo, positives and negatives each dealt round-robin in a random order."""
    folds = np.empty(len(positive), int)
    for kind in (True, False):
        where = rng.permutation(np.flatnonzero(positive == kind))
        folds[where] = np.arange(len(where)) % FOLDS
    return folds


def cross_validated_referrals(scores, positive, seed=0):
    """{source: referred (bool per photo)}, each photo judged by a threshold chosen without its fold."""
    rng = np.random.default_rng(seed)
    folds = {s: _fold_of(positive[s], rng) for s in scores}
    referred = {s: np.zeros(len(scores[s]), bool) for s in scores}
    for k in range(FOLDS):
        train = {s: folds[s] != k for s in scores}
        threshold = choose_threshold({s: scores[s][train[s]] for s in scores},
                                     {s: positive[s][train[s]] for s in scores})
        for s in scores:
            referred[s][~train[s]] = scores[s][~train[s]] >= threshold
    return referred


def rates(referred, positive):
    """Sensitivity and specificity (None without such cases) with Wilson intervals and counts."""
    figures = {"positives": int(positive.sum()), "negatives": int((~positive).sum())}
    for name, cases, right in (("sensitivity", positive, referred), ("specificity", ~positive, ~referred)):
        hits, trials = int(right[cases].sum()), int(cases.sum())
        figures[name] = hits / trials if trials else None
        figures[f"{name}_ci"] = list(wilson_interval(hits, trials) or ()) or None
    return figures


def _resampled(positive, rng):
    """A bootstrap sample's indices, malignant and benign drawn apart so that each keeps the source's balance."""
    return np.concatenate([rng.choice(np.flatnonzero(positive == kind), int(np.sum(positive == kind)))
                           for kind in (True, False)])


def _out_of_bag_rates(scores, positive, quoted, rng):
    """(sensitivity, specificity) over the quoted sources' photos a bootstrap sample left out, referred by the
    threshold chosen on the sample."""
    picks = {s: _resampled(positive[s], rng) for s in scores}
    threshold = choose_threshold({s: scores[s][picks[s]] for s in scores}, {s: positive[s][picks[s]] for s in scores})
    left = {s: np.setdiff1d(np.arange(len(scores[s])), picks[s]) for s in quoted}
    found = np.concatenate([scores[s][left[s]] >= threshold for s in quoted])
    malignant = np.concatenate([positive[s][left[s]] for s in quoted])
    return found[malignant].mean(), (~found[~malignant]).mean()


def cross_validated_rates(scores, positive, quoted, rounds=BOOTSTRAP_ROUNDS, seed=0):
    """Cross-validated sensitivity and specificity over the `quoted` sources, with Wilson and bootstrap 95%
    intervals (`<rate>_ci`, `<rate>_bootstrap_ci`)."""
    held = cross_validated_referrals(scores, positive, seed)
    figures = rates(np.concatenate([held[s] for s in quoted]), np.concatenate([positive[s] for s in quoted]))
    rng = np.random.default_rng(seed)
    samples = np.array([_out_of_bag_rates(scores, positive, quoted, rng) for _ in range(rounds)])
    low, high = np.nanpercentile(samples, [2.5, 97.5], axis=0)
    figures["sensitivity_bootstrap_ci"] = [float(low[0]), float(high[0])]
    figures["specificity_bootstrap_ci"] = [float(low[1]), float(high[1])]
    return figures


def score_comparison(scores_by_source, positive):
    """AUC (malignant vs benign) of each triage score per source, with bootstrap 95% intervals."""
    return {s: {name: {"auc": roc_auc(values, positive[s]), "ci": list(bootstrap_auc_interval(values, positive[s]))}
                for name, values in scores.items()}
            for s, scores in scores_by_source.items() if 0 < positive[s].sum() < len(positive[s])}


def fit_triage(lesions, classes):
    """Per mode: the bundle's triage entry (threshold chosen on every source) with cross-validated figures."""
    positive = {s: positives(r, classes) for s, r in lesions.items()}
    chosen_by = choosing(positive)
    entries = {}
    for mode, field in MODES.items() if chosen_by else ():  # no entry without a source that can choose
        scores = {s: triage_scores(getattr(lesions[s], field), classes)["malignant"] for s in lesions}
        choosers = {s: scores[s] for s in chosen_by}
        threshold = choose_threshold(choosers, positive)
        quoted = [s for s in chosen_by if s not in SEEN_IN_TRAINING] or chosen_by
        measured = cross_validated_rates(choosers, positive, quoted)
        entries[mode] = {"threshold": threshold, **measured, "target_sensitivity": TARGET_SENSITIVITY,
                         "score": "malignant_probability",
                         "images": " + ".join(f"{s} ({len(scores[s])} photos)" for s in chosen_by),
                         "measured_on": f"{' + '.join(quoted)}, cross-validated: each photo referred by a "
                                        "threshold chosen without it",
                         "per_source": {s: rates(scores[s] >= threshold, positive[s]) for s in scores},
                         "cross_validated": {s: cross_validated_rates(choosers, positive, [s]) for s in chosen_by}}
    return entries
