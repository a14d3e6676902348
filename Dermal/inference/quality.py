"""Photo-quality warnings (never rejections), measured on what the model sees: the 254x254 model input.

Thresholds were set on the real photos of ../shared/derm_eval (56) and ../shared/derm_heldout (97), each
well outside what any of those photos reached (Dermal/tests/inference/test_quality.py checks them):
- blur: variance of the Laplacian of the grey model input, scaled by (128 / mean level)^2 so that a dark
  photo is not mistaken for a blurred one; real photos 17.7 at the lowest, a Gaussian blur of 1 model pixel
  brings them to 1.2-3.1 (21 for the most textured of eight tried);
- exposure: mean grey level; real photos 79-213, a photo darkened to 30% falls to 42-56, one brightened
  2x rises to 246-255 with 77-99% of its pixels clipped white (real photos: 17% at most);
- size: a photo whose short side is under the model's input has to be enlarged to be judged.
"""
from dataclasses import dataclass

import numpy as np

from .words import gettext_noop

BLUR_MIN_SHARPNESS = 8.0
DARK_MAX_MEAN = 60.0
BRIGHT_MIN_MEAN = 230.0
BRIGHT_MAX_CLIPPED = 0.35
CLIPPED_LEVEL = 250.0
GREY = np.array([0.299, 0.587, 0.114], np.float32)  # ITU-R 601 luma, as Pillow's "L"


@dataclass(frozen=True)
class QualityWarning:
    code: str
    message: str  # in English, as MESSAGES gives it: the web layer translates it for its reader


# Marked for translation (words.gettext_noop); the message is also its message id.
MESSAGES = {
    "blurry": gettext_noop("The photo looks blurred: the result may be unreliable. Retake it in focus, close to the "
                           "lesion."),
    "too_dark": gettext_noop("The photo is very dark: retake it in good, even light."),
    "too_bright": gettext_noop("The photo is overexposed (washed out): retake it without direct flash or glare."),
    "too_small": gettext_noop("The photo is very small: the model had to enlarge it. Use a closer or larger photo."),
}


def image_statistics(batch):
    """(sharpness, mean grey level, clipped-white fraction) of a (1, H, W, 3) 0-255 model input."""
    grey = batch[0] @ GREY
    level = float(grey.mean())
    laplacian = grey[:-2, 1:-1] + grey[2:, 1:-1] + grey[1:-1, :-2] + grey[1:-1, 2:] - 4 * grey[1:-1, 1:-1]
    sharpness = float(laplacian.var()) * (128.0 / max(level, 1.0)) ** 2
    return sharpness, level, float((grey >= CLIPPED_LEVEL).mean())


def photo_warnings(batch, original_size):
    """The quality warnings for one photo: its model input and its (width, height) as uploaded."""
    sharpness, level, clipped = image_statistics(batch)
    codes = []
    if sharpness < BLUR_MIN_SHARPNESS:
        codes.append("blurry")
    if level < DARK_MAX_MEAN:
        codes.append("too_dark")
    if level > BRIGHT_MIN_MEAN or clipped > BRIGHT_MAX_CLIPPED:
        codes.append("too_bright")
    if min(original_size) < min(batch.shape[1:3]):
        codes.append("too_small")
    return [QualityWarning(code, MESSAGES[code]) for code in codes]
