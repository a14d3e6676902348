"""`manage.py evaluate`: the report on the committed photos, and on derm_heldout, where the referral it reports
must be the bundle's threshold applied to the malignant probabilities of its own analyses."""
import json
import shutil

import pytest

from Dermal.inference.bundle import DEFAULT_BUNDLE_DIR, read_manifest
from Dermal.inference.datasets import FIXTURES_DIR

from .conftest import manage, read_csv

pytestmark = pytest.mark.slow  # manage.py in a process of its own


@pytest.fixture(scope="module")
def fixture_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("evaluate")
    return manage("evaluate", FIXTURES_DIR, "--out", out, "--workers", 2, "--bootstrap", 300), out


def test_the_report_and_its_json_agree_with_the_analyses(fixture_report):
    done, out = fixture_report
    assert done.returncode == 0, done.stderr
    data = json.loads((out / "report.json").read_text())
    rows = read_csv(out / "analyses.csv")
    assert data["photos"] == len(rows) == 16
    assert data["accuracy"]["hits"] == sum(r["top_class"] == r["dx"] for r in rows)
    assert data["name"] == "data" and data["command"].startswith("python manage.py evaluate")
    html = (out / "report.html").read_text()
    assert "Photos the model got most wrong" in html and "too few photos to mean much" in html
    assert done.stdout.splitlines()[0] in html  # the headline printed is the report's


def test_labels_naming_a_missing_photo_are_refused_before_any_analysis(tmp_path):
    folder = shutil.copytree(FIXTURES_DIR, tmp_path / "photos")
    (folder / "images" / "ISIC_0012633.jpg").unlink()
    done = manage("evaluate", folder, "--out", tmp_path / "report")
    assert done.returncode == 1 and "not found" in done.stderr and "ISIC_0012633" in done.stderr
    assert not (tmp_path / "report").exists()


def test_an_interrupted_evaluation_resumes_from_its_analyses(fixture_report, tmp_path):
    _, first = fixture_report
    out = tmp_path / "again"
    out.mkdir()
    lines = (first / "analyses.csv").read_text().splitlines(keepends=True)
    (out / "analyses.csv.partial").write_text("".join(lines[:12]) + lines[12][:40])  # 11 rows and a cut one
    done = manage("evaluate", FIXTURES_DIR, "--out", out, "--workers", 1, "--bootstrap", 300)
    assert done.returncode == 0, done.stderr
    assert "resuming: 11 photo(s) already analysed" in done.stderr
    again, before = (json.loads((d / "report.json").read_text()) for d in (out, first))
    assert again["confusion"] == before["confusion"] and again["referral"] == before["referral"]


def test_on_heldout_the_referral_is_measured_at_the_bundles_threshold(heldout_evaluation, heldout_dir):
    done, out = heldout_evaluation
    assert done.returncode == 0, done.stderr
    data = json.loads((out / "report.json").read_text())
    rows = read_csv(out / "analyses.csv")
    threshold = read_manifest(DEFAULT_BUNDLE_DIR)["backbones"]["int8"]["triage"]["single"]["threshold"]
    malignant = [r for r in rows if r["dx"] in ("akiec", "bcc", "mel")]
    labels = read_csv(heldout_dir / "labels.csv")
    assert data["photos"] == len(rows) == len(labels) and data["referral"]["threshold"] == threshold
    assert data["referral"]["malignant"] == len(malignant) == sum(r["dx"] in ("akiec", "bcc", "mel") for r in labels)
    caught = sum(float(r["malignant_probability"]) >= threshold for r in malignant)
    assert data["referral"]["sensitivity"] == caught / len(malignant)
    low, high = data["referral"]["sensitivity_interval"]
    assert low <= caught / len(malignant) <= high and high - low < 0.4
    assert data["melanoma_vs_nevus"]["melanomas"] == sum(r["dx"] == "mel" for r in labels)
