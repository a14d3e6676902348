"""Fixtures shared by every test: real labelled photos and bundles built from the real model.

The photos the product's tests need are committed (tests/data, CC-0), so those tests run on any clone; the
larger labelled sets (DATA_ROOT, ../shared by default) feed the figures and thresholds, and their tests skip
without them."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from Dermal.inference.datasets import EVAL_DIR, FIXTURES_DIR, HELDOUT_DIR, load_labelled

ROOT = Path(__file__).resolve().parent
# Keep LiteRT and BLAS to one thread in tests, as in production (render.yaml).
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")


def _labelled(directory):
    if not (directory / "images").is_dir():
        pytest.skip(f"{directory} is absent: these figures need the labelled sets (DERMAI_DATA_ROOT, ../shared)")
    return load_labelled(directory)


@pytest.fixture(scope="session")
def eval_items():
    """The 56 labelled HAM10000 images of ../shared/derm_eval (8 per class)."""
    return _labelled(EVAL_DIR)


@pytest.fixture(scope="session")
def heldout_items():
    """The 97 held-out ISIC images of ../shared/derm_heldout (up to 6600x4400 px)."""
    return _labelled(HELDOUT_DIR)


@pytest.fixture(scope="session")
def fixture_items():
    """The 16 CC-0 ISIC photos committed under tests/data (mel, akiec, bkl, nv; 1024x768 to 3072x2304)."""
    return load_labelled(FIXTURES_DIR)


@pytest.fixture(scope="session")
def lesion_jpeg(fixture_items):
    """One real dermoscopic JPEG's bytes: a 1024x768 melanoma the model names, with no quality warning."""
    return fixture_items[0].read()


@pytest.fixture(scope="session")
def fp32_bundle(tmp_path_factory):
    """An fp32 bundle of sklesion's model, built by quantize_model.py (needs TensorFlow and sklesion)."""
    pytest.importorskip("tensorflow", reason="building a bundle needs requirements-offline.txt")
    prebuilt = os.environ.get("DERMAI_TEST_FP32_BUNDLE")
    if prebuilt:
        return Path(prebuilt)
    out = tmp_path_factory.mktemp("bundle-fp32")
    # Validated on the committed photos, so it is the same bundle on any clone; no trust layer (not what these
    # tests check).
    subprocess.run([sys.executable, str(ROOT / "quantize_model.py"), "--precision", "fp32", "--out", str(out),
                    "--images", str(FIXTURES_DIR), "--trust-sources"], check=True, cwd=ROOT)
    return out
