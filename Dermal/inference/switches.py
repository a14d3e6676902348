"""The environment's switches for the engine, readable without loading it: standard library only, so that
/health/, /memory/ and the forms never pull NumPy, Pillow or LiteRT into a worker that has not analysed yet."""
import os
import sys

from .bundle import BundleError

ENGINES = ("litert", "keras")
_TRUE = {"1", "true", "yes", "on"}


def env_flag(name, default):
    return os.environ.get(name, default).strip().lower() in _TRUE


def gradcam_enabled():
    """ENABLE_GRADCAM (default on): the switch for the heatmap when a caller does not choose."""
    return env_flag("ENABLE_GRADCAM", "true")


def flip_average_enabled():
    """DERMAI_FLIP_AVERAGE (default on): average the photo with itself turned upside down, at 2x the backbone cost.

    On by default because it is what makes the referral useful: at the same sensitivity it clears half as many
    benign lesions again as a single pass (cross-validated, 35% against 23%: docs/EVALUATION.md)."""
    return env_flag("DERMAI_FLIP_AVERAGE", "true")


def engine_name():
    name = (os.environ.get("DERMAL_ENGINE") or "litert").strip().lower()
    if name not in ENGINES:
        raise BundleError(f"DERMAL_ENGINE={name!r} is not one of {', '.join(ENGINES)}")
    return name


def thread_count():
    return max(1, int(os.environ.get("DERMAL_THREADS") or os.environ.get("OMP_NUM_THREADS") or 1))


def model_loaded():
    """Whether the model is in memory, without loading it (the engines module is imported on first load)."""
    engines = sys.modules.get("Dermal.inference.engines")
    return engines is not None and engines.engine_loaded()
