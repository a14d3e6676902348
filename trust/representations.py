"""Other representations of a photo, each alone, measured as the gate is: do they tell lesions from non-lesions?

Issue 11 proposed the nearest-neighbour cosine distance of the pooled final features (the values the head reads)
from the dermoscopic lesion photos. The gate (Dermal/inference/scope.py) reads a distance of mid-level statistics
with six photo statistics, and the same nearest-neighbour distance in the features of a model that knows natural
images (ImageNet). So that the choice rests on figures, each plain distance is measured under the gate's own
`not_a_lesion` rule: the reference is the dermoscopic sources present (a member's distance taken
without itself); a photo is not a lesion above the highest distance of any lesion photo that chose the threshold;
each lesion source is judged by a threshold and a reference made without it, the non-lesion photos by all sources.
"""
import numpy as np

from Dermal.inference.scope import NEIGHBOURS, leave_one_out_scores, natural_distance, reference_from, scope_score

from .scope_fit import farthest, reference_distances


def mid_level_distance(sizes):
    """The gate's own distance (scope.scope_score), alone, called as scope.natural_distance is."""
    def distance(queries, reference, leave_self_out=False):
        if leave_self_out:
            return leave_one_out_scores(reference, sizes)
        return scope_score(queries, *reference_from(reference), sizes)
    return distance


def photos_above(readings, lesions, field, distance):
    """How many photos of `readings` are farther than every photo of `lesions` (the not_a_lesion rule)."""
    reference, found = reference_distances(lesions, field, distance)
    return int(np.sum(distance(getattr(readings, field), reference) > farthest(found)))


def not_a_lesion_counts(lesions, non_lesions, field, distance):
    """{lesion source: its photos called not a lesion by the other sources}, and the non-lesion photos so called."""
    held_out = {held: photos_above(lesions[held], {s: r for s, r in lesions.items() if s != held}, field, distance)
                for held in lesions}
    return {"lesions": held_out, "non_lesions": photos_above(non_lesions, lesions, field, distance)}


def compare(lesions, non_lesions, sizes):
    """{representation: not_a_lesion_counts} of each plain distance (two lesion sources at least)."""
    found = {"skin-lesion backbone, mid-level statistics: distance from their mean (the gate's regression input)":
             not_a_lesion_counts(lesions, non_lesions, "statistics", mid_level_distance(sizes)),
             f"skin-lesion backbone, pooled final features: {NEIGHBOURS}-nearest-neighbour cosine distance (the "
             "issue's proposal)": not_a_lesion_counts(lesions, non_lesions, "pooled", natural_distance)}
    if non_lesions.natural.size:
        found[f"natural-image model (ImageNet), pooled features: {NEIGHBOURS}-nearest-neighbour cosine distance "
              "(the gate's natural distance)"] = not_a_lesion_counts(lesions, non_lesions, "natural", natural_distance)
    return found
