"""Is this a close-up of a skin lesion, and is it like the photos the model learnt from? A graded verdict.

Two measurements of the photo feed one score:
- its distance from dermoscopic lesion photos: the root-mean-square z-distance of a few mid-level backbone
  layers' per-channel means and standard deviations (Xception's block3_pool, block4_pool and
  block7_sepconv3_act for sklesion) from a reference set of lesion photos, averaged over the layers. These
  texture and colour statistics keep what the last layers, tuned to tell lesions apart, no longer do: the
  pooled final features of a cat, a document or a fundus photo sit among lesion photos' (measured);
- six statistics of the model's input: the share of skin-hued pixels, the mean saturation, red over blue,
  colourfulness (Hasler and Suesstrunk), the share of clearly green, blue or purple pixels, and the share of
  pixels on a sharp edge (text, drawn shapes, objects against a background).
A logistic regression, fitted offline on lesion photos of four sources against non-lesion photos (the `trust`
tool), turns them into one score: the log-odds that the photo is not a skin-lesion close-up. Above the
`unusual` threshold the photo is a lesion photo unlike the dermoscopic ones (acral skin, a phone photo, ink):
the answer is shown with a warning; above `not_a_lesion`, or with no colour at all in the pixels not clipped
white (every lesion photo seen has a mean saturation above 0.06 there), it does not look like a skin lesion.
Photo quality is allowed for (allowing_for_quality): a dim photo is `not_a_lesion` only if it still is, and no
nearer a lesion, once brightened (one more backbone run, made only then), and a too-bright or blurry one with
colour is at most unusual. No verdict ever hides the probabilities or the referral: see AI_detection and the
result page.
"""
from typing import NamedTuple

import numpy as np

from .quality import CLIPPED_LEVEL, GREY

LEVELS = ("lesion", "unusual", "not_a_lesion")
# A photo too dark, too bright or blurred has lost some of the colour and texture the gate reads: lesion photos
# so spoiled score as not lesions (trust/spoil_fit.py measures it). So a dim photo, darker than any lesion photo
# seen (the darkest of 248: mean grey 70), is read again brightened and stays `not_a_lesion` only if it is still
# not one, and no nearer one (still_not_a_lesion); a too-bright or blurry photo that keeps some colour is at most
# `unusual`, its quality warning saying why. Colour is judged on the pixels not clipped white, so that a
# washed-out lesion photo is not taken for a colourless one.
LOSSY_WARNINGS = frozenset({"too_dark", "too_bright", "blurry"})
DIM_GREY_LEVEL = 80.0      # below this mean grey level a photo is read again brightened
NORMAL_GREY_LEVEL = 128.0  # ... to this one
GATE_FEATURES = 7   # gate_features: the distance and the first six photo statistics
EDGE_STEP = 40 / 255  # a grey-level step this sharp between neighbouring pixels is an edge


class ScopeReading(NamedTuple):
    level: str          # one of LEVELS
    score: float        # log-odds that the photo is not a skin-lesion close-up
    distance: float     # from the dermoscopic lesion reference (mid-level statistics)
    colourless: bool    # no colour to speak of: not a photo this model can read


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
    """Each reference photo's distance from the reference without it (an honest distance for its members)."""
    statistics = np.asarray(statistics, np.float64)
    scores = []
    for i in range(len(statistics)):
        mean, std = reference_from(np.delete(statistics, i, axis=0))
        scores.append(float(scope_score(statistics[i], mean, std, sizes)))
    return np.array(scores)


def photo_statistics(batch):
    """(skin-hued share, mean saturation, mean red minus blue, colourfulness, other-hued share, sharp-edge
    share, mean saturation of the pixels not clipped white) of a (1, H, W, 3) 0-255 batch."""
    x = np.asarray(batch, np.float32)[0] / 255.0
    red, green, blue = x[..., 0], x[..., 1], x[..., 2]
    high, low = x.max(axis=-1), x.min(axis=-1)
    chroma = high - low
    saturation = chroma / np.maximum(high, 1e-6)
    safe = chroma + 1e-9
    hue = 60 * np.where(high == red, ((green - blue) / safe) % 6,
                        np.where(high == green, (blue - red) / safe + 2, (red - green) / safe + 4))
    skin = ((hue <= 50) | (hue >= 330)) & (saturation > 0.08) & (high > 0.12)
    other = (hue > 70) & (hue < 300) & (saturation > 0.15)
    rg, yb = red - green, (red + green) / 2 - blue
    colourful = np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean())
    grey = x @ GREY
    shown = grey < CLIPPED_LEVEL / 255
    return np.array([skin.mean(), saturation.mean(), (red - blue).mean(), colourful, other.mean(),
                     _sharp_edge_share(grey), saturation[shown].mean() if shown.any() else 0.0], np.float64)


