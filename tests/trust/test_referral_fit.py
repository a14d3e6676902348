"""The referral threshold's rule and its cross-validated figures, on scores whose answer is known."""
import numpy as np
import pytest

from trust import referral_fit

CLASSES = [{"code": c, "malignant": c in ("akiec", "bcc", "mel")} for c in
           ("akiec", "bcc", "bkl", "df", "mel", "nv", "vasc")]


def test_the_threshold_is_the_lowest_source_threshold_so_no_source_falls_short():
    easy = np.r_[np.linspace(0.8, 0.99, 20), np.linspace(0.0, 0.1, 30)]   # malignant far above benign
    hard = np.r_[np.linspace(0.05, 0.5, 20), np.linspace(0.0, 0.3, 30)]
    positive = np.r_[np.ones(20, bool), np.zeros(30, bool)]
    threshold = referral_fit.choose_threshold({"easy": easy, "hard": hard}, {"easy": positive, "hard": positive})
    assert threshold == pytest.approx(np.sort(hard[:20])[2])  # 18 of 20 at or above: 90%
    for scores in (easy, hard):
        assert np.mean(scores[positive] >= threshold) >= 0.9


def test_small_sources_are_measured_but_do_not_choose():
    positive = {"big": np.r_[np.ones(12, bool), np.zeros(5, bool)], "acral": np.r_[np.ones(3, bool), np.zeros(50, bool)],
                "all_malignant": np.ones(15, bool)}
    assert referral_fit.choosing(positive) == ["big"]


def test_cross_validation_judges_each_photo_by_a_threshold_chosen_without_it():
    rng = np.random.default_rng(0)
    positive = np.r_[np.ones(20, bool), np.zeros(60, bool)]
    scores = np.where(positive, rng.uniform(0.3, 1, 80), rng.uniform(0, 0.5, 80))
    scores[0] = 0.01  # a malignant lesion scored like the most benign: only its own fold's threshold could catch it
    referred = referral_fit.cross_validated_referrals({"s": scores}, {"s": positive})["s"]
    assert not referred[0]
    in_sample = scores >= referral_fit.choose_threshold({"s": scores}, {"s": positive})
    assert referred.shape == in_sample.shape and referred[positive].mean() >= 0.85


def test_rates_give_wilson_intervals_and_none_without_cases():
    figures = referral_fit.rates(np.array([True, True, False, False]), np.array([True, False, False, False]))
    assert (figures["sensitivity"], figures["specificity"]) == (1.0, 2 / 3)
    assert figures["sensitivity_ci"][0] == pytest.approx(0.2065, abs=1e-3) and figures["sensitivity_ci"][1] == 1.0
    none = referral_fit.rates(np.array([True]), np.array([False]))
    assert none["sensitivity"] is None and none["sensitivity_ci"] is None and none["positives"] == 0


def test_triage_scores_sum_the_malignant_classes():
    probabilities = np.array([[0.1, 0.2, 0.1, 0.1, 0.3, 0.1, 0.1]])
    scores = referral_fit.triage_scores(probabilities, CLASSES)
    assert scores["malignant"][0] == pytest.approx(0.6) and scores["melanoma"][0] == pytest.approx(0.3)


def test_cross_validated_rates_carry_out_of_bag_bootstrap_intervals_of_the_threshold_choice():
    rng = np.random.default_rng(1)
    positive = np.r_[np.ones(20, bool), np.zeros(60, bool)]
    overlapping = np.where(positive, rng.uniform(0.2, 1, 80), rng.uniform(0, 0.6, 80))
    figures = referral_fit.cross_validated_rates({"s": overlapping}, {"s": positive}, ["s"], rounds=200)
    held = referral_fit.cross_validated_referrals({"s": overlapping}, {"s": positive})["s"]
    assert figures["sensitivity"] == held[positive].mean() and figures["specificity"] == (~held[~positive]).mean()
    for name in ("sensitivity", "specificity"):
        low, high = figures[f"{name}_bootstrap_ci"]
        assert 0 <= low <= figures[name] <= high <= 1 and high - low > 0.05, name
        assert figures[f"{name}_ci"] == pytest.approx(referral_fit.rates(held, positive)[f"{name}_ci"])
    separated = np.where(positive, rng.uniform(0.8, 1, 80), rng.uniform(0, 0.2, 80))
    certain = referral_fit.cross_validated_rates({"s": separated}, {"s": positive}, ["s"], rounds=200)
    assert certain["specificity_bootstrap_ci"] == [1.0, 1.0]  # no resample ever misjudges a benign one
