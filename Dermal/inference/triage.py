"""Triage, not a verdict: a referral threshold on the summed malignant probability, chosen on held-out photos."""
import numpy as np


def threshold_for_sensitivity(scores, positive, target=0.9):
    """The highest threshold whose sensitivity (score >= threshold among positives) reaches `target`.

    Returns {"threshold", "sensitivity", "specificity", "positives", "negatives"} measured at it.
    """
    scores, positive = np.asarray(scores, np.float64), np.asarray(positive, bool)
    if not positive.any() or positive.all():
        raise ValueError("choosing a threshold needs both positive and negative cases")
    ranked = np.sort(scores[positive])[::-1]
    threshold = float(ranked[int(np.ceil(target * len(ranked))) - 1])
    flagged = scores >= threshold
    return {"threshold": threshold, "sensitivity": float(flagged[positive].mean()),
            "specificity": float((~flagged[~positive]).mean()),
            "positives": int(positive.sum()), "negatives": int((~positive).sum())}


def needs_referral(malignant_probability, triage):
    """Whether to suggest a dermatologist: at or above the bundle's held-out threshold."""
    return malignant_probability >= triage["threshold"]
