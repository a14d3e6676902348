"""Reference checks: the serving path (Pillow, LiteRT, NumPy head) against TensorFlow and the Keras original,
on the real photos the tests carry (tests/data); the int8 bundle's agreement bar on derm_eval, where it was set."""
import numpy as np
import pytest

from Dermal.inference import imaging
from Dermal.inference.bundle import DEFAULT_BUNDLE_DIR, check_bundle, encode_metadata, scope_entry
from Dermal.inference.engines import LiteRTEngine
from Dermal.inference.evaluation import agreement
from Dermal.inference.scope import photo_statistics, read_scope


pytestmark = pytest.mark.slow  # TensorFlow and an fp32 bundle built from the Keras model
SIZE = (254, 254)


def engine_for(directory, precision=None):
    manifest, precision, backbone = check_bundle(directory, precision)
    return LiteRTEngine(directory, manifest, precision, backbone, threads=2)


@pytest.fixture(scope="module")
def offline(keras):
    return pytest.importorskip("Dermal.inference.offline_keras")


@pytest.fixture(scope="module")
def fp32_engine(fp32_bundle):
    return engine_for(fp32_bundle, "fp32")


def pillow_input(item):
    return imaging.model_input(imaging.open_photo(item.read(), SIZE[0]).pixels, *SIZE)


def meta_of(engine, item):
    return encode_metadata(engine.manifest, item.age, item.sex, item.site)


def keras_probabilities(split, batches, metas):
    return split.model.predict([np.concatenate(batches), np.concatenate(metas)], batch_size=8, verbose=0)


def test_fp32_bundle_matches_keras_on_every_image(fp32_engine, sklesion_split, fixture_items):
    batches = [pillow_input(i) for i in fixture_items]
    metas = [meta_of(fp32_engine, i) for i in fixture_items]
    ours = np.stack([fp32_engine.analyse(b, m, gradcam=False)[0] for b, m in zip(batches, metas)])
    top1, max_diff = agreement(keras_probabilities(sklesion_split, batches, metas), ours)
    assert top1 == 1.0 and max_diff < 1e-4


def test_committed_int8_bundle_agrees_with_keras(sklesion_split, eval_items):
    """The 98% bar quantize_model.py held the bundle to, on the photos it measured it on (int8 rounding moves one
    borderline photo of 16, or 2 of the 97 held-out ones: a bar for a large set, not for the committed few)."""
    engine = engine_for(DEFAULT_BUNDLE_DIR)
    batches = [pillow_input(i) for i in eval_items]
    metas = [meta_of(engine, i) for i in eval_items]
    ours = np.stack([engine.analyse(b, m, gradcam=False)[0] for b, m in zip(batches, metas)])
    top1, max_diff = agreement(keras_probabilities(sklesion_split, batches, metas), ours)
    assert top1 >= 0.98 and max_diff < 0.25


def test_pillow_preprocessing_matches_tensorflow_within_002(offline, fp32_engine, fixture_items):
    diffs = []
    for item in fixture_items:
        meta = meta_of(fp32_engine, item)
        ours = fp32_engine.analyse(pillow_input(item), meta, gradcam=False)[0]
        reference = fp32_engine.analyse(offline.tf_reference_input(item.read(), SIZE), meta, gradcam=False)[0]
        diffs.append(np.abs(ours - reference).max())
    assert max(diffs) < 0.02, f"largest probability difference {max(diffs):.4f}"


def test_numpy_gradcam_equals_gradient_tape_within_1e4(fp32_engine, sklesion_split, fixture_items):
    for item in {item.dx: item for item in fixture_items}.values():  # one photo per class
        batch, meta = pillow_input(item), meta_of(fp32_engine, item)
        probs, cam, _ = fp32_engine.analyse(batch, meta, gradcam=True)
        ref_probs, ref_cam = sklesion_split.analyse(batch, meta)
        assert probs.argmax() == ref_probs.argmax()
        assert cam.shape == ref_cam.shape == (8, 8)
        assert np.abs(cam - ref_cam).max() < 1e-4, item.path.name


def test_head_description_reproduces_the_keras_head(sklesion_split):
    from Dermal.inference.head import NumpyHead

    head = NumpyHead(*sklesion_split.describe_head())
    pooled = np.random.default_rng(1).random((3, 2048)).astype(np.float32)
    meta = np.repeat(encode_metadata(engine_for(DEFAULT_BUNDLE_DIR).manifest, "50", "male", "arm"), 3, axis=0)
    expected = sklesion_split.run_head(pooled, meta).numpy()
    assert np.allclose(head.forward(pooled, meta)[0], expected, atol=1e-6)


def test_scope_statistics_of_the_fp32_bundle_equal_the_keras_layers(offline, fp32_engine, fixture_items):
    split = offline.SplitModel(offline.load_keras_model(fp32_engine.manifest["source"]["path"]),
                               scope_layers=scope_entry(fp32_engine.manifest, "fp32")["layers"])
    gate = engine_for(DEFAULT_BUNDLE_DIR).scope  # the committed gate reads statistics of the same layers
    for item in fixture_items[::5]:
        batch = pillow_input(item)
        ours = fp32_engine.run_backbone(batch)[1]
        theirs = split.scope_statistics(batch)
        assert np.allclose(ours, theirs, rtol=1e-3, atol=1e-3)
        photo = photo_statistics(batch)
        assert read_scope(ours, photo, gate).score == pytest.approx(read_scope(theirs, photo, gate).score, abs=1e-3)
