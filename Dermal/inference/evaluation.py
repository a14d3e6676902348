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
