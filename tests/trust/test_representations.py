"""Other representations measured under the gate's rule: the distances themselves, and who chooses the threshold."""
import numpy as np
import pytest

from Dermal.inference.scope import leave_one_out_scores, natural_distance
from trust import representations
from trust.representations import mid_level_distance, not_a_lesion_counts
from trust.readings import Readings

rng = np.random.default_rng(5)
SIZES = [3, 5]


def readings(pooled, statistics=None, natural=None):
    n = len(pooled)
    statistics = np.abs(rng.normal(1.0, 0.1, (n, sum(SIZES)))) if statistics is None else statistics
    natural = np.zeros((n, 0)) if natural is None else natural
    names = np.array([f"p{i}" for i in range(n)])
    empty = np.zeros((n, 11))
    return Readings(names, names, statistics, empty, natural, np.full(n, ""), statistics, empty, natural,
                    np.zeros((n, 7)), np.zeros((n, 7)), np.asarray(pooled, np.float64), np.array(["nv"] * n))


def around(direction, n, spread):
    return np.abs(np.asarray(direction, np.float64) + rng.normal(0, spread, (n, len(direction))))


def test_the_mid_level_distance_is_the_gates_own():
    statistics = np.abs(rng.normal(1.0, 0.2, (12, sum(SIZES))))
    distance = mid_level_distance(SIZES)
    left_out = distance(statistics, statistics, leave_self_out=True)
    assert left_out == pytest.approx(leave_one_out_scores(statistics, SIZES))
    assert distance(statistics[:1] * 5, statistics)[0] > distance(statistics[:1], statistics)[0]


def test_a_source_is_judged_by_a_threshold_it_did_not_choose():
    """A source halfway to the non-lesion photos: left out, its far photos are called not a lesion; choosing the
    threshold with the others, it keeps every lesion source clear and the non-lesion photos are still caught."""
    lesions = {"derm_eval": readings(around([1, 0.1, 0.1], 30, 0.05)),
               "derm_heldout": readings(around([1, 0.1, 0.1], 30, 0.05)),
               "phone": readings(around([1, 0.6, 0.1], 20, 0.1))}
    others = readings(around([0.1, 0.2, 1], 25, 0.1))
    counts = not_a_lesion_counts(lesions, others, "pooled", natural_distance)
    assert counts["lesions"]["phone"] > 10
    assert counts["lesions"]["derm_eval"] == counts["lesions"]["derm_heldout"] == 0
    assert counts["non_lesions"] == 25


def test_compare_measures_each_distance_on_its_own_readings():
    lesions = {"derm_eval": readings(around([1, 0.1], 20, 0.05)), "derm_heldout": readings(around([1, 0.1], 20, 0.05))}
    far = np.abs(rng.normal(3.0, 0.1, (6, sum(SIZES))))
    others = readings(around([0.1, 1], 6, 0.05), statistics=far)
    assert len(representations.compare(lesions, others, SIZES)) == 2  # no natural-image features: two distances
    lesions = {s: readings(r.pooled, r.statistics, natural=around([1, 0.2, 0.1], 20, 0.05)) for s, r in lesions.items()}
    others = readings(others.pooled, far, natural=around([0.1, 0.2, 1], 6, 0.05))
    found = representations.compare(lesions, others, SIZES)
    assert len(found) == 3
    assert all(counts["non_lesions"] == 6 for counts in found.values())
    assert all(set(counts["lesions"]) == {"derm_eval", "derm_heldout"} for counts in found.values())