def _sharp_edge_share(grey):
    """Share of pixels whose grey-level gradient exceeds EDGE_STEP: lesion skin is smooth at this scale."""
    rows, columns = np.diff(grey, axis=0)[:, :-1], np.diff(grey, axis=1)[:-1]
    return float((np.hypot(rows, columns) > EDGE_STEP).mean())


def gate_features(distance, photo):
    """The regression's inputs (..., GATE_FEATURES) from distances (...) and photo_statistics (..., 7)."""
    photo = np.asarray(photo, np.float64)
    return np.stack([np.log(distance), photo[..., 0], np.log(photo[..., 1] + 0.01), photo[..., 2],
                     np.log(photo[..., 3] + 0.01), np.log(photo[..., 4] + 0.01), np.log(photo[..., 5] + 0.001)],
                    axis=-1)


def gate_score(features, gate):
    """Log-odds that the photo is not a skin-lesion close-up, from gate_features and the bundle's regression."""
    z = (np.asarray(features, np.float64) - gate["feature_mean"]) / gate["feature_scale"]
    return z @ gate["weights"] + float(gate["intercept"])


def level_of(score, colourless, thresholds):
    if colourless or score > thresholds["not_a_lesion"]:
        return "not_a_lesion"
    return "unusual" if score > thresholds["unusual"] else "lesion"


def grey_level(batch):
    """Mean grey level (0-255) of a (1, H, W, 3) batch."""
    return float((np.asarray(batch, np.float32)[0] @ GREY).mean())


def brightened(batch):
    """A (1, H, W, 3) 0-255 batch scaled to a mean grey level of NORMAL_GREY_LEVEL. Underexposure is close to a
    scaling of the pixel values, so this undoes most of it: lesion photos darkened to 30% read as lesions again."""
    return np.clip(np.asarray(batch, np.float32) * (NORMAL_GREY_LEVEL / max(grey_level(batch), 1.0)), 0, 255)


def needs_brightened_reading(reading, batch):
    """Whether only the photo brightened can tell whether this reading is served as `not_a_lesion`."""
    return (reading is not None and reading.level == "not_a_lesion" and not reading.colourless
            and grey_level(batch) < DIM_GREY_LEVEL)


def still_not_a_lesion(reading, brightened_reading):
    """Whether a dim photo, once brightened, is still not a lesion and no nearer one: then darkness does not
    explain its score. Darkened lesion photos score lower once brightened; the night sky scores higher."""
    return brightened_reading.level == "not_a_lesion" and brightened_reading.score >= reading.score


def allowing_for_quality(reading, warning_codes, brightened_reading=None):
    """The reading as served: `not_a_lesion`, for a photo with some colour, lowered to `unusual` when a too-dark,
    too-bright or blurry warning explains the oddness, or when a dim photo brightened does not confirm it
    (still_not_a_lesion: its darkness is then judged by that reading, not by its warning)."""
    if reading is None or reading.level != "not_a_lesion" or reading.colourless:
        return reading
    explaining = LOSSY_WARNINGS & set(warning_codes)
    if brightened_reading is not None:
        if not still_not_a_lesion(reading, brightened_reading):
            return reading._replace(level="unusual")
        explaining -= {"too_dark"}
    return reading._replace(level="unusual") if explaining else reading


def read_scope(statistics, photo, gate):
    """The ScopeReading of one photo from its backbone statistics (1-D) and photo_statistics."""
    distance = float(scope_score(statistics, gate["mean"], gate["std"], gate["sizes"]))
    score = float(gate_score(gate_features(distance, photo), gate))
    colourless = bool(photo[6] < gate["colourless_saturation"])
    return ScopeReading(level_of(score, colourless, gate["thresholds"]), score, distance, colourless)
