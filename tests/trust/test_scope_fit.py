"""Fitting the scope gate: who chooses what, and how leave-one-source-out measures it. Synthetic readings whose
structure is known (lesion sources near one another, non-lesion photos far, colourless or garish, edgy)."""
import numpy as np
import pytest

from Dermal.inference.scope import LEVELS, gate_features, gate_score, natural_distance, read_scope
from trust import scope_fit
from trust.readings import Readings

SIZES, LAYERS = [4, 6], ["a", "b"]
rng = np.random.default_rng(3)


def readings(n, centre, photo, spread=0.1, groups=None):
    statistics = np.abs(rng.normal(centre, spread, (n, sum(SIZES))))
    photos = np.abs(rng.normal(photo, 0.02, (n, 6)))
    # nothing clipped white (the shown pixels' saturation is the mean's), skin-coloured, with detail, not dim, no
    # noise, not ruled
    photos = np.c_[photos, photos[:, 1], np.zeros(n), np.full(n, 30.0), np.full(n, 128.0), np.full(n, 0.9),
                   np.zeros(n)]
    names = np.array([f"p{i}" for i in range(n)])
    return Readings(names, np.array(groups) if groups is not None else names, statistics, photos, np.zeros((n, 0)),
                    np.full(n, "", dtype=object), np.full_like(statistics, np.nan), np.full_like(photos, np.nan),
                    np.zeros((n, 0)), np.zeros((n, 7)), np.zeros((n, 7)), np.zeros((n, 8)), np.array(["nv"] * n))


@pytest.fixture(scope="module")
def sets():
    lesions = {"derm_eval": readings(40, 1.0, (0.9, 0.3, 0.2, 0.3, 0.0, 0.01)),
               "derm_heldout": readings(40, 1.1, (0.9, 0.3, 0.2, 0.3, 0.0, 0.01)),
               "phone": readings(20, 1.3, (0.8, 0.25, 0.15, 0.25, 0.02, 0.02), spread=0.2)}
    others = readings(30, 3.0, (0.05, 0.02, 0.0, 0.1, 0.3, 0.1), spread=1.0, groups=[f"g{i // 3}" for i in range(30)])
    return lesions, others


def test_no_training_lesion_photo_is_above_the_not_a_lesion_threshold(sets):
    lesions, others = sets
    gate = scope_fit.fit_gate(lesions, others, SIZES, LAYERS)
    assert gate["thresholds"]["not_a_lesion"] >= max(0.0, gate["thresholds"]["unusual"])
    for source, found in ((s, scope_fit.levels(gate, r)) for s, r in lesions.items()):
        assert "not_a_lesion" not in found, source
    assert np.mean(scope_fit.levels(gate, others) == "not_a_lesion") > 0.9


def test_not_a_lesion_spares_every_photo_as_scored_by_a_gate_that_never_saw_its_source():
    """A source halfway to the non-lesion photos: in-sample it scores low, judged unseen it scores high."""
    lesions = {"derm_eval": readings(40, 1.0, (0.9, 0.3, 0.2, 0.3, 0.0, 0.01)),
               "derm_heldout": readings(40, 1.1, (0.9, 0.3, 0.2, 0.3, 0.0, 0.01)),
               "phone": readings(20, 1.8, (0.6, 0.2, 0.1, 0.2, 0.1, 0.05), spread=0.3)}
    others = readings(30, 2.2, (0.3, 0.1, 0.05, 0.15, 0.2, 0.08), spread=0.5)
    _, own = scope_fit.fit_regression(lesions, others, SIZES, LAYERS)
    unseen = scope_fit.unseen_source_scores(lesions, others, SIZES, LAYERS)
    highest_unseen = max(float(found.max()) for found in unseen.values())
    assert highest_unseen > max(0.0, max(float(found.max()) for found in own.values()))
    gate = scope_fit.fit_gate(lesions, others, SIZES, LAYERS)
    assert gate["thresholds"]["not_a_lesion"] == pytest.approx(highest_unseen)


def test_one_source_alone_still_gets_a_gate(sets):
    lesions, others = sets
    gate = scope_fit.fit_gate({"derm_eval": lesions["derm_eval"]}, others, SIZES, LAYERS)
    assert gate["reference"] == ["derm_eval"]
    assert "not_a_lesion" not in scope_fit.levels(gate, lesions["derm_eval"])


def test_the_reference_is_the_dermoscopic_sources_only(sets):
    lesions, others = sets
    gate = scope_fit.fit_gate(lesions, others, SIZES, LAYERS)
    dermoscopic = np.concatenate([lesions["derm_eval"].statistics, lesions["derm_heldout"].statistics])
    assert np.allclose(gate["mean"], dermoscopic.mean(axis=0))
    assert gate["layers"] == LAYERS and gate["sizes"] == SIZES


def test_the_unusual_threshold_lets_95_percent_of_the_dermoscopic_photos_through(sets):
    lesions, others = sets
    gate = scope_fit.fit_gate(lesions, others, SIZES, LAYERS)
    found = np.concatenate([scope_fit.levels(gate, lesions[s]) for s in scope_fit.DERMOSCOPIC])
    assert 0.9 <= np.mean(found == "lesion") < 1.0


