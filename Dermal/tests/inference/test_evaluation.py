"""The classification figures on hand-checked inputs, and bench/evaluate.py end to end on a few real images."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from Dermal.inference import evaluation as ev

ROOT = Path(__file__).resolve().parents[3]
CLASSES = ["a", "b", "c"]
TRUTH = ["a", "a", "a", "b", "b", "c"]
PREDICTED = ["a", "a", "b", "b", "c", "c"]


def test_accuracy_and_balanced_accuracy():
    assert ev.accuracy(TRUTH, PREDICTED) == pytest.approx(4 / 6)
    assert ev.balanced_accuracy(TRUTH, PREDICTED) == pytest.approx((2 / 3 + 1 / 2 + 1) / 3)


def test_confusion_matrix_rows_are_truth_columns_predictions():
    assert ev.confusion_matrix(TRUTH, PREDICTED, CLASSES).tolist() == [[2, 1, 0], [0, 1, 1], [0, 0, 1]]


def test_per_class_recall_and_precision():
    assert ev.per_class_recall(TRUTH, PREDICTED, CLASSES) == pytest.approx({"a": 2 / 3, "b": 1 / 2, "c": 1.0})
    assert ev.per_class_precision(TRUTH, PREDICTED, CLASSES) == pytest.approx({"a": 1.0, "b": 1 / 2, "c": 1 / 2})


def test_absent_classes_have_no_recall_or_precision_rather_than_zero():
    assert ev.per_class_recall(["a"], ["b"], CLASSES) == {"a": 0.0, "b": None, "c": None}
    assert ev.per_class_precision(["a"], ["b"], CLASSES) == {"a": None, "b": 0.0, "c": None}


def test_melanoma_sensitivity_counts_only_melanomas():
    truth = ["mel", "mel", "mel", "mel", "nv", "nv"]
    predicted = ["mel", "nv", "mel", "bcc", "mel", "mel"]
    assert ev.sensitivity(truth, predicted) == 0.5
    assert ev.sensitivity(["nv"], ["nv"]) is None


def test_expected_calibration_error_by_hand():
    # confidences 0.9, 0.9 (one right) and 0.6 (right): bin (0.8, 0.9] |0.5 - 0.9| * 2/3, bin (0.5, 0.6] |1 - 0.6| / 3
    probs = [[0.9, 0.1], [0.9, 0.1], [0.4, 0.6]]
    assert ev.expected_calibration_error(probs, [0, 1, 1]) == pytest.approx(0.4 * 2 / 3 + 0.4 / 3)


def test_a_perfectly_calibrated_model_has_zero_error():
    probs = np.tile([0.75, 0.25], (4, 1))
    assert ev.expected_calibration_error(probs, [0, 0, 0, 1]) == pytest.approx(0.0)


def test_average_ranks_share_ties():
    assert ev.average_ranks([10, 30, 20, 30]).tolist() == [1.0, 3.5, 2.0, 3.5]


def test_roc_auc_known_values():
    assert ev.roc_auc([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1]) == 1.0
    assert ev.roc_auc([0.9, 0.8, 0.2, 0.1], [0, 0, 1, 1]) == 0.0
    # positives 0.8, 0.4 against negatives 0.5, 0.4, 0.1: wins 3 + 1, one tie (half), of 6 pairs
    assert ev.roc_auc([0.8, 0.4, 0.5, 0.4, 0.1], [1, 1, 0, 0, 0]) == pytest.approx(4.5 / 6)


def test_roc_auc_matches_counting_every_pair():
    rng = np.random.default_rng(1)
    scores, positive = rng.integers(0, 10, 60) / 10, rng.random(60) < 0.3
    pairs = [(p > n) + 0.5 * (p == n) for p in scores[positive] for n in scores[~positive]]
    assert ev.roc_auc(scores, positive) == pytest.approx(np.mean(pairs))


def test_roc_auc_needs_both_kinds():
    with pytest.raises(ValueError):
        ev.roc_auc([0.1, 0.2], [1, 1])


def test_bootstrap_interval_brackets_the_auc_and_is_reproducible():
    rng = np.random.default_rng(2)
    positive = np.r_[np.ones(20, bool), np.zeros(70, bool)]
    scores = rng.normal(positive * 1.0, 1.0)
    low, high = ev.bootstrap_auc_interval(scores, positive, rounds=500)
    assert low < ev.roc_auc(scores, positive) < high and 0.1 < high - low < 0.5
    assert ev.bootstrap_auc_interval(scores, positive, rounds=500) == (low, high)


def test_bootstrap_interval_of_a_perfect_separation_is_one():
    assert ev.bootstrap_auc_interval([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1], rounds=50) == (1.0, 1.0)


def test_evaluate_command_writes_the_report_on_a_few_real_images(eval_items, heldout_items, tmp_path):
    pytest.importorskip("tensorflow", reason="the Keras original needs requirements-offline.txt")
    pytest.importorskip("sklesion", reason="the Keras original needs sklesion (pip install --no-deps)")
    command = [sys.executable, "bench/evaluate.py", "--limit", "7", "--heldout-limit", "4", "--bootstrap", "50",
               "--out", str(tmp_path)]
    subprocess.run(command, check=True, cwd=ROOT, timeout=120, capture_output=True)
    report = (tmp_path / "EVALUATION.md").read_text()
    figures = json.loads((tmp_path / "evaluation.json").read_text())
    assert "likely seen in training" in report and "ISIC Archive" in report and "Tschandl" in report
    rows = figures["derm_eval"]["results"]
    assert {(r["model"], r["metadata"]) for r in rows} == {
        (m, v) for m in ("keras", "int8") for v in ("given", "unknown")}
    assert all(r["images"] == 7 and r["confusion"] for r in rows)
    int8 = next(r for r in rows if r["model"] == "int8" and r["metadata"] == "given")
    assert int8["agreement_with_keras"] >= 6 / 7
    assert figures["derm_heldout"]["results"][0]["images"] == 4
    for picture in ("confusion_int8.png", "gradcam_examples.png"):
        assert (tmp_path / picture).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
