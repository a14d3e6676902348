"""DermAI's serving entry point: photo bytes (+ optional age, sex, body site) -> diagnosis and Grad-CAM.

Nothing heavy happens at import: the engine loads on the first call (see inference.engines), and every
call drops its large arrays and runs the garbage collector before returning.
"""
import gc
import os
import time
from dataclasses import asdict, dataclass, field

from .inference import imaging, overlay
from .inference.bundle import BundleError, MetadataError, class_infos, encode_metadata
from .inference.engines import engine_loaded, get_engine
from .inference.imaging import ImageError

__all__ = ["predict_skin_simple", "model_loaded", "gradcam_enabled", "PredictionResult",
           "ImageError", "MetadataError", "BundleError"]

DISPLAY_MAX_SIDE = int(os.environ.get("DERMAI_DISPLAY_MAX_SIDE", 640))
_TRUE = {"1", "true", "yes", "on"}


def gradcam_enabled():
    """ENABLE_GRADCAM (default on): the switch for the heatmap when a caller does not choose."""
    return os.environ.get("ENABLE_GRADCAM", "true").strip().lower() in _TRUE


def model_loaded():
    """Whether the model is in memory, without loading it."""
    return engine_loaded()


@dataclass
class PredictionResult:
    probabilities: dict          # class code -> probability, in the model's class order
    top_class: str
    top_name: str
    top_probability: float
    top_malignant: bool
    top_description: str
    malignant_probability: float  # the summed probability of the malignant classes
    engine: str
    precision: str
    gradcam: bool
    overlay_png: bytes | None     # the Grad-CAM overlay, when Grad-CAM ran
    photo_jpeg: bytes             # the upright photo at display size, for showing beside the overlay
    image_size: tuple             # (width, height) as decoded and turned upright
    timings: dict = field(default_factory=dict)  # stage -> seconds

    def ranked(self):
        """(code, probability) pairs, most probable first."""
        return sorted(self.probabilities.items(), key=lambda item: item[1], reverse=True)

    def summary(self):
        """Everything but the image bytes, JSON-ready."""
        data = asdict(self)
        del data["overlay_png"], data["photo_jpeg"]
        data["image_size"] = list(self.image_size)
        return data


class _Stopwatch:
    def __init__(self):
        self.timings, self._start = {}, time.perf_counter()
        self._last = self._start

    def lap(self, stage):
        now = time.perf_counter()
        self.timings[stage] = round(now - self._last, 4)
        self._last = now

    def total(self):
        self.timings["total"] = round(time.perf_counter() - self._start, 4)
        return self.timings


def predict_skin_simple(image_bytes, age=None, sex=None, site=None, gradcam=None):
    """Analyse one photo. Raises ImageError (bad upload), MetadataError (bad field) or BundleError."""
    gradcam = gradcam_enabled() if gradcam is None else bool(gradcam)
    clock = _Stopwatch()
    engine = get_engine()
    clock.lap("load")
    manifest = engine.manifest
    height, width = manifest["input"]["height"], manifest["input"]["width"]
    meta = encode_metadata(manifest, age, sex, site)
    pixels, image_size = imaging.open_photo(image_bytes, min(height, width))
    batch = imaging.model_input(pixels, height, width)
    shown = imaging.display_copy(pixels, DISPLAY_MAX_SIDE)
    del pixels
    clock.lap("preprocess")
    probs, cam = engine.analyse(batch, meta, gradcam)
    del batch
    clock.lap("inference")
    overlay_png = overlay.overlay_png(shown, cam) if cam is not None else None
    photo_jpeg = overlay.photo_jpeg(shown)
    clock.lap("render")
    result = _result(manifest, engine, probs, gradcam and cam is not None, overlay_png, photo_jpeg, image_size)
    del shown, cam, probs
    gc.collect()
    result.timings = clock.total()
    return result


def _result(manifest, engine, probs, gradcam, overlay_png, photo_jpeg, image_size):
    classes = class_infos(manifest)
    top = max(range(len(classes)), key=lambda i: probs[i])
    return PredictionResult(
        probabilities={c.code: float(p) for c, p in zip(classes, probs)},
        top_class=classes[top].code,
        top_name=classes[top].name,
        top_probability=float(probs[top]),
        top_malignant=classes[top].malignant,
        top_description=classes[top].description,
        malignant_probability=float(sum(p for c, p in zip(classes, probs) if c.malignant)),
        engine=engine.name,
        precision=engine.precision,
        gradcam=gradcam,
        overlay_png=overlay_png,
        photo_jpeg=photo_jpeg,
        image_size=image_size,
    )
