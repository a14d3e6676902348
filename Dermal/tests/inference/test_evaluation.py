"""The classification figures on hand-checked inputs, and bench/evaluate.py end to end on a few real images."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from Dermal.inference import evaluation as ev
from Dermal.inference.datasets import FIXTURES_DIR

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


@pytest.mark.slow
def test_evaluate_command_writes_the_report_on_a_few_real_images(eval_items, heldout_items, tmp_path):
    pytest.importorskip("tensorflow", reason="the Keras original needs requirements-offline.txt")
    pytest.importorskip("sklesion", reason="the Keras original needs sklesion (pip install --no-deps)")
    # The held-out folder is the committed photos here, so that its measured section stays quick.
    (tmp_path / "EVALUATION.md").write_text(f"# old\n\n{TRUST_BLOCK}\n")
    command = [sys.executable, "bench/evaluate.py", "--limit", "7", "--heldout", str(FIXTURES_DIR), "--heldout-limit",
               "4", "--bootstrap", "50", "--workers", "1", "--out", str(tmp_path)]
    subprocess.run(command, check=True, cwd=ROOT, timeout=240, capture_output=True)
    report = (tmp_path / "EVALUATION.md").read_text()
    assert TRUST_BLOCK in report and "# old" not in report  # the scope-and-referral section outlives a rewrite
    assert "### As users measure it: `python manage.py evaluate" in report and "16 photos: accuracy" in report
    figures = json.loads((tmp_path / "evaluation.json").read_text())
    assert "likely seen in training" in report and "ISIC Archive" in report and "Tschandl" in report
    rows = figures["derm_eval"]["results"]
    assert {(r["model"], r["metadata"]) for r in rows} == {
        (m, v) for m in ("keras", "int8") for v in ("given", "unknown")}
    assert all(r["images"] == 7 and r["confusion"] for r in rows)
    int8 = next(r for r in rows if r["model"] == "int8" and r["metadata"] == "given")
    assert int8["agreement_with_keras"] >= 6 / 7
    assert figures["derm_heldout"]["results"][0]["images"] == 4
    flip = figures["flip_average"]
    assert set(flip) == {"keras", "int8"} and flip["int8"]["images"] == 4
    assert "## Flip averaging on held-out photos" in report
    for picture in ("confusion_int8.png", "gradcam_examples.png"):
        assert (tmp_path / picture).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


TRUST_BLOCK = "<!-- trust:begin -->\n## Scope and referral\n\nwritten by another command\n<!-- trust:end -->"


@pytest.mark.slow
def test_heldout_section_only_rewrites_that_section_and_nothing_else(tmp_path):
    before = (f"# DermAI model evaluation\n\n## derm_heldout (ISIC Archive) - never seen\n\nper model\n\n"
              f"{TRUST_BLOCK}\n")
    (tmp_path / "EVALUATION.md").write_text(before)
    command = [sys.executable, "bench/evaluate.py", "--heldout-section-only", "--heldout", str(FIXTURES_DIR),
               "--bootstrap", "50", "--workers", "1", "--out", str(tmp_path)]
    for _ in range(2):  # the second run replaces the section the first one inserted
        subprocess.run(command, check=True, cwd=ROOT, timeout=240, capture_output=True)
        after = (tmp_path / "EVALUATION.md").read_text()
        heading = after.index("## derm_heldout (ISIC Archive) - never seen\n")
        assert after.index("<!-- heldout:begin") > heading and after.count("<!-- heldout:begin") == 1
        assert "16 photos: accuracy" in after and "| mel | 5 |" in after
        assert after.index("per model") > after.index("<!-- heldout:end -->") and after.endswith(f"{TRUST_BLOCK}\n")


# --- bench/evaluate.py's held-out additions and bench/report.py's service section (no model needed) ----------

def bench_evaluate():
    sys.path.insert(0, str(ROOT))
    from bench import evaluate

    return evaluate


def test_paired_auc_difference_is_zero_for_the_same_scores_and_brackets_a_real_change():
    evaluate = bench_evaluate()
    rng = np.random.default_rng(3)
    positive = np.r_[np.ones(15, bool), np.zeros(40, bool)]
    single = rng.normal(positive * 0.5, 1.0)
    better = single + positive * 0.5
    assert evaluate.paired_auc_difference(single, single, positive, rounds=100) == (0.0, 0.0)
    low, high = evaluate.paired_auc_difference(single, better, positive, rounds=300)
    change = ev.roc_auc(better, positive) - ev.roc_auc(single, positive)
    assert 0 <= low <= change <= high


def test_service_section_is_replaced_between_its_markers_and_kept_otherwise():
    sys.path.insert(0, str(ROOT))
    from bench.report import SERVICE_END, SERVICE_START, service_span, with_service_section

    old = "# Benchmarks\n\n<!-- service-view: produced elsewhere -->\nPending.\n<!-- /service-view -->\n\ntail\n"
    new = with_service_section(old, "## Whole service\n\n| a |")
    assert new.startswith("# Benchmarks\n\n") and new.endswith("\n\ntail\n") and "Pending" not in new
    start, end = service_span(new)
    assert new[start:end] == f"{SERVICE_START}\n## Whole service\n\n| a |\n{SERVICE_END}"
    assert with_service_section("# Only a title", "body").endswith(f"{SERVICE_START}\nbody\n{SERVICE_END}\n")


@pytest.mark.slow
def test_service_command_measures_the_real_service_on_a_few_uploads(tmp_path):
    """bench/service.py on one configuration (no worker search) and 3 uploads: ~10 s."""
    markdown, figures = tmp_path / "BENCHMARKS.md", tmp_path / "service.json"
    markdown.write_text("# Benchmarks\n")
    command = [sys.executable, "bench/service.py", "--workers", "1", "--uploads", "3", "--markdown", str(markdown),
               "--json", str(figures)]
    subprocess.run(command, check=True, cwd=ROOT, timeout=55, capture_output=True)
    report = json.loads(figures.read_text())
    (run,) = report["runs"]
    assert run["workers"] == 1 and run["all_workers_loaded"] and report["max_workers"] is None
    assert [p["clients"] for p in run["phases"]] == [1, 2, 4] and all(p["ok"] == 3 for p in run["phases"])
    assert run["peak_rss_mb"] > max(run["worker_peak_rss_mb"]) > 50
    text = markdown.read_text()
    assert text.startswith("# Benchmarks") and "<!-- /service-view -->" in text and "| 1 (default) | 4 | 3/3 |" in text


def test_reliability_bins_hold_each_photo_once_with_its_confidence_and_accuracy():
    probs = np.array([[0.9, 0.1], [0.6, 0.4], [0.3, 0.7], [0.05, 0.95]])
    bins = ev.reliability_bins(probs, [0, 1, 1, 0])
    assert [(b["low"], b["count"]) for b in bins] == [(0.5, 1), (0.6, 1), (0.8, 1), (0.9, 1)]
    assert [b["accuracy"] for b in bins] == [0.0, 1.0, 1.0, 0.0]
    # ECE: |0 - 0.6| + |1 - 0.7| + |1 - 0.9| + |0 - 0.95|, each a quarter of the photos
    assert ev.expected_calibration_error(probs, [0, 1, 1, 0]) == pytest.approx((0.6 + 0.3 + 0.1 + 0.95) / 4)


def test_wilson_interval_is_honest_for_small_counts():
    low, high = ev.wilson_interval(1, 1)
    assert low == pytest.approx(0.2065, abs=1e-4) and high == 1.0  # one of one says little
    low, high = ev.wilson_interval(18, 20)
    assert (low, high) == pytest.approx((0.699, 0.972), abs=1e-3)
    assert ev.wilson_interval(0, 0) is None


def test_bootstrap_rate_interval_brackets_the_rate_and_narrows_with_more_cases():
    small = ev.bootstrap_rate_interval([True] * 9 + [False])
    large = ev.bootstrap_rate_interval([True] * 90 + [False] * 10)
    assert small[0] <= 0.9 <= small[1] and large[0] <= 0.9 <= large[1]
    assert large[1] - large[0] < small[1] - small[0]


def test_roc_curve_steps_through_each_distinct_score_and_its_area_is_the_auc():
    scores, positive = [0.9, 0.8, 0.8, 0.1], [True, False, True, False]
    fpr, tpr = ev.roc_curve(scores, positive)
    assert (fpr, tpr) == ([0.0, 0.0, 0.5, 1.0], [0.0, 0.5, 1.0, 1.0])  # the tie at 0.8 moves both at once
    trapezoids = sum((fpr[i + 1] - fpr[i]) * (tpr[i + 1] + tpr[i]) / 2 for i in range(len(fpr) - 1))
    assert trapezoids == pytest.approx(ev.roc_auc(scores, positive))
