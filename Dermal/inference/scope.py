"""Is this a close-up of a skin lesion, and is it like the photos the model learnt from? A graded verdict.

Two measurements of the photo feed one score, and a third can overrule it:
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
the answer is shown with a warning; above `not_a_lesion` it does not look like a skin lesion, and so whatever its
score with no colour at all in the pixels not clipped white (every lesion photo seen has a mean saturation above
0.06 there), mostly vividly green, blue or purple, or noise (read_scope).
The third: a model that knows natural images (ImageNet EfficientNet-Lite0, natural.py) sees cats, coffee cups and
microscopy far from lesion photos where the skin-lesion backbone does not. A photo whose pooled features are
farther from their NEIGHBOURS nearest dermoscopic lesion photos (cosine) than any lesion photo of four sources,
plus the step a source new to the others took beyond them, is not a lesion whatever its score (natural_distance).
Exposure does not take a lesion photo so far (measured: darkened or washed out, none of 248 did), so no too-dark or
too-bright warning excuses it; blur can, and does.
Photo quality is allowed for (allowing_for_quality): a photo is `not_a_lesion` only if it still is at a second
look (one more backbone run, made only then): brightened if it is dim, and then no nearer a lesion; colour-balanced
otherwise, which undoes a white-balance cast. A too-bright or blurry one with colour is at most unusual; unless no
badly taken lesion photo could look like it (unexplained_by_quality). No verdict ever hides the probabilities or
the referral: see AI_detection and the result page.
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
# washed-out lesion photo is not taken for a colourless one. A white-balance cast (a blue or warm tint) spoils a
# photo without any warning: so a photo that is not dim is read again with its channels scaled to the lesion
# photos' mean colour, which undoes a cast exactly, and stays `not_a_lesion` only if it still is.
# Yet light and focus change how bright and sharp a photo is, not what it shows: a photo mostly of vividly green,
# blue or purple pixels (lesion photos: 3.5% at most of 248, 18% under a strong blue colour cast: red 0.8x, blue
# 1.2x), or one whose colours are a smooth plane to within JPEG noise (flat colours, gradients: lesion photos
# darkened, washed out or blurred keep at least 2 grey levels of detail) is not a lesion photo however badly taken.
# Each bar is about twice as far from the lesion photos as the farthest of them (trust/spoil_fit.py reports both).
# So is that of noise: neighbouring pixels of a photo of anything have correlated grey levels (lesion photos: 0.66
# at least of 248, 0.56 washed out), those of noise none. And a chart, a table or a form drawn on a screen is ruled
# with thin lines straight to the pixel across much of the frame, both ways (about 3/4 of a row and of a column);
# no photo's lines are so straight (lesion photos: 0.17 at most of 248, washed out included; grass 0.24): so a
# ruled photo's quality warning does not excuse it, though only its score or the natural distance can make it
# `not_a_lesion`.
EXPOSURE_WARNINGS = frozenset({"too_dark", "too_bright"})  # they never take the natural distance past its bar
LOSSY_WARNINGS = EXPOSURE_WARNINGS | {"blurry"}
UNLIKE_SKIN_SHARE = 0.35   # share of vividly green, blue or purple pixels above which a photo is unlike skin
FEATURELESS_DETAIL = 1.0   # grey levels of detail beyond a plane under which a photo shows nothing
NOISE_STRUCTURE = 0.3      # neighbouring pixels' grey-level correlation under which a photo is noise
RULED = 0.5                # share of a row and of a column on one thin dark line above which a photo was drawn
LINE_DEPTH = 0.1           # a pixel this much darker (grey, 0-1) than those just beyond it on both sides is on a line
DIM_GREY_LEVEL = 80.0      # below this mean grey level a photo is read again brightened
NORMAL_GREY_LEVEL = 128.0  # ... to this one
LESION_MEAN_COLOUR = np.array([183.7, 140.6, 135.0])  # mean RGB of the 153 dermoscopic photos' model inputs
GATE_FEATURES = 7   # gate_features: the distance and the first six photo statistics
NEIGHBOURS = 5      # natural_distance: nearest lesion photos averaged
EDGE_STEP = 40 / 255  # a grey-level step this sharp between neighbouring pixels is an edge


class ScopeReading(NamedTuple):
    level: str          # one of LEVELS
    score: float        # log-odds that the photo is not a skin-lesion close-up
    distance: float     # from the dermoscopic lesion reference (mid-level statistics)
    plainly_not_skin: str  # "" or why it is plainly not skin, whatever its score: no_colour, unlike_skin or noise
    unexplained_by_quality: bool  # no badly taken lesion photo looks like it (allowing_for_quality)
    dim: bool           # darker than any lesion photo seen: its second look is brightened
    natural: float = float("nan")  # natural_distance from the dermoscopic photos (NaN: no natural-image model)
    beyond_natural: bool = False   # natural above its threshold: farther than any lesion photo, however exposed


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
    share, mean saturation of the pixels not clipped white, vividly green-blue-purple share, detail beyond a
    plane, mean grey level 0-255, neighbouring pixels' grey-level correlation, ruled-line share) of a
    (1, H, W, 3) 0-255 batch, H and W at least 5."""
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
    unlike_skin = (hue > 70) & (hue < 300) & (saturation > 0.5) & (high > 0.15)  # dark pixels' hues are noise
    grey = x @ GREY
    shown = grey < CLIPPED_LEVEL / 255
    return np.array([skin.mean(), saturation.mean(), (red - blue).mean(), colourful, other.mean(),
                     _sharp_edge_share(grey), saturation[shown].mean() if shown.any() else 0.0, unlike_skin.mean(),
                     _detail_beyond_a_plane(x, float(grey.mean())), 255 * float(grey.mean()),
                     _neighbour_correlation(grey), _ruled_line_share(grey)], np.float64)