def test_a_colourless_mostly_blue_or_noisy_photo_is_not_a_lesion_whatever_its_score(sets):
    lesions, others = sets
    gate = scope_fit.fit_gate(lesions, others, SIZES, LAYERS)
    odd = scope_fit.subset(lesions["derm_eval"], np.arange(40) < 4)
    odd.photo[0, [1, 6]] = 0.0                     # no colour
    odd.photo[1, 7] = 0.6                          # mostly vivid blue
    odd.photo[2, 10] = 0.05                        # noise
    odd.warnings[:] = "too_bright"                 # and no warning excuses them
    assert list(scope_fit.levels(gate, odd)) == ["not_a_lesion"] * 3 + ["lesion"]


def test_levels_are_as_served_an_exposure_warning_lowers_not_a_lesion_unless_colourless(sets):
    lesions, others = sets
    gate = scope_fit.fit_gate(lesions, others, SIZES, LAYERS)
    far = scope_fit.subset(others, np.isin(np.arange(30), [0, 1, 2]))
    far.photo[:, 1] = far.photo[:, 6] = [0.3, 0.3, 0.0]          # the third has no colour
    assert list(scope_fit.levels(gate, far)) == ["not_a_lesion"] * 3
    far.warnings[:] = "blurry too_bright"
    assert list(scope_fit.levels(gate, far)) == ["unusual", "unusual", "not_a_lesion"]
    far.photo[0, 7], far.photo[1, 8] = 0.6, 0.5    # mostly blue; featureless: no bad photo of a lesion is so
    assert list(scope_fit.levels(gate, far)) == ["not_a_lesion"] * 3


def test_a_ruled_photo_keeps_the_gate_s_not_a_lesion_under_any_warning_but_is_not_made_one_by_its_lines(sets):
    lesions, others = sets
    gate = scope_fit.fit_gate(lesions, others, SIZES, LAYERS)
    far = scope_fit.subset(others, np.isin(np.arange(30), [0, 1]))
    far.photo[:, 1] = far.photo[:, 6] = 0.3
    far.warnings[:] = "too_bright"
    assert list(scope_fit.levels(gate, far)) == ["unusual"] * 2
    far.photo[0, 11] = 0.75                         # a chart's axes
    assert list(scope_fit.levels(gate, far)) == ["not_a_lesion", "unusual"]
    near = scope_fit.subset(lesions["derm_eval"], np.arange(40) < 1)
    near.photo[0, 11] = 0.75
    assert list(scope_fit.levels(gate, near)) == ["lesion"]


def test_a_dim_photo_keeps_not_a_lesion_only_when_brightened_it_is_no_nearer_a_lesion(sets):
    lesions, others = sets
    gate = scope_fit.fit_gate(lesions, others, SIZES, LAYERS)
    dim = scope_fit.subset(others, np.isin(np.arange(30), [0, 1, 2]))
    dim.photo[:, [1, 6]] = 0.3                     # some colour
    dim.photo[:, 9] = 50.0                         # dim
    assert list(scope_fit.levels(gate, dim)) == ["not_a_lesion"] * 3
    dim.second_statistics[:] = [dim.statistics[0] * 1.5, lesions["derm_eval"].statistics[0], dim.statistics[2]]
    dim.second_photo[:] = [dim.photo[0], lesions["derm_eval"].photo[0], dim.photo[2]]
    dim.second_photo[2, 6] = 0.0                   # no colour once brightened: not a lesion, yet no farther
    assert list(scope_fit.levels(gate, dim)) == ["not_a_lesion", "unusual", "not_a_lesion"]


def test_a_photo_not_dim_keeps_not_a_lesion_when_colour_balanced_it_still_is_even_nearer_a_lesion(sets):
    lesions, others = sets
    gate = scope_fit.fit_gate(lesions, others, SIZES, LAYERS)
    tinted = scope_fit.subset(others, np.arange(30) < 1)
    tinted.photo[:, [1, 6]] = 0.3
    tinted.second_statistics[:], tinted.second_photo[:] = tinted.statistics * 0.97, tinted.photo
    first, second = scope_fit.scores(gate, tinted)[0], read_scope(tinted.second_statistics[0], tinted.photo[0], gate)
    assert second.level == "not_a_lesion" and second.score < first  # still not a lesion, yet nearer one
    assert scope_fit.levels(gate, tinted)[0] == "not_a_lesion"
    tinted.photo[:, 9] = 50.0                      # the same, dim: brightened nearer a lesion, so unusual
    assert scope_fit.levels(gate, tinted)[0] == "unusual"
    lesion = lesions["derm_eval"]
    tinted.second_statistics[:], tinted.second_photo[:] = lesion.statistics[0], lesion.photo[0]
    tinted.photo[:, 9] = 128.0                     # balanced, a lesion: the cast explained it
    assert scope_fit.levels(gate, tinted)[0] == "unusual"


