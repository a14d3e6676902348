"""Fitting the scope gate (Dermal/inference/scope.py) and measuring it on photos that chose nothing.

Which photos choose what:
- the reference of the backbone statistics: the dermoscopic lesion sources (derm_eval, derm_heldout), the kind
  of photo the model learnt from; a reference photo's own distance is measured with it left out;
- the regression: every lesion source present against the non-lesion photos (photos.py);
- the `not_a_lesion` threshold: the highest score of any training lesion photo, scored both by the final
  regression and by one fitted without the photo's source (what a source the gate never saw looks like; the
  in-sample maximum alone let one phone photo of 33 through when that source was left out), never below even
  odds; the `unusual` threshold: the 95th percentile of the dermoscopic photos' scores;
- the natural-image reference: the dermoscopic photos' features in the natural-image model; its threshold: the
  highest natural distance of any lesion photo, plus the step a source left out took beyond the others
  (natural_threshold).
Figures come from leave-one-source-out (each lesion source measured by a gate fitted without it) and, for the
non-lesion photos, from leaving out each picture with the photos made from it; levels are counted as served,
a photo with some colour being `not_a_lesion` only if it is still not one at a second look (brightened if dim, and
then no nearer one; colour-balanced otherwise), and a too-bright or blurry one with some colour at most `unusual`,
unless it is mostly vivid green, blue or purple, featureless or ruled, as no badly taken lesion photo is
(scope.allowing_for_quality).
"""
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from Dermal.inference.scope import (LEVELS, allowing_for_quality, gate_features, gate_score, leave_one_out_scores,
                                    natural_distance, read_scope, reference_from, scope_score)

DERMOSCOPIC = ("derm_eval", "derm_heldout")
UNUSUAL_QUANTILE = 0.95
# Mean saturation of the pixels not clipped white below which a photo has no colour: well under the lowest of the
# 248 lesion photos seen (0.065, and 0.053 brightened 2x), above a white page's faint tint (0.03).
COLOURLESS_SATURATION = 0.04


def _distances(lesions, reference, sizes):
    """The reference's (mean, std), and each lesion source's distances from it (members left out of it)."""
    statistics = np.concatenate([lesions[s].statistics for s in reference])
    mean, std = reference_from(statistics)
    bounds = np.cumsum([len(lesions[s]) for s in reference])[:-1]
    own = dict(zip(reference, np.split(leave_one_out_scores(statistics, sizes), bounds)))
    return mean, std, {s: own[s] if s in own else scope_score(r.statistics, mean, std, sizes)
                       for s, r in lesions.items()}


def fit_regression(lesions, non_lesions, sizes, layers):
    """The gate's arrays (no thresholds yet), and {source: scores of its lesion photos} under them."""
    reference = reference_sources(lesions)
    mean, std, distances = _distances(lesions, reference, sizes)
    lesion_x = {s: gate_features(distances[s], r.photo) for s, r in lesions.items()}
    other_x = gate_features(scope_score(non_lesions.statistics, mean, std, sizes), non_lesions.photo)
    x = np.concatenate([*lesion_x.values(), other_x])
    y = np.r_[np.zeros(len(x) - len(other_x)), np.ones(len(other_x))]
    model = make_pipeline(StandardScaler(), LogisticRegression(class_weight="balanced", max_iter=5000)).fit(x, y)
    scaler, regression = model[0], model[-1]
    gate = {"mean": mean, "std": std, "sizes": list(sizes), "feature_mean": scaler.mean_,
            "feature_scale": scaler.scale_, "weights": regression.coef_[0], "intercept": float(regression.intercept_[0]),
            "layers": list(layers), "colourless_saturation": COLOURLESS_SATURATION, "reference": reference}
    if all(lesions[s].natural.size for s in lesions):
        gate["natural_reference"] = np.concatenate([lesions[s].natural for s in reference]).astype(np.float32)
    return gate, {s: gate_score(features, gate) for s, features in lesion_x.items()}


def reference_sources(lesions):
    """The sources whose photos make the reference: the dermoscopic ones present, else every one."""
    return [s for s in DERMOSCOPIC if s in lesions] or list(lesions)


def reference_distances(lesions, field, distance):
    """(the reference rows, {source: its photos' distances from them}) of the Readings `field` under `distance`
    (scope.natural_distance, or one called as it is): a reference photo's taken without itself."""
    chosen = reference_sources(lesions)
    reference = np.concatenate([getattr(lesions[s], field) for s in chosen])
    bounds = np.cumsum([len(lesions[s]) for s in chosen])[:-1]
    found = dict(zip(chosen, np.split(distance(reference, reference, leave_self_out=True), bounds)))
    return reference, {s: found[s] if s in found else distance(getattr(r, field), reference)
                       for s, r in lesions.items()}


