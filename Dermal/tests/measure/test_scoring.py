"""The evaluation's figures from real rows: the committed photos through the serving model."""
import pytest

from Dermal.measure import scoring


@pytest.fixture(scope="module")
def figures(fixture_rows, class_info):
    return scoring.evaluate(fixture_rows, class_info, rounds=300)


def test_accuracy_and_confusion_count_every_photo_once(figures, fixture_rows):
    right = sum(r["top_class"] == r["dx"] for r in fixture_rows)
    assert figures["photos"] == 16 and figures["accuracy"]["hits"] == right
    assert figures["accuracy"]["value"] == right / 16
    assert sum(map(sum, figures["confusion"])) == 16
    assert figures["counts"] == {"akiec": 2, "bkl": 2, "mel": 5, "nv": 7}


def test_per_class_recall_and_precision_carry_counts_and_intervals(figures, fixture_rows):
    mel = figures["per_class"]["mel"]
    predicted_mel = [r for r in fixture_rows if r["top_class"] == "mel"]
    assert mel["photos"] == mel["recall"]["count"] == 5
    assert mel["precision"]["count"] == len(predicted_mel)
    assert mel["recall"]["hits"] == sum(r["dx"] == "mel" for r in predicted_mel)
    low, high = mel["recall"]["interval"]
    assert low <= mel["recall"]["value"] <= high


def test_classes_of_two_photos_are_flagged_as_too_few(figures):
    assert set(figures["small_classes"]) >= {"akiec", "bkl"}
    assert figures["per_class"]["bcc"]["recall"]["value"] is None  # no photo: no figure, not zero


def test_referral_is_measured_as_it_was_given(figures, fixture_rows):
    ref = figures["referral"]
    malignant = [r for r in fixture_rows if r["dx"] in ("akiec", "mel")]
    assert (ref["malignant"], ref["benign"]) == (7, 9)
    assert ref["sensitivity"] == sum(r["referral"] == "True" for r in malignant) / 7
    assert ref["threshold"] == float(fixture_rows[0]["referral_threshold"])
    low, high = ref["specificity_interval"]
    assert low <= ref["specificity"] <= high


def test_melanoma_vs_nevus_roc_and_the_scope_shares(figures):
    roc = figures["melanoma_vs_nevus"]
    assert (roc["melanomas"], roc["nevi"]) == (5, 7) and 0 <= roc["auc"] <= 1
    assert roc["fpr"][0] == roc["tpr"][0] == 0 and roc["fpr"][-1] == roc["tpr"][-1] == 1
    assert sum(s["count"] for s in figures["scope"].values()) == 16


def test_most_wrong_photos_are_wrong_and_worst_first(figures, fixture_rows):
    wrong = figures["most_wrong"]
    assert all(e["top_class"] != e["dx"] for e in wrong)
    assert [e["p_true"] for e in wrong] == sorted(e["p_true"] for e in wrong)
    assert len(wrong) == min(scoring.MOST_WRONG, sum(r["top_class"] != r["dx"] for r in fixture_rows))


def test_failed_photos_are_listed_and_not_scored(fixture_rows, class_info):
    failed = {**fixture_rows[0], "error": "the file is not an image"}
    figures = scoring.evaluate([failed, *fixture_rows[1:]], class_info, rounds=100)
    assert figures["photos"] == 15 and figures["failed"] == [{"path": failed["path"], "error": failed["error"]}]
    with pytest.raises(ValueError, match="no photo could be analysed"):
        scoring.evaluate([failed], class_info)