def test_leave_one_source_out_measures_every_source_with_a_gate_that_never_saw_it(sets, monkeypatch):
    lesions, others = sets
    seen = []
    real = scope_fit.fit_gate
    monkeypatch.setattr(scope_fit, "fit_gate", lambda l, *a: seen.append(sorted(l)) or real(l, *a))
    counts = scope_fit.leave_one_source_out(lesions, others, SIZES, LAYERS)
    assert sorted(map(tuple, seen)) == [("derm_eval", "derm_heldout"), ("derm_eval", "phone"), ("derm_heldout", "phone")]
    assert {s: sum(c.values()) for s, c in counts.items()} == {"derm_eval": 40, "derm_heldout": 40, "phone": 20}
    assert all(set(c) == set(LEVELS) for c in counts.values())


def test_leave_one_picture_out_leaves_a_pictures_photos_out_together(sets):
    lesions, others = sets
    counts, verdicts, gate_alone = scope_fit.leave_one_picture_out(lesions, others, SIZES, LAYERS)
    assert sum(counts.values()) == 30 and set(verdicts) == set(others.names)
    assert gate_alone["not_a_lesion"] >= counts["not_a_lesion"]  # allowing for exposure only ever lowers


def test_gate_score_is_the_regression_on_standardised_features(sets):
    lesions, others = sets
    gate = scope_fit.fit_gate(lesions, others, SIZES, LAYERS)
    features = gate_features(np.array([1.5]), np.array([[0.5, 0.2, 0.1, 0.2, 0.1, 0.05]]))
    expected = ((features - gate["feature_mean"]) / gate["feature_scale"]) @ gate["weights"] + gate["intercept"]
    assert gate_score(features, gate) == pytest.approx(expected)


def with_natural(readings_, direction, spread):
    """The readings with natural-image features spread around `direction`."""
    natural = np.abs(np.asarray(direction, np.float64) + rng.normal(0, spread, (len(readings_), len(direction))))
    return Readings(**{**vars(readings_), "natural": natural, "second_natural": natural.copy()})


@pytest.fixture(scope="module")
def natural_sets(sets):
    """Lesion sources whose natural-image features differ a little (the phone photos most), non-lesion photos
    whose backbone statistics look like lesions' but whose natural-image features do not (a cat, a coffee cup)."""
    lesions, others = sets
    lesions = {"derm_eval": with_natural(lesions["derm_eval"], (1, 1, 1, 1, 0, 0, 0, 0), 0.2),
               "derm_heldout": with_natural(lesions["derm_heldout"], (1, 1, 1, 1, 0, 0, 0, 0), 0.2),
               "phone": with_natural(lesions["phone"], (1, 1, 0.5, 0.5, 0.5, 0, 0, 0), 0.2)}
    lookalikes = readings(12, 1.05, (0.9, 0.3, 0.2, 0.3, 0.0, 0.01))
    far = (0, 0, 0, 0, 1, 1, 1, 1)
    return lesions, with_natural(others, far, 0.2), with_natural(lookalikes, far, 0.2)


def test_the_gate_keeps_the_dermoscopic_photos_natural_features_as_its_reference(natural_sets):
    lesions, others, _ = natural_sets
    gate = scope_fit.fit_gate(lesions, others, SIZES, LAYERS)
    assert np.allclose(gate["natural_reference"],
                       np.concatenate([lesions["derm_eval"].natural, lesions["derm_heldout"].natural]))
    assert "natural_reference" not in scope_fit.fit_gate(*without_natural(lesions, others), SIZES, LAYERS)


def without_natural(lesions, *others):
    empty = lambda r: Readings(**{**vars(r), "natural": np.zeros((len(r), 0)), "second_natural": np.zeros((len(r), 0))})
    return {s: empty(r) for s, r in lesions.items()}, *map(empty, others)


def test_the_natural_threshold_carries_the_step_a_new_source_took(natural_sets):
    lesions = natural_sets[0]
    threshold = scope_fit.natural_threshold(lesions)
    reference = np.concatenate([lesions["derm_eval"].natural, lesions["derm_heldout"].natural])
    farthest_phone = natural_distance(lesions["phone"].natural, reference).max()
    assert threshold > farthest_phone   # no training photo is above it...
    without_phone = scope_fit.natural_threshold({s: lesions[s] for s in ("derm_eval", "derm_heldout")})
    assert farthest_phone > without_phone  # ... and the phone photos, unseen, would have been: hence the step
    assert threshold >= farthest_phone + (farthest_phone - without_phone) - 1e-9


def test_photos_that_look_like_lesions_to_the_backbone_but_not_to_the_natural_image_model_are_not_lesions(
        natural_sets):
    lesions, others, lookalikes = natural_sets
    blind_lesions, blind_others, blind_lookalikes = without_natural(lesions, others, lookalikes)
    blind = scope_fit.fit_gate(blind_lesions, blind_others, SIZES, LAYERS)
    assert "not_a_lesion" not in scope_fit.levels(blind, blind_lookalikes)
    gate = scope_fit.fit_gate(lesions, others, SIZES, LAYERS)
    assert list(scope_fit.levels(gate, lookalikes)) == ["not_a_lesion"] * 12
    for source, readings_ in lesions.items():
        assert "not_a_lesion" not in scope_fit.levels(gate, readings_), source
