"""The referral threshold calibrated on a deployment's own photos (`manage.py calibrate_referral`).

DERMAI_REFERRAL_OVERRIDE names a small JSON file holding, per mode ("single", "flip_average"), the same entry
as the bundle's triage (threshold, sensitivity, specificity, ...) plus where and when it was calibrated. Standard
library only: a web worker reads it without NumPy. A missing or damaged file never stops serving: it is logged
(once per version of the file) and the bundle's own threshold is used. A served entry also names the file it came
from (OVERRIDE_FILE: its base name, never where it lives), for the history.
"""
import functools
import json
import logging
import math
import os
from pathlib import Path

SETTING = "DERMAI_REFERRAL_OVERRIDE"
MODES = ("single", "flip_average")
KEYS = ("threshold", "sensitivity", "specificity", "positives", "negatives", "target_sensitivity", "images",
        "source", "calibrated_on", "photos", "sensitivity_ci", "specificity_ci", "precision")
OVERRIDE_FILE = "override_file"

logger = logging.getLogger("dermai")


def override_path():
    value = os.environ.get(SETTING, "").strip()
    return Path(value) if value else None


def validated(data):
    """The override's {mode: entry}; raises ValueError naming the first thing wrong."""
    if not isinstance(data, dict) or not set(data) & set(MODES):
        raise ValueError(f"it holds no entry for {' or '.join(MODES)}")
    for mode, entry in data.items():
        if mode not in MODES or not isinstance(entry, dict):
            raise ValueError(f"{mode!r} is not a mode with an entry ({', '.join(MODES)})")
        missing = [key for key in KEYS if key not in entry]
        if missing:
            raise ValueError(f"its {mode} entry lacks {', '.join(missing)}")
        threshold = entry["threshold"]
        if not isinstance(threshold, (int, float)) or not math.isfinite(threshold) or not 0 <= threshold <= 1:
            raise ValueError(f"its {mode} threshold {threshold!r} is not a probability")
    return data


def read_override(path):
    """{mode: entry} of an override file; raises OSError or ValueError."""
    return validated(json.loads(Path(path).read_text()))


@functools.lru_cache(maxsize=8)
def _entry(path, _version, mode, precision):
    """Cached per version of the file (mtime and size), so a problem is logged once, not on every analysis."""
    try:
        entry = read_override(path).get(mode)
    except (OSError, ValueError) as exc:
        logger.error("%s=%s is unusable (%s): using the bundle's referral threshold", SETTING, path, exc)
        return None
    if entry is None:
        return None
    if entry["precision"] != precision:
        logger.error("%s=%s was calibrated for the %s model, not %s: using the bundle's referral threshold",
                     SETTING, path, entry["precision"], precision)
        return None
    return {**entry, OVERRIDE_FILE: Path(path).name}


def override_entry(mode, precision):
    """The calibrated entry for `mode` and the serving precision, or None (no override, or not usable)."""
    path = override_path()
    if path is None:
        return None
    try:
        stat = path.stat()
        version = (stat.st_mtime_ns, stat.st_size)
    except OSError:
        version = None
    return _entry(str(path), version, mode, precision)
