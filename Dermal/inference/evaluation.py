"""Classification figures shared by the bundle validation, the evaluation report and the tests."""
import numpy as np


def accuracy(truth, predicted):
    return float(np.mean(np.asarray(truth) == np.asarray(predicted)))


def balanced_accuracy(truth, predicted):
    """Mean recall over the classes present in `truth`."""
    truth, predicted = np.asarray(truth), np.asarray(predicted)
    return float(np.mean([np.mean(predicted[truth == c] == c) for c in np.unique(truth)]))


def agreement(probs_a, probs_b):
    """(top-1 agreement, largest absolute probability difference) of two (n, classes) arrays."""
    a, b = np.asarray(probs_a), np.asarray(probs_b)
    return float(np.mean(a.argmax(1) == b.argmax(1))), float(np.abs(a - b).max())


def confusion_matrix(truth, predicted, classes):
    """Counts (len(classes), len(classes)): row = true class, column = predicted class, in `classes` order."""
    index = {code: i for i, code in enumerate(classes)}
    matrix = np.zeros((len(classes), len(classes)), dtype=int)
    for true, guess in zip(truth, predicted):
        matrix[index[true], index[guess]] += 1
    return matrix


def _diagonal_shares(matrix, classes, axis):
    totals = matrix.sum(axis=axis)
    return {code: float(matrix[i, i] / totals[i]) if totals[i] else None for i, code in enumerate(classes)}


def per_class_recall(truth, predicted, classes):
    """class -> share of its images predicted as it; None for a class with no image."""
    return _diagonal_shares(confusion_matrix(truth, predicted, classes), classes, axis=1)


def per_class_precision(truth, predicted, classes):
    """class -> share of the predictions of it that are right; None for a class never predicted."""
    return _diagonal_shares(confusion_matrix(truth, predicted, classes), classes, axis=0)


def sensitivity(truth, predicted, positive="mel"):
    """Share of the `positive` images whose top-1 class is `positive` (melanoma sensitivity by default)."""
    truth, predicted = np.asarray(truth), np.asarray(predicted)
    chosen = truth == positive
    return float(np.mean(predicted[chosen] == positive)) if chosen.any() else None


def reliability_bins(probs, truth_index, bins=10):
    """Top-1 confidence vs accuracy per equal-width confidence bin (the reliability diagram): one dict per
    non-empty bin with its bounds, photo count, mean confidence and accuracy."""
    probs = np.asarray(probs, dtype=np.float64)
    confidence = probs.max(axis=1)
    correct = probs.argmax(axis=1) == np.asarray(truth_index)
    # bin b holds confidences in (b/bins, (b+1)/bins]
    which = np.digitize(confidence, np.linspace(0, 1, bins + 1)[1:-1], right=True)
    return [{"low": b / bins, "high": (b + 1) / bins, "count": int(np.sum(which == b)),
             "confidence": float(confidence[which == b].mean()), "accuracy": float(correct[which == b].mean())}
            for b in map(int, np.unique(which))]


def expected_calibration_error(probs, truth_index, bins=10):
    """Top-1 confidence vs accuracy over `bins` equal-width confidence bins, weighted by the bins' sizes."""
    cells = reliability_bins(probs, truth_index, bins)
    total = sum(cell["count"] for cell in cells)
    return float(sum(abs(c["accuracy"] - c["confidence"]) * c["count"] / total for c in cells))


def wilson_interval(successes, trials, z=1.959964):
    """Wilson score 95% interval of a proportion: honest for small counts (1 of 1 is [0.21, 1], not [1, 1]);
    None without trials."""
    if not trials:
        return None
    share = successes / trials
    centre = (share + z * z / (2 * trials)) / (1 + z * z / trials)
    half = z * np.sqrt(share * (1 - share) / trials + z * z / (4 * trials * trials)) / (1 + z * z / trials)
    return float(max(0.0, centre - half)), float(min(1.0, centre + half))


def bootstrap_rate_interval(hits, rounds=2000, level=0.95, seed=0):
    """Percentile bootstrap interval of the share of True in `hits` (e.g. malignant photos flagged)."""
    hits = np.asarray(hits, dtype=bool)
    if not len(hits):
        return None
    rng = np.random.default_rng(seed)
    rates = rng.choice(hits, (rounds, len(hits))).mean(axis=1)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(rates, [tail, 100 - tail])
    return float(low), float(high)


def roc_curve(scores, positive):
    """(false positive rates, true positive rates) at every distinct score used as a threshold (score >=
    threshold is positive), from (0, 0) to (1, 1)."""
    scores, positive = np.asarray(scores, dtype=np.float64), np.asarray(positive, dtype=bool)
    order = np.argsort(-scores, kind="mergesort")
    ranked, hits = scores[order], positive[order]
    last = np.r_[np.flatnonzero(np.diff(ranked)), len(ranked) - 1]  # the last photo of each distinct score
    tpr = np.cumsum(hits)[last] / hits.sum()
    fpr = np.cumsum(~hits)[last] / (~hits).sum()
    return [0.0, *map(float, fpr)], [0.0, *map(float, tpr)]


def average_ranks(values):
    """1-based ranks of `values`, tied values sharing the mean of their ranks."""
    values = np.asarray(values, dtype=np.float64)
    ranks = np.empty(len(values))
    ranks[np.argsort(values, kind="mergesort")] = np.arange(1, len(values) + 1)
    _, group, counts = np.unique(values, return_inverse=True, return_counts=True)
    return (np.bincount(group, weights=ranks) / counts)[group]


def roc_auc(scores, positive):
    """Area under the ROC curve, rank-based (Mann-Whitney U): the chance a positive outscores a negative,
    ties counting half. Raises ValueError unless both positives and negatives are present."""
    positive = np.asarray(positive, dtype=bool)
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    if not n_pos or not n_neg:
        raise ValueError("the AUC needs at least one positive and one negative")
    rank_sum = average_ranks(scores)[positive].sum()
    return float((rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def bootstrap_auc_interval(scores, positive, rounds=2000, level=0.95, seed=0):
    """Percentile bootstrap interval of roc_auc. Positives and negatives are resampled separately (stratified),
    so every resample keeps the set's class balance and has both kinds."""
    scores, positive = np.asarray(scores, dtype=np.float64), np.asarray(positive, dtype=bool)
    pos, neg = scores[positive], scores[~positive]
    labels = np.r_[np.ones(len(pos), bool), np.zeros(len(neg), bool)]
    rng = np.random.default_rng(seed)
    aucs = [roc_auc(np.r_[rng.choice(pos, len(pos)), rng.choice(neg, len(neg))], labels) for _ in range(rounds)]
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(aucs, [tail, 100 - tail])
    return float(low), float(high)
