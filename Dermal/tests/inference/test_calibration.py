"""The calibrated referral override: read when DERMAI_REFERRAL_OVERRIDE names a usable file, used by the
serving entry point, and never a reason to fail an analysis when the file is missing or damaged."""
import json
import logging

import pytest

from Dermal.AI_detection import predict_skin_simple
from Dermal.inference import calibration
from Dermal.inference.bundle import DEFAULT_BUNDLE_DIR, read_manifest
from Dermal.inference.calibration import OVERRIDE_FILE, SETTING, override_entry


def bundle_entry():
    """The serving bundle's own single-pass referral entry."""
    return read_manifest(DEFAULT_BUNDLE_DIR)["backbones"]["int8"]["triage"]["single"]


def entry(threshold, precision="int8"):
    return {"threshold": threshold, "sensitivity": 0.9, "specificity": 0.5, "positives": 20, "negatives": 30,
            "target_sensitivity": 0.9, "images": "50 photos from Clinic A, calibrated 2026-11-29",
            "source": "Clinic A", "calibrated_on": "2026-11-29", "photos": 50, "sensitivity_ci": [0.7, 1.0],
            "specificity_ci": [0.3, 0.7], "precision": precision}


@pytest.fixture
def override(tmp_path, monkeypatch, fresh_engine):
    """Write an override file and point the setting at it."""
    path = tmp_path / "referral.json"
    monkeypatch.setenv(SETTING, str(path))

    def write(content):
        path.write_text(content if isinstance(content, str) else json.dumps(content))
        return path
    return write


def test_no_setting_means_no_override(monkeypatch):
    monkeypatch.delenv(SETTING, raising=False)
    assert override_entry("single", "int8") is None


def test_a_valid_file_gives_its_entry_per_mode(override):
    override({"single": entry(0.01), "flip_average": entry(0.03)})
    assert override_entry("single", "int8")["threshold"] == 0.01
    assert override_entry("flip_average", "int8")["source"] == "Clinic A"


def test_the_served_entry_names_its_file_but_not_where_it_lives(override):
    path = override({"single": entry(0.01)})
    served = override_entry("single", "int8")
    assert served[OVERRIDE_FILE] == "referral.json"  # for the history
    assert str(path.parent) not in json.dumps(served)


def test_the_analysis_uses_the_calibrated_threshold_and_says_where_it_came_from(override, lesion_jpeg):
    override({"single": entry(1.0)})  # nothing reaches it: no referral, whatever the photo
    never = predict_skin_simple(lesion_jpeg, gradcam=False, flip_average=False)
    override({"single": entry(0.0)})  # everything reaches it
    always = predict_skin_simple(lesion_jpeg, gradcam=False, flip_average=False)
    assert never.referral is False and always.referral is True
    assert always.triage["images"] == "50 photos from Clinic A, calibrated 2026-11-29"
    assert always.triage["sensitivity_ci"] == [0.7, 1.0]


@pytest.mark.parametrize("content, reason", [
    ("{not json", "Expecting property name"),
    ({"single": {"threshold": 0.01}}, "lacks sensitivity"),
    ({"single": entry(7.0)}, "is not a probability"),
    ({"single": entry(0.01), "weekly": entry(0.01)}, "'weekly' is not a mode"),
    ({"weekly": entry(0.01)}, "no entry for single or flip_average"),
])
def test_a_damaged_file_is_logged_and_the_bundle_threshold_kept(override, lesion_jpeg, caplog, content, reason):
    override(content)
    with caplog.at_level(logging.ERROR, logger="dermai"):
        result = predict_skin_simple(lesion_jpeg, gradcam=False, flip_average=False)
    assert result.triage == bundle_entry()
    assert reason in caplog.text and SETTING in caplog.text


def test_a_missing_file_is_logged_once_not_per_analysis(override, lesion_jpeg, caplog, tmp_path, monkeypatch):
    monkeypatch.setenv(SETTING, str(tmp_path / "gone.json"))
    calibration._entry.cache_clear()
    with caplog.at_level(logging.ERROR, logger="dermai"):
        results = [predict_skin_simple(lesion_jpeg, gradcam=False, flip_average=False) for _ in range(2)]
    assert all(r.triage == bundle_entry() for r in results)
    assert len([r for r in caplog.records if "gone.json" in r.getMessage()]) == 1


def test_an_override_for_another_precision_is_not_applied(override, caplog):
    override({"single": entry(0.5, precision="fp32")})
    with caplog.at_level(logging.ERROR, logger="dermai"):
        assert override_entry("single", "int8") is None
    assert "calibrated for the fp32 model" in caplog.text


def test_a_file_rewritten_in_place_is_read_again(override):
    path = override({"single": entry(0.01)})
    assert override_entry("single", "int8")["threshold"] == 0.01
    path.write_text(json.dumps({"single": entry(0.0205)}))  # another size: another version of the file
    assert override_entry("single", "int8")["threshold"] == 0.0205
