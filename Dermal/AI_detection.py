"""DermAI's serving entry point: photo bytes (+ optional age, sex, body site) -> diagnosis and Grad-CAM.

Nothing heavy happens at import: the engine loads on the first call (see inference.engines), and every
call drops its large arrays before returning. Reference counting frees them there and then; a full garbage
collection on top freed nothing more and cost ~30 ms of CPU in a Django worker (0.3 s at Render free's 0.1 CPU).
"""
import math
import os
import time
from dataclasses import asdict, dataclass, field, replace
from functools import cached_property

from PIL import Image

from .inference import imaging, overlay
from .inference.bundle import BundleError, MetadataError, class_infos, encode_metadata
from .inference.calibration import override_entry
from .inference.engines import get_engine
from .inference.imaging import ImageError
from .inference.quality import photo_warnings
from .inference.scope import allowing_for_quality, needs_second_look, not_a_lesion_reasons, second_look
from .inference.switches import flip_average_enabled, gradcam_enabled, model_loaded
from .inference.triage import needs_referral

__all__ = ["predict_skin_simple", "model_loaded", "gradcam_enabled", "flip_average_enabled", "PredictionResult",
           "ImageError", "MetadataError", "BundleError"]

DISPLAY_MAX_SIDE = int(os.environ.get("DERMAI_DISPLAY_MAX_SIDE", 640))


@dataclass
class PredictionResult:
    probabilities: dict          # class code -> probability, in the model's class order
    top_class: str
    top_name: str
    top_probability: float
    top_malignant: bool
    top_description: str
    malignant_probability: float  # the summed probability of the malignant classes
    scope: str | None             # "lesion", "unusual" or "not_a_lesion" (see scope.py); None without a gate
    scope_score: float | None     # log-odds that the photo is not a skin-lesion close-up
    scope_thresholds: dict | None  # {"unusual": ..., "not_a_lesion": ...} on that score, and "natural" on the next
    scope_natural_distance: float | None  # from lesion photos, to a natural-image model (scope.natural_distance)
    scope_reasons: list | None    # why a not_a_lesion photo is one (scope.not_a_lesion_reasons); [] at other levels
    out_of_scope: bool | None     # scope == "not_a_lesion"; nothing is withheld for it
    engine: str
    precision: str
    bundle_version: str            # what answered: source model, bundle date, precision, backbone hash
    gradcam: bool
    flip_average: bool
    referral: bool | None          # malignant probability at or above the referral threshold, whatever the scope
    triage: dict | None            # that threshold with its held-out sensitivity and specificity
    warnings: list                 # QualityWarning(code, message): blur, exposure, size
    heatmap_focus: dict | None     # where the heatmap is warm (overlay.heatmap_focus), when Grad-CAM ran
    overlay_image: Image.Image | None  # the Grad-CAM overlay at display size, when Grad-CAM ran
    photo_jpeg: bytes             # the upright photo at display size, for showing beside the overlay
    image_size: tuple             # (width, height) as decoded and turned upright
    timings: dict = field(default_factory=dict)  # stage -> seconds

    def ranked(self):
        """(code, probability) pairs, most probable first."""
        return sorted(self.probabilities.items(), key=lambda item: item[1], reverse=True)

    def top_three(self):
        return self.ranked()[:3]

    @cached_property
    def overlay_png(self):
        """The overlay, lossless (the API, the batch tool), encoded once on first use; None without Grad-CAM."""
        return self.overlay_image and overlay.png(self.overlay_image)

    @cached_property
    def overlay_jpeg(self):
        """The overlay as the result page shows it, encoded once on first use; None without Grad-CAM."""
        return self.overlay_image and overlay.jpeg(self.overlay_image)

    def summary(self):
        """Everything but the images, JSON-ready."""
        data = asdict(replace(self, overlay_image=None))  # asdict would deep-copy the image
        del data["overlay_image"], data["photo_jpeg"]
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


def predict_skin_simple(image_bytes, age=None, sex=None, site=None, gradcam=None, flip_average=None):
    """Analyse one photo. Raises ImageError (bad upload), MetadataError (bad field) or BundleError."""
    gradcam = gradcam_enabled() if gradcam is None else bool(gradcam)
    flip_average = flip_average_enabled() if flip_average is None else bool(flip_average)
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
    warnings = photo_warnings(batch, image_size)
    clock.lap("preprocess")
    probs, cam, scope = engine.analyse(batch, meta, gradcam, flip_average)
    scope = _served_scope(engine, batch, scope, [warning.code for warning in warnings])
    del batch
    clock.lap("inference")
    heatmap = overlay.blend_heatmap(shown, cam) if cam is not None else None
    photo_jpeg = overlay.jpeg(shown)
    clock.lap("render")
    result = _result(manifest, engine, probs, scope, gradcam=cam is not None, flip_average=flip_average,
                     warnings=warnings, heatmap_focus=overlay.heatmap_focus(cam) if cam is not None else None,
                     overlay_image=heatmap, photo_jpeg=photo_jpeg, image_size=image_size)
    del shown, cam, probs
    result.timings = clock.total()
    return result


def _served_scope(engine, batch, reading, warning_codes):
    """The scope reading as shown, the photo read a second time when that decides its level."""
    again = engine.scope_reading(second_look(batch)) if needs_second_look(reading) else None
    return allowing_for_quality(reading, warning_codes, again)


def _result(manifest, engine, probs, scope, *, flip_average, **rest):
    classes = class_infos(manifest)
    top = max(range(len(classes)), key=lambda i: probs[i])
    malignant = float(sum(p for c, p in zip(classes, probs) if c.malignant))
    triage = triage_for(manifest, engine.precision, flip_average)
    return PredictionResult(
        probabilities={c.code: float(p) for c, p in zip(classes, probs)},
        top_class=classes[top].code,
        top_name=classes[top].name,
        top_probability=float(probs[top]),
        top_malignant=classes[top].malignant,
        top_description=classes[top].description,
        malignant_probability=malignant,
        scope=scope and scope.level,
        scope_score=scope and scope.score,
        scope_thresholds=scope and dict(engine.scope["thresholds"]),
        scope_natural_distance=scope.natural if scope and math.isfinite(scope.natural) else None,
        scope_reasons=scope and not_a_lesion_reasons(scope, engine.scope["thresholds"]),
        out_of_scope=scope and scope.level == "not_a_lesion",
        engine=engine.name,
        precision=engine.precision,
        bundle_version=bundle_version(manifest, engine.precision),
        flip_average=flip_average,
        referral=needs_referral(malignant, triage) if triage else None,
        triage=triage,
        **rest,
    )


def bundle_version(manifest, precision):
    source = manifest["source"]
    backbone = manifest["backbones"].get(precision, {}).get("sha256", "original Keras model")[:12]
    name = " ".join(filter(None, (source.get("package"), source.get("version")))) or source["file"]
    return f"{name}, bundle {manifest['created'][:10]}, {precision} {backbone}"


def triage_for(manifest, precision, flip_average):
    """The referral threshold for this precision and mode: the one calibrated on this deployment's photos when
    DERMAI_REFERRAL_OVERRIDE names a usable file, else the bundle's (None if it has none)."""
    mode = "flip_average" if flip_average else "single"
    triage = manifest["backbones"].get(precision, {}).get("triage") or {}
    return override_entry(mode, precision) or triage.get(mode)
