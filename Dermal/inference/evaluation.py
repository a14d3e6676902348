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


def expected_calibration_error(probs, truth_index, bins=10):
    """Top-1 confidence vs accuracy over `bins` equal-width confidence bins, weighted by the bins' sizes."""
    probs = np.asarray(probs, dtype=np.float64)
    confidence = probs.max(axis=1)
    correct = probs.argmax(axis=1) == np.asarray(truth_index)
    # bin b holds confidences in (b/bins, (b+1)/bins]
    which = np.digitize(confidence, np.linspace(0, 1, bins + 1)[1:-1], right=True)
    gaps = [abs(correct[which == b].mean() - confidence[which == b].mean()) * np.mean(which == b)
            for b in np.unique(which)]
    return float(np.sum(gaps))


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
