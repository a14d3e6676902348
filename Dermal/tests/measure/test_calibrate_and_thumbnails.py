"""Calibration's refusal and its entry (the override the web app reads), and the report's thumbnails."""
import base64
import datetime
import io

import numpy as np
import pytest
from PIL import Image

from Dermal.inference.calibration import read_override
from Dermal.measure import calibrate, thumbnails
from Dermal.measure.batch import Job


def test_too_few_malignant_photos_are_refused_with_the_counts_and_the_minimum():
    with pytest.raises(calibrate.TooFewCases, match="7 malignant and 9 benign .* at least 20 of each"):
        calibrate.check_counts(np.r_[np.ones(7, bool), np.zeros(9, bool)])


def test_a_calibrated_entry_meets_the_target_and_is_a_valid_override(tmp_path):
    rng = np.random.default_rng(1)
    scores = np.r_[rng.uniform(0.2, 1.0, 25), rng.uniform(0.0, 0.5, 40)]
    positive = np.r_[np.ones(25, bool), np.zeros(40, bool)]
    entry = calibrate.calibrate(scores, positive, target=0.9, source="Clinic A", precision="int8", rounds=500,
                                today=datetime.date(2026, 11, 29))
    flagged = scores >= entry["threshold"]
    assert entry["sensitivity"] == flagged[positive].mean() >= 0.9
    assert entry["specificity"] == (~flagged[~positive]).mean()
    assert entry["sensitivity_ci"][0] <= entry["sensitivity"] <= entry["sensitivity_ci"][1]
    assert entry["images"] == "65 photos from Clinic A, calibrated 2026-11-29" and entry["photos"] == 65
    path = tmp_path / "deep" / "referral.json"
    calibrate.write_override(path, {"single": entry})
    assert read_override(path)["single"]["threshold"] == entry["threshold"]
    assert [p.name for p in path.parent.iterdir()] == ["referral.json"]  # no temporary left behind


def test_thumbnails_are_small_pngs_of_the_photo_and_its_gradcam(fixture_photos):
    path, label = fixture_photos[0]
    entry = {"path": str(path), "image_id": label.image_id}
    shown = thumbnails.with_thumbnails([entry], {str(path): Job(path)}, flip_average=False)[0]
    for key in ("photo", "gradcam"):
        with Image.open(io.BytesIO(base64.b64decode(shown[key]))) as image:
            assert image.format == "PNG" and max(image.size) == thumbnails.THUMB_SIDE