def farthest(found):
    """The highest distance in {source: distances}."""
    return max(float(np.max(distances)) for distances in found.values())


def natural_threshold(lesions):
    """`not_a_lesion` above this natural_distance: the highest of any lesion photo, plus the step a new source took
    beyond it (each source left out in turn: its farthest photo less the threshold the others set; none if none
    did). Left out, palms and soles went 0.05 beyond the others: without the step, new sources lose photos."""
    step = 0.0
    for held in lesions if len(lesions) > 1 else ():
        reference, found = reference_distances(_without(lesions, held), "natural", natural_distance)
        step = max(step, float(natural_distance(lesions[held].natural, reference).max()) - farthest(found))
    return farthest(reference_distances(lesions, "natural", natural_distance)[1]) + step


def unseen_source_scores(lesions, non_lesions, sizes, layers):
    """Each lesion photo's score under a regression fitted without its source: how photos of a new source score."""
    return {held: scores(fit_regression(_without(lesions, held), non_lesions, sizes, layers)[0], lesions[held])
            for held in lesions}


def fit_gate(lesions, non_lesions, sizes, layers):
    """The gate (the bundle's arrays + thresholds) from {source: Readings} of lesions and non-lesion Readings."""
    gate, own = fit_regression(lesions, non_lesions, sizes, layers)
    unseen = unseen_source_scores(lesions, non_lesions, sizes, layers) if len(lesions) > 1 else {}
    highest = max(float(np.max(found)) for found in [*own.values(), *unseen.values()])
    gate["thresholds"] = {
        "unusual": float(np.quantile(np.concatenate([own[s] for s in gate["reference"]]), UNUSUAL_QUANTILE)),
        "not_a_lesion": max(0.0, highest),
    }
    if "natural_reference" in gate:
        gate["thresholds"]["natural"] = natural_threshold(lesions)
    return gate


def scores(gate, readings):
    """The gate's score of each photo of `readings`."""
    distances = scope_score(readings.statistics, gate["mean"], gate["std"], gate["sizes"])
    return gate_score(gate_features(distances, readings.photo), gate)


def levels(gate, readings):
    """The scope level each photo of `readings` is served under `gate` (quality warnings allowed for)."""
    rows = zip(readings.statistics, readings.photo, readings.natural, readings.warnings, readings.second_statistics,
               readings.second_photo, readings.second_natural)
    return np.array([served_level(gate, *row) for row in rows])


def gate_levels(gate, readings):
    """The gate's own level of each photo of `readings`, before photo quality is allowed for."""
    return np.array([gate_reading(gate, *row).level
                     for row in zip(readings.statistics, readings.photo, readings.natural)])


def gate_reading(gate, statistics, photo, natural):
    """The ScopeReading of one photo's readings; natural features of size 0 stand for a bundle without them."""
    return read_scope(statistics, photo, gate, natural if np.size(natural) else None)


def served_level(gate, statistics, photo, natural, warnings, second_statistics, second_photo, second_natural):
    """The level the app serves a photo with these readings (trust/readings.py) under `gate`; NaN second-look
    statistics stand for a photo not looked at twice."""
    again = None
    if np.isfinite(second_statistics).all():
        again = gate_reading(gate, second_statistics, second_photo, second_natural)
    return allowing_for_quality(gate_reading(gate, statistics, photo, natural), warnings.split(), again).level


def _without(lesions, held):
    return {s: r for s, r in lesions.items() if s != held}


def level_counts(found):
    return {level: int(np.sum(np.asarray(found) == level)) for level in LEVELS}


def leave_one_source_out(lesions, non_lesions, sizes, layers):
    """{source: level counts} for each lesion source under a gate fitted without it (needs two sources)."""
    return {held: level_counts(levels(fit_gate(_without(lesions, held), non_lesions, sizes, layers), lesions[held]))
            for held in lesions}


def leave_one_picture_out(lesions, non_lesions, sizes, layers):
    """(level counts as served, {photo name: level}, level counts by the gate alone) of the non-lesion photos,
    each picture's photos judged by a gate fitted without them."""
    found, alone = np.empty(len(non_lesions), dtype=object), np.empty(len(non_lesions), dtype=object)
    for group in np.unique(non_lesions.groups):
        out = non_lesions.groups == group
        gate = fit_gate(lesions, subset(non_lesions, ~out), sizes, layers)
        found[out], alone[out] = levels(gate, subset(non_lesions, out)), gate_levels(gate, subset(non_lesions, out))
    return level_counts(found), dict(zip(non_lesions.names, found)), level_counts(alone)


def subset(readings, mask):
    return type(readings)(**{name: value[mask] for name, value in vars(readings).items()})
