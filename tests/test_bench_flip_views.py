"""bench/flip_views.py: each photo's views, the candidate the engine serves, and the figures per candidate (the
measurement itself is the command's: docs/flip_views.md)."""
import numpy as np
import pytest

from bench.flip_views import CANDIDATES, HELDOUT, SERVED, candidate_figures, document, view_probabilities
from Dermal.inference import imaging
from Dermal.inference.bundle import encode_metadata
from Dermal.inference.engines import get_engine
from trust.referral_fit import choose_threshold

pytestmark = pytest.mark.slow  # 32 backbone runs on photos up to 3072x2304


@pytest.fixture(scope="module")
def photos(fixture_items):
    """Every other committed photo: 4 malignant and 4 benign, 1024x768 to 3072x2304."""
    return fixture_items[::2]


@pytest.fixture(scope="module")
def views(photos):
    return view_probabilities(get_engine(), photos)


def test_the_served_candidate_is_the_engines_flip_average(photos, views):
    engine = get_engine()
    assert views.shape == (len(photos), 4, len(engine.manifest["classes"]))
    for item, photo_views in zip(photos, views):
        meta = encode_metadata(engine.manifest, item.age, item.sex, item.site)
        batch = imaging.model_input(imaging.open_photo(item.read(), 254).pixels, 254, 254)
        served = engine.analyse(batch, meta, gradcam=False, flip_average=True).probabilities
        assert np.allclose(photo_views[list(CANDIDATES[SERVED])].mean(axis=0), served, atol=1e-9)
        assert np.allclose(photo_views[0], engine.analyse(batch, meta, gradcam=False).probabilities, atol=1e-9)


def test_each_candidate_is_measured_on_its_own_average(photos, views):
    # the photos three times over, so that the source has the 10 malignant lesions a choosing source needs
    classes = get_engine().manifest["classes"]
    dx = {HELDOUT: np.array([item.dx for item in photos] * 3)}
    figures = candidate_figures({HELDOUT: np.concatenate([views] * 3)}, dx, classes)
    assert list(figures) == list(CANDIDATES)
    malignant = [c["malignant"] for c in classes]
    positive = {HELDOUT: np.isin(dx[HELDOUT], ["akiec", "bcc", "mel"])}
    for name, f in figures.items():
        scores = np.concatenate([views] * 3)[:, CANDIDATES[name]].mean(axis=1)[:, malignant].sum(axis=1)
        assert f["runs"] == len(CANDIDATES[name])
        assert f["threshold"] == choose_threshold({HELDOUT: scores}, positive)
        assert f["cross_validated"]["positives"] == 12 and 0 <= f["mean_cv_specificity"] <= 1
    text = document(figures, [HELDOUT])
    assert f"| **{SERVED}** (served) | 2 | {figures[SERVED]['threshold']:.4f} |" in text
