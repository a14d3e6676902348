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
    extras = figures["heldout_extras"]
    assert set(extras["flip_average"]) == {"keras", "int8"} and extras["flip_average"]["int8"]["images"] == 4
    assert "## Flip averaging on held-out photos" in report and "chosen and measured on the same" in report
    for picture in ("confusion_int8.png", "gradcam_examples.png"):
        assert (tmp_path / picture).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# --- bench/evaluate.py's held-out additions and bench/report.py's service section (no model needed) ----------

def bench_evaluate():
    sys.path.insert(0, str(ROOT))
    from bench import evaluate

    return evaluate


def heldout(labels):
    from types import SimpleNamespace

    return SimpleNamespace(name="derm_heldout", samples=[SimpleNamespace(dx=label) for label in labels])


MANIFEST_CLASSES = [{"code": "mel", "malignant": True}, {"code": "nv", "malignant": False}]


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


def test_triage_check_reproduces_the_stored_threshold_and_its_figures():
    from Dermal.inference.triage import threshold_for_sensitivity

    evaluate = bench_evaluate()
    labels = ["mel"] * 10 + ["nv"] * 20
    scores = np.r_[np.linspace(0.3, 0.9, 10), np.linspace(0.0, 0.5, 20)]
    stored = {**threshold_for_sensitivity(scores, np.array(labels) == "mel", 0.9), "target_sensitivity": 0.9}
    manifest = {"classes": MANIFEST_CLASSES, "backbones": {"int8": {"triage": {"single": stored}}}}
    checks = evaluate.triage_check(manifest, heldout(labels), {"single": scores}, "int8")
    assert checks["single"]["rechosen"]["threshold"] == stored["threshold"]
    assert checks["single"]["at_manifest_threshold"] == {k: stored[k] for k in ("sensitivity", "specificity")}
    assert evaluate.triage_matches({"int8": checks})
    shifted = evaluate.triage_check(manifest, heldout(labels), {"single": scores + 0.05}, "int8")
    assert not evaluate.triage_matches({"int8": shifted})
    assert evaluate.triage_check(manifest, heldout(["nv"] * 3), {"single": scores[:3]}, "int8") == {}


def test_scope_check_counts_scores_above_the_threshold():
    evaluate = bench_evaluate()
    manifest = {"backbones": {"int8": {"scope": {"threshold": 1.5, "layers": ["a"], "heldout_lesions_flagged": 0.25}}}}
    check = evaluate.scope_check(manifest, "int8", np.array([1.0, 1.5, 1.6, 2.0]))
    assert check["measured_flagged"] == 0.5 and check["manifest_flagged"] == 0.25 and check["images"] == 4
    assert evaluate.scope_check(manifest, "fp16", np.array([1.0])) is None


def test_service_section_is_replaced_between_its_markers_and_kept_otherwise():
    sys.path.insert(0, str(ROOT))
    from bench.report import SERVICE_END, SERVICE_START, service_span, with_service_section

    old = "# Benchmarks\n\n<!-- service-view: produced elsewhere -->\nPending.\n<!-- /service-view -->\n\ntail\n"
    new = with_service_section(old, "## Whole service\n\n| a |")
    assert new.startswith("# Benchmarks\n\n") and new.endswith("\n\ntail\n") and "Pending" not in new
    start, end = service_span(new)
    assert new[start:end] == f"{SERVICE_START}\n## Whole service\n\n| a |\n{SERVICE_END}"
    assert with_service_section("# Only a title", "body").endswith(f"{SERVICE_START}\nbody\n{SERVICE_END}\n")


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