def _neighbour_correlation(grey):
    """Mean correlation of each pixel's grey level with its right and lower neighbours': near 1 for a photo of
    anything at this scale, near 0 for noise; 1 for a flat image, whose neighbours are alike (it is featureless)."""
    centred = grey - grey.mean()
    pairs = ((centred[:, 1:], centred[:, :-1]), (centred[1:], centred[:-1]))
    return float(np.mean([_correlation(a, b) for a, b in pairs]))


def _correlation(a, b):
    spread = np.sqrt(np.mean(a * a) * np.mean(b * b))
    return np.mean(a * b) / spread if spread > 1e-12 else 1.0


def _ruled_line_share(grey):
    """The lesser of the largest share of any row, and of any column, on a thin dark line along it (1 to 3 pixels
    across, LINE_DEPTH darker than the pixels just beyond it on both sides): near 3/4 for a chart's axes."""
    return min(_line_share_of_rows(grey), _line_share_of_rows(grey.T))


def _line_share_of_rows(grey):
    one_across = np.minimum(grey[:-2], grey[2:]) - grey[1:-1]
    three_across = np.minimum(grey[:-4], grey[4:]) - grey[2:-2]
    on_a_line = np.maximum(one_across[1:-1], three_across) > LINE_DEPTH
    return float(on_a_line.mean(axis=1).max())


def _detail_beyond_a_plane(x, grey_level):
    """RMS deviation (0-255 levels) of the colours from the plane that fits them best, as at a normal exposure
    for a dim photo: near 0 for flat colours and gradients, whatever their blur. On a full pixel grid the centred
    row and column indices are orthogonal, so each slope of the least-squares plane is a plain projection."""
    centred = x - x.mean(axis=(0, 1))
    rows = np.arange(x.shape[0], dtype=np.float32) - (x.shape[0] - 1) / 2
    columns = np.arange(x.shape[1], dtype=np.float32) - (x.shape[1] - 1) / 2
    row_slope = rows @ centred.mean(axis=1) / (rows @ rows)
    column_slope = columns @ centred.mean(axis=0) / (columns @ columns)
    centred -= rows[:, None, None] * row_slope + columns[None, :, None] * column_slope
    gain = max(1.0, (NORMAL_GREY_LEVEL / 255) / max(grey_level, 1 / 255))
    return float(np.sqrt(np.mean(np.square(centred, out=centred))) * 255 * gain)


def _sharp_edge_share(grey):
    """Share of pixels whose grey-level gradient exceeds EDGE_STEP: lesion skin is smooth at this scale."""
    rows, columns = np.diff(grey, axis=0)[:, :-1], np.diff(grey, axis=1)[:-1]
    return float((np.hypot(rows, columns) > EDGE_STEP).mean())


def gate_features(distance, photo):
    """The regression's inputs (..., GATE_FEATURES) from distances (...) and the first six photo_statistics."""
    photo = np.asarray(photo, np.float64)
    return np.stack([np.log(distance), photo[..., 0], np.log(photo[..., 1] + 0.01), photo[..., 2],
                     np.log(photo[..., 3] + 0.01), np.log(photo[..., 4] + 0.01), np.log(photo[..., 5] + 0.001)],
                    axis=-1)


def gate_score(features, gate):
    """Log-odds that the photo is not a skin-lesion close-up, from gate_features and the bundle's regression."""
    z = (np.asarray(features, np.float64) - gate["feature_mean"]) / gate["feature_scale"]
    return z @ gate["weights"] + float(gate["intercept"])


def natural_distance(features, reference, leave_self_out=False):
    """1 minus the mean cosine similarity of each row of `features` (n, d) to its NEIGHBOURS nearest `reference`
    rows; with leave_self_out the features are the reference rows and none is its own neighbour."""
    def unit_rows(x):
        x = np.asarray(x, np.float64)
        return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)

    similarity = unit_rows(features) @ unit_rows(reference).T
    if leave_self_out:
        np.fill_diagonal(similarity, -np.inf)
    neighbours = min(NEIGHBOURS, similarity.shape[1] - int(leave_self_out))
    return 1 - np.sort(similarity, axis=1)[:, -neighbours:].mean(axis=1)


