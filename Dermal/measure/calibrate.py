"""Choosing the referral threshold on a deployment's own labelled photos, and the override file holding it.

At least MIN_MALIGNANT malignant and MIN_BENIGN benign photos are required. Why 20: a sensitivity is only as
precise as the count of malignant photos it is measured on. With 20, a 90% target means catching 18, and the
95% interval of 18/20 (Wilson) is 0.70-0.97; with 10 it is 0.60-0.98 for 9/10 and with 5 the target cannot
even be told from catching all. Under 20 the interval is too wide to say whether the target is met; the
same holds for specificity and the benign photos.
"""
import datetime
import json
import os
from pathlib import Path

import numpy as np

from Dermal.inference import evaluation as ev
from Dermal.inference.triage import threshold_for_sensitivity

MIN_MALIGNANT = 20
MIN_BENIGN = 20


class TooFewCases(ValueError):
    """Not enough malignant or benign photos for the threshold's interval to mean anything."""


def check_counts(positive):
    malignant, benign = int(np.sum(positive)), int(np.sum(~np.asarray(positive, bool)))
    if malignant < MIN_MALIGNANT or benign < MIN_BENIGN:
        raise TooFewCases(
            f"{malignant} malignant and {benign} benign photos analysed: calibrating needs at least "
            f"{MIN_MALIGNANT} of each (below that, the 95% interval of the sensitivity spans more than 0.3, too "
            "wide to tell whether the target is met). Add labelled photos, or keep the bundle's threshold.")


def interval_at(scores, positive, threshold, rounds, seed=0):
    """Bootstrap 95% intervals of sensitivity and specificity at a fixed threshold."""
    flagged = scores >= threshold
    return (ev.bootstrap_rate_interval(flagged[positive], rounds, seed=seed),
            ev.bootstrap_rate_interval(~flagged[~positive], rounds, seed=seed + 1))


def calibrate(scores, positive, *, target, source, precision, rounds=2000, today=None):
    """The override entry of one mode: the bundle triage's keys plus where, when and on how many photos."""
    scores, positive = np.asarray(scores, np.float64), np.asarray(positive, bool)
    check_counts(positive)
    chosen = threshold_for_sensitivity(scores, positive, target)
    sensitivity_ci, specificity_ci = interval_at(scores, positive, chosen["threshold"], rounds)
    day = (today or datetime.date.today()).isoformat()
    figures = {**chosen, "sensitivity_ci": list(sensitivity_ci), "specificity_ci": list(specificity_ci)}
    return {**figures, "target_sensitivity": target, "score": "malignant_probability", "photos": len(scores),
            "source": source, "calibrated_on": day, "images": f"{len(scores)} photos from {source}, calibrated {day}",
            "per_source": {source: {k: v for k, v in figures.items() if k != "threshold"}}, "precision": precision}


def write_override(path, entries):
    """Write {mode: entry} to `path` atomically: a server reading it never sees half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(entries, indent=1) + "\n")
    os.replace(temporary, path)
