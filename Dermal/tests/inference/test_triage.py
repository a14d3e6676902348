import pytest

from Dermal.inference.triage import needs_referral, threshold_for_sensitivity


def test_threshold_keeps_at_least_the_target_sensitivity():
    scores = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05, 0.6, 0.3, 0.1, 0.02]
    positive = [True] * 10 + [False] * 4
    figures = threshold_for_sensitivity(scores, positive, target=0.9)
    assert figures["threshold"] == 0.1 and figures["sensitivity"] == 0.9
    assert figures["specificity"] == 0.25 and (figures["positives"], figures["negatives"]) == (10, 4)


def test_a_perfect_separation_keeps_every_negative_out():
    figures = threshold_for_sensitivity([0.9, 0.8, 0.1, 0.2], [True, True, False, False], target=1.0)
    assert figures == {"threshold": 0.8, "sensitivity": 1.0, "specificity": 1.0, "positives": 2, "negatives": 2}


def test_one_class_only_cannot_choose_a_threshold():
    with pytest.raises(ValueError):
        threshold_for_sensitivity([0.5, 0.6], [True, True])


def test_referral_at_or_above_threshold():
    triage = {"threshold": 0.2}
    assert needs_referral(0.2, triage) and not needs_referral(0.19, triage)
