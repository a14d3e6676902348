"""`python -m trust` end to end: the real bundle's engine on the committed photos and the made non-lesion photos."""
import json
import os
import shutil
import subprocess
import sys

import pytest

from Dermal.inference.bundle import DEFAULT_BUNDLE_DIR, check_bundle, load_scope_reference
from Dermal.inference.datasets import FIXTURES_DIR, ROOT
from Dermal.inference.scope import GATE_FEATURES
from trust.fresh import fresh_photos
from trust.photos import non_lesion_photos

pytestmark = pytest.mark.slow  # python -m trust in a process of its own


def run(env, *args):
    return subprocess.run([sys.executable, "-m", "trust", *args], cwd=ROOT, env={**os.environ, **env},
                          capture_output=True, text=True, timeout=900)


@pytest.fixture
def two_sources(tmp_path):
    """A data root whose two dermoscopic sources are four committed photos each, none in both (2 malignant, 2 benign
    a source: enough to exercise every step; each photo costs the tool a reading and seven spoiled ones)."""
    root = tmp_path / "data"
    header, *rows = (FIXTURES_DIR / "labels.csv").read_text().splitlines(keepends=True)
    for name, first in (("derm_eval", 0), ("derm_heldout", 2)):
        (root / name).mkdir(parents=True)
        (root / name / "images").symlink_to(FIXTURES_DIR / "images")
        (root / name / "labels.csv").write_text(header + "".join(rows[first::4]))
    bundle = tmp_path / "bundle"
    shutil.copytree(DEFAULT_BUNDLE_DIR, bundle)
    return {"DERMAI_DATA_ROOT": str(root), "DERMAL_BUNDLE_DIR": str(bundle)}, bundle


def test_it_fits_writes_the_gate_and_reports(two_sources, tmp_path):
    env, bundle = two_sources
    before = json.loads((bundle / "manifest.json").read_text())["backbones"]["int8"]
    report = tmp_path / "EVALUATION.md"
    report.write_text("# Evaluation\n\nheld-out section\n")
    done = run(env, "--write-bundle", "--report", str(report))
    assert done.returncode == 0, done.stderr[-2000:]
    manifest, precision, _ = check_bundle(bundle)  # sizes and hashes re-signed
    entry = manifest["backbones"][precision]
    assert entry["scope"]["fitted_on"] == {"derm_eval": 4, "derm_heldout": 4}
    assert set(entry["scope"]["leave_one_source_out"]) == {"derm_eval", "derm_heldout"}
    assert entry["scope"]["sha256"] != before["scope"]["sha256"]
    assert entry["triage"] == before["triage"]  # 2 malignant lesions a source choose nothing: the bundle's thresholds stay
    gate = load_scope_reference(bundle, manifest, precision)
    assert gate["thresholds"]["not_a_lesion"] >= 0 and len(gate["weights"]) == GATE_FEATURES
    text = report.read_text()
    assert text.startswith("# Evaluation\n\nheld-out section") and "## Scope and referral" in text
    assert "| derm_heldout | 4 |" in text and f"| non-lesion photos | {len(non_lesion_photos())} |" in text
    assert f"| non-lesion photos made after the rules (fresh) | {len(fresh_photos())} |" in text
    assert "### Badly taken lesion photos" in text and "| blurred, 6 px | 8 |" in text
    assert "### Other representations, measured the same way" in text
    assert "| skin-lesion backbone, pooled final features: 5-nearest-neighbour cosine distance (the issue's " in text
    assert "| natural-image model (ImageNet), pooled features: 5-nearest-neighbour cosine distance" in text
    assert "natural_reference" in gate and 0 < gate["thresholds"]["natural"] < 1


def test_without_labelled_photos_it_says_where_it_looked(tmp_path):
    done = run({"DERMAI_DATA_ROOT": str(tmp_path), "DERMAL_BUNDLE_DIR": str(tmp_path / "none")})
    assert done.returncode == 1 and "no labelled lesion photos" in done.stderr and str(tmp_path) in done.stderr