def level_of(score, plainly_not_skin, thresholds, natural=float("nan")):
    """The level of a gate score; a photo plainly not of skin (plainly_not_skin), or farther from the lesion photos
    in what the natural-image model sees than any lesion photo that chose the threshold, is not a lesion whatever
    its score."""
    if plainly_not_skin or score > thresholds["not_a_lesion"] or natural > thresholds.get("natural", np.inf):
        return "not_a_lesion"
    return "unusual" if score > thresholds["unusual"] else "lesion"


def grey_level(batch):
    """Mean grey level (0-255) of a (1, H, W, 3) batch."""
    return float((np.asarray(batch, np.float32)[0] @ GREY).mean())


def brightened(batch):
    """A (1, H, W, 3) 0-255 batch scaled to a mean grey level of NORMAL_GREY_LEVEL. Underexposure is close to a
    scaling of the pixel values, so this undoes most of it: lesion photos darkened to 30% read as lesions again."""
    return np.clip(np.asarray(batch, np.float32) * (NORMAL_GREY_LEVEL / max(grey_level(batch), 1.0)), 0, 255)


def colour_balanced(batch):
    """A (1, H, W, 3) 0-255 batch with each channel scaled so that its mean is LESION_MEAN_COLOUR's: a colour
    cast is a scaling of the channels, so this undoes it (and the exposure with it)."""
    batch = np.asarray(batch, np.float32)
    means = batch[0].reshape(-1, 3).mean(axis=0)
    return np.clip(batch * (LESION_MEAN_COLOUR / np.maximum(means, 1.0)).astype(np.float32), 0, 255)


def second_look(batch):
    """The photo as read a second time: brightened if dim, colour-balanced otherwise."""
    return brightened(batch) if grey_level(batch) < DIM_GREY_LEVEL else colour_balanced(batch)


def needs_second_look(reading):
    """Whether how the photo was taken could explain this reading's `not_a_lesion`: only then do a second look
    (second_look) and the quality warnings decide how it is served."""
    return reading is not None and reading.level == "not_a_lesion" and not reading.unexplained_by_quality


def still_not_a_lesion(reading, second_reading):
    """Whether the photo, at its second look, is still not a lesion; a dim one also no nearer one, for darkness
    loses detail that brightening cannot restore: darkened lesion photos score lower once brightened, yet not
    always under the bar; the night sky scores higher. A colour cast loses nothing, so balanced it decides."""
    still = second_reading.level == "not_a_lesion"
    return (still and second_reading.score >= reading.score) if reading.dim else still


def allowing_for_quality(reading, warning_codes, second_reading=None):
    """The reading as served: `not_a_lesion`, for a photo with some colour, lowered to `unusual` when a too-dark,
    too-bright or blurry warning explains the oddness, or when its second look does not confirm it
    (still_not_a_lesion: its darkness is then judged by that look, not by its warning). A photo no badly taken
    lesion photo looks like keeps its `not_a_lesion`, and so does one beyond the natural distance's bar unless it
    is blurry."""
    if not needs_second_look(reading):
        return reading
    explaining = LOSSY_WARNINGS & set(warning_codes)
    if reading.beyond_natural:
        explaining -= EXPOSURE_WARNINGS
    if second_reading is not None:
        if not still_not_a_lesion(reading, second_reading):
            return reading._replace(level="unusual")
        explaining -= {"too_dark"}
    return reading._replace(level="unusual") if explaining else reading


def read_scope(statistics, photo, gate, natural_features=None):
    """The ScopeReading of one photo from its backbone statistics (1-D), photo_statistics and, when the bundle has
    a natural-image model, its pooled features (1-D)."""
    distance = float(scope_score(statistics, gate["mean"], gate["std"], gate["sizes"]))
    score = float(gate_score(gate_features(distance, photo), gate))
    # No lesion photo, however badly taken, is colourless, mostly vivid green-blue-purple or noise: whatever the score
    plainly = next((code for code, found in (("no_colour", photo[6] < gate["colourless_saturation"]),
                                             ("unlike_skin", photo[7] > UNLIKE_SKIN_SHARE),
                                             ("noise", photo[10] < NOISE_STRUCTURE)) if found), "")
    natural = float("nan")
    if natural_features is not None and "natural_reference" in gate:
        natural = float(natural_distance(np.asarray(natural_features)[None], gate["natural_reference"])[0])
    unexplained = bool(plainly or photo[8] < FEATURELESS_DETAIL or photo[11] > RULED)
    return ScopeReading(level_of(score, plainly, gate["thresholds"], natural), score, distance, plainly, unexplained,
                        bool(photo[9] < DIM_GREY_LEVEL), natural, natural > gate["thresholds"].get("natural", np.inf))


def not_a_lesion_reasons(reading, thresholds):
    """Why a reading served `not_a_lesion` is one: its plainly_not_skin code, "score" past the gate's bar,
    "natural_image" past the natural-image bar ([] for any other level)."""
    if reading is None or reading.level != "not_a_lesion":
        return []
    return [reason for reason, found in ((reading.plainly_not_skin, bool(reading.plainly_not_skin)),
                                         ("score", reading.score > thresholds["not_a_lesion"]),
                                         ("natural_image", reading.beyond_natural)) if found]
