"""Fixtures shared by every test: the real labelled images in ../shared, and bundles built from the real model."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from Dermal.inference.datasets import EVAL_DIR, HELDOUT_DIR, load_labelled

ROOT = Path(__file__).resolve().parent
# Keep LiteRT and BLAS to one thread in tests, as in production (render.yaml).
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")


def _labelled(directory):
    if not (directory / "images").is_dir():
        pytest.skip(f"{directory} is absent: these checks need the real labelled images from ../shared")
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
def lesion_jpeg(eval_items):
    """One real dermoscopic JPEG's bytes."""
    return eval_items[0].read()


@pytest.fixture(scope="session")
def fp32_bundle(tmp_path_factory):
    """An fp32 bundle of sklesion's model, built by quantize_model.py (needs TensorFlow and sklesion)."""
    pytest.importorskip("tensorflow", reason="building a bundle needs requirements-offline.txt")
    prebuilt = os.environ.get("DERMAI_TEST_FP32_BUNDLE")
    if prebuilt:
        return Path(prebuilt)
    out = tmp_path_factory.mktemp("bundle-fp32")
    no_heldout = tmp_path_factory.mktemp("no-heldout")  # the referral threshold is not what these tests check
    subprocess.run([sys.executable, str(ROOT / "quantize_model.py"), "--precision", "fp32", "--out", str(out),
                    "--heldout", str(no_heldout)], check=True, cwd=ROOT)
    return out
