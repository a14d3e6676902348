"""Is this a close-up of a skin lesion? A distance from the photo's mid-level backbone statistics to lesions'.

The backbone also outputs, for a few mid-level layers (Xception's block3_pool, block4_pool and
block7_sepconv3_act for sklesion), each channel's mean and standard deviation over the image: texture and
colour statistics that the last layers, tuned to tell lesions apart, no longer keep. The scope score is their
root-mean-square z-distance from a reference set of lesion photos, averaged over the layers. Softmax
confidence cannot do this (median top probability 0.84 on non-lesion photos against 0.92-0.97 on lesions).
The threshold is the 97th percentile of the reference photos' own scores, each left out of the reference it
is scored against; quantize_model.py stores reference and threshold in the bundle.
"""
import numpy as np

QUANTILE = 0.97


def scope_score(statistics, mean, std, sizes):
    """Mean over layers of the RMS z-distance of `statistics` (..., sum(sizes)) from the reference."""
    z = (np.asarray(statistics, np.float64) - mean) / std
    parts = np.split(z, np.cumsum(sizes)[:-1], axis=-1)
    return np.mean([np.sqrt(np.mean(part ** 2, axis=-1)) for part in parts], axis=0)


def reference_from(statistics):
    """(mean, std) of the reference photos' statistics (n, d); std floored so flat channels don't explode."""
    statistics = np.asarray(statistics, np.float64)
    return statistics.mean(axis=0), statistics.std(axis=0) + 1e-6


def leave_one_out_scores(statistics, sizes):
    """Each reference photo's score against the reference without it."""
    statistics = np.asarray(statistics, np.float64)
    scores = []
    for i in range(len(statistics)):
        mean, std = reference_from(np.delete(statistics, i, axis=0))
        scores.append(float(scope_score(statistics[i], mean, std, sizes)))
    return np.array(scores)


def threshold_from(statistics, sizes, quantile=QUANTILE):
    return float(np.quantile(leave_one_out_scores(statistics, sizes), quantile))
