"""`manage.py calibrate_referral`: refuses on too few malignant photos; on derm_heldout it chooses the threshold
`evaluate`'s analyses of the same photos imply, and the web app then uses it."""
import json

import pytest

from Dermal.inference.calibration import SETTING, read_override
from Dermal.inference.datasets import FIXTURES_DIR
from Dermal.inference.triage import threshold_for_sensitivity

from .conftest import manage, read_csv

pytestmark = pytest.mark.slow  # manage.py in a process of its own


def test_too_few_malignant_photos_are_refused_before_any_analysis(tmp_path):
    out = tmp_path / "referral.json"
    done = manage("calibrate_referral", FIXTURES_DIR, "--out", out)
    assert done.returncode == 1
    assert "7 malignant and 9 benign photos" in done.stderr and "at least 20" in done.stderr
    assert not out.exists()


def test_no_override_file_named_is_refused(tmp_path):
    done = manage("calibrate_referral", FIXTURES_DIR, **{SETTING: ""})
    assert done.returncode == 1 and f"--out FILE, or set {SETTING}" in done.stderr


def test_on_heldout_it_chooses_the_threshold_the_evaluation_implies_and_the_app_serves_it(
        heldout_evaluation, heldout_dir, tmp_path):
    out = tmp_path / "referral.json"
    done = manage("calibrate_referral", heldout_dir, "--modes", "single", "--name", "ISIC held-out",
                  "--workers", 2, "--bootstrap", 500, **{SETTING: str(out)})
    assert done.returncode == 0, done.stderr
    entry = read_override(out)["single"]
    # The same photos through evaluate: the highest threshold keeping 90% of the malignant ones.
    rows = read_csv(heldout_evaluation[1] / "analyses.csv")
    expected = threshold_for_sensitivity([float(r["malignant_probability"]) for r in rows],
                                         [r["dx"] in ("akiec", "bcc", "mel") for r in rows], 0.9)
    assert {k: entry[k] for k in expected} == expected and entry["positives"] == 23
    assert entry["sensitivity_ci"][0] < entry["sensitivity"] <= entry["sensitivity_ci"][1]
    assert entry["images"].startswith("97 photos from ISIC held-out, calibrated ")
    assert "single: threshold" in done.stdout
    served = manage("shell", "-c", "import json; from Dermal.AI_detection import predict_skin_simple; "
                    "from Dermal.inference.datasets import FIXTURES_DIR; "
                    "photo = sorted((FIXTURES_DIR / 'images').glob('*.jpg'))[0].read_bytes(); "
                    "print(json.dumps(predict_skin_simple(photo, gradcam=False, flip_average=False).triage))",
                    **{SETTING: str(out)})
    assert json.loads(served.stdout.splitlines()[-1])["images"] == entry["images"], served.stderr
