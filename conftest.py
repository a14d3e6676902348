"""Fixtures shared by every test: real labelled photos and bundles built from the real model, and the markers
that split the suite (pytest.ini lists them).

The photos the product's tests need are committed (tests/data, CC-0), so those tests run on any clone; the
larger labelled sets (DATA_ROOT, ../shared by default) feed the figures and thresholds. The fixtures below are
the one way in to them: a test that asks for one is marked `needs_data` and skips with one line without them,
and one not so marked that reaches for them fails (scripts/test.sh runs the others with the sets hidden)."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from Dermal.inference.datasets import ACRAL_DIR, EVAL_DIR, FIXTURES_DIR, HELDOUT_DIR, PHONE_DIR, load_labelled
from tests.once import built_once

ROOT = Path(__file__).resolve().parent
# Keep LiteRT and BLAS to one thread in tests, as in production (render.yaml).
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

LABELLED_SETS = {"eval_items": EVAL_DIR, "heldout_items": HELDOUT_DIR, "acral_items": ACRAL_DIR,
                 "phone_items": PHONE_DIR}
# Fixtures that use the test database: their tests run again on PostgreSQL (scripts/test.sh).
DATABASE_FIXTURES = {"db", "transactional_db", "django_db_reset_sequences", "django_db_serialized_rollback"}


def pytest_collection_modifyitems(items):
    """`needs_data` on every test that asks for a labelled set; `database` on every test that uses the database;
    the slow tests first, so that two workers (pytest-xdist) finish together rather than one waiting on the last."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        if names & set(LABELLED_SETS):
            item.add_marker(pytest.mark.needs_data)
        if names & DATABASE_FIXTURES or item.get_closest_marker("django_db"):
            item.add_marker(pytest.mark.database)


def labelled_set(request, directory):
    """The labelled photos of `directory` for a test marked `needs_data`; a skip with one line without them."""
    if request.node.get_closest_marker("needs_data") is None:
        pytest.fail(f"{request.node.nodeid} reads {directory.name} but is not marked needs_data")
    if not (directory / "images").is_dir():
        pytest.skip(f"{directory} is absent: these figures need the labelled sets (DERMAI_DATA_ROOT, ../shared)")
    return load_labelled(directory)


def labelled_fixture(name, description):
    """A fixture `name` giving the labelled set LABELLED_SETS names, through labelled_set."""
    def items(request):
        return labelled_set(request, LABELLED_SETS[name])

    items.__doc__ = description
    return pytest.fixture(items, name=name)


eval_items = labelled_fixture("eval_items", "The 56 labelled HAM10000 images of ../shared/derm_eval (8 per class).")
heldout_items = labelled_fixture("heldout_items", "The 97 held-out ISIC images of ../shared/derm_heldout (up to "
                                                  "6600x4400 px).")
acral_items = labelled_fixture("acral_items", "The 62 Derm7pt photos of palms and soles of ../shared/derm_acral_dev "
                                              "(read in place).")
phone_items = labelled_fixture("phone_items", "The 33 PAD-UFES-20 smartphone photos of ../shared/derm_phone_dev.")


@pytest.fixture
def heldout_dir(heldout_items):
    """The folder of ../shared/derm_heldout, for commands that read it themselves."""
    return HELDOUT_DIR


@pytest.fixture(scope="session")
def fixture_items():
    """The 16 CC-0 ISIC photos committed under tests/data (mel, akiec, bkl, nv; 1024x768 to 3072x2304)."""
    return load_labelled(FIXTURES_DIR)


@pytest.fixture(scope="session")
def lesion_jpeg(fixture_items):
    """One real dermoscopic JPEG's bytes: a 1024x768 melanoma the model names, with no quality warning."""
    return fixture_items[0].read()


@pytest.fixture(scope="session")
def lesion_image(lesion_jpeg):
    """That photo, decoded (RGB)."""
    import io

    from PIL import Image

    with Image.open(io.BytesIO(lesion_jpeg)) as image:
        return image.convert("RGB")


@pytest.fixture(scope="session")
def keras():
    """Keras on TensorFlow, imported by the tests that ask for it rather than at collection (6 s, ~500 MB)."""
    pytest.importorskip("tensorflow", reason="the offline side needs requirements-offline.txt")
    return pytest.importorskip("keras")


@pytest.fixture(scope="session")
def fp32_bundle(tmp_path_factory, worker_id):
    """An fp32 bundle of sklesion's model, built by quantize_model.py (needs TensorFlow and sklesion), once a
    session whatever the number of workers."""
    pytest.importorskip("tensorflow", reason="building a bundle needs requirements-offline.txt")
    prebuilt = os.environ.get("DERMAI_TEST_FP32_BUNDLE")
    if prebuilt:
        return Path(prebuilt)

    def build(out):
        # Validated on the committed photos, so it is the same bundle on any clone; no trust layer (not what these
        # tests check).
        subprocess.run([sys.executable, str(ROOT / "quantize_model.py"), "--precision", "fp32", "--out", str(out),
                        "--images", str(FIXTURES_DIR), "--trust-sources"], check=True, cwd=ROOT)

    return built_once(tmp_path_factory, worker_id, "bundle-fp32", build)
