"""The natural-image model built offline: its weights read without PyTorch, rebuilt in Keras, and the bundle's
LiteRT file agreeing with the rebuild, on real photos (scikit-image's samples)."""
import numpy as np
import pytest

from Dermal.inference import engines
from Dermal.inference.imaging import model_input, open_photo
from trust.photos import skimage_photos

pytestmark = pytest.mark.slow  # TensorFlow

IMAGENET_CATS = {281, 282, 283, 284, 285}          # tabby, tiger cat, Persian, Siamese, Egyptian cat
IMAGENET_COFFEE = {504, 967, 968}                  # coffee mug, espresso, cup


@pytest.fixture(scope="module")
def offline_natural(keras):
    return pytest.importorskip("Dermal.inference.offline_natural")


@pytest.fixture(scope="module")
def weights(offline_natural):
    return offline_natural.read_legacy_state_dict(offline_natural.weights_path())


@pytest.fixture(scope="module")
def keras_model(offline_natural, weights):
    return offline_natural.natural_image_model(weights, (254, 254))


def batch_of(name):
    photo = next(p for p in skimage_photos() if p.name == name)
    return model_input(open_photo(photo.jpeg, 254).pixels, 254, 254)


def test_the_legacy_pytorch_file_is_read_whole_without_pytorch(weights):
    assert len(weights) == 296
    assert weights["_conv_stem.weight"].shape == (32, 3, 3, 3) and weights["_fc.weight"].shape == (1000, 1280)
    assert weights["_conv_stem.weight"].dtype == np.float32 and np.isfinite(weights["_fc.weight"]).all()
    assert weights["_bn0.num_batches_tracked"].shape == ()


@pytest.mark.parametrize("name,classes", [("cat", IMAGENET_CATS), ("coffee", IMAGENET_COFFEE)])
def test_the_rebuilt_model_names_what_imagenet_taught_it(offline_natural, keras_model, weights, name, classes):
    pooled = keras_model.predict(batch_of(name), verbose=0)
    assert int(offline_natural.imagenet_logits(weights, pooled).argmax()) in classes


def test_the_bundles_litert_model_agrees_with_the_rebuild(keras_model):
    engine = engines.get_engine()
    for name in ("cat", "coffee", "retina"):
        batch = batch_of(name)
        ours, theirs = engine.natural_features(batch), keras_model.predict(batch, verbose=0)[0]
        assert np.dot(ours, theirs) / np.linalg.norm(ours) / np.linalg.norm(theirs) > 0.99, name
