"""quantize_model.py on small generic Keras classifiers built here, of the usual transfer-learning shapes."""
import json

import numpy as np
import pytest

from Dermal.inference import bundle
from Dermal.inference.bundle import check_bundle
from Dermal.inference.datasets import FIXTURES_DIR
from Dermal.inference.engines import LiteRTEngine
from Dermal.inference.scope import LEVELS

pytestmark = pytest.mark.slow  # TensorFlow: models built and converted

CODES = "akiec,bcc,bkl,df,mel,nv,vasc"


@pytest.fixture(scope="module")
def quantize_model(keras):
    import quantize_model

    return quantize_model


@pytest.fixture(scope="module")
def offline_keras(keras):
    from Dermal.inference import offline_keras

    return offline_keras


def small_cnn(keras, pooling=None, name="base"):
    L = keras.layers
    inputs = keras.Input((48, 48, 3))
    x = L.Conv2D(8, 3, strides=2, activation="relu", name="early_conv")(inputs)
    x = L.BatchNormalization()(x)
    x = L.Conv2D(16, 3, strides=2, activation="relu")(x)
    if pooling:
        x = L.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, x, name=name)


def randomise_batch_norms(keras, model):
    rng = np.random.default_rng(3)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            gamma, beta, mean, var = layer.get_weights()
            layer.set_weights([rng.normal(1, .2, gamma.shape), rng.normal(0, .2, beta.shape),
                               rng.normal(0, .2, mean.shape), rng.uniform(.5, 2, var.shape)])
    return model


def with_metadata_and_top_level_pooling(keras):
    L = keras.layers
    image, meta = keras.Input((48, 48, 3)), keras.Input((10,))
    x = L.GlobalAveragePooling2D()(small_cnn(keras)(L.Rescaling(1 / 255)(image)))
    x = L.BatchNormalization()(L.Dense(12, activation="relu")(L.Dropout(.3)(x)))
    m = L.BatchNormalization()(L.Dense(6, activation="tanh")(meta))
    x = L.Dense(7)(L.Concatenate()([x, m]))
    return randomise_batch_norms(keras, keras.Model([image, meta], L.Activation("softmax")(x)))


def sequential_with_pooling_backbone(keras):
    L = keras.layers
    return keras.Sequential([keras.Input((48, 48, 3)), small_cnn(keras, pooling=True),
                             L.Dense(16, activation="relu"), L.Dense(7, activation="softmax")])


@pytest.fixture(params=[with_metadata_and_top_level_pooling, sequential_with_pooling_backbone])
def saved_model(request, keras, tmp_path):
    path = tmp_path / "model.keras"
    request.param(keras).save(path)
    return path


@pytest.fixture
def props(quantize_model):
    """sklesion's metadata encoding, which the generic metadata model shares (10 values); no trust layer."""
    return ["--props", str(quantize_model.sklesion_model_path().parent / "model_props.pkl"), "--trust-sources"]


def test_generic_model_becomes_a_validated_bundle(quantize_model, offline_keras, keras, saved_model, tmp_path, props):
    out = tmp_path / "bundle"
    assert quantize_model.main([*props, "--source", str(saved_model), "--classes", CODES, "--malignant", "mel",
                                "--precision", "fp32", "--out", str(out), "--images", str(FIXTURES_DIR),
                                "--scope-layers", "early_conv", "--trust-sources", str(FIXTURES_DIR)]) == 0
    manifest, precision, backbone = check_bundle(out)
    validation = manifest["backbones"]["fp32"]["validation"]
    assert validation["top1_agreement"] == 1.0 and validation["max_probability_difference"] < 1e-5
    assert manifest["input"]["height"] == 48 and [c["malignant"] for c in manifest["classes"]].count(True) == 1

    split = offline_keras.SplitModel(keras.models.load_model(saved_model))
    engine = LiteRTEngine(out, manifest, precision, backbone, threads=1)
    image = np.random.default_rng(0).uniform(0, 255, (1, 48, 48, 3)).astype(np.float32)
    meta = np.random.default_rng(1).random((1, 10)).astype(np.float32) if split.meta_name else None
    probs, cam, scope = engine.analyse(image, meta, gradcam=True)
    ref_probs, ref_cam = split.analyse(image, meta)
    assert np.abs(probs - ref_probs).max() < 1e-5 and np.abs(cam - ref_cam).max() < 1e-4
    gate = manifest["backbones"]["fp32"]["scope"]
    assert gate["layers"] == ["early_conv"] and gate["fitted_on"] == {"data": 16}  # the fixtures' folder
    assert scope.level in LEVELS and gate["thresholds"]["not_a_lesion"] >= 0


def test_bundle_under_the_agreement_bar_is_refused(quantize_model, saved_model, tmp_path, monkeypatch, props):
    monkeypatch.setattr(quantize_model, "MIN_AGREEMENT", 1.01)  # no bundle can reach it
    out = tmp_path / "bundle"
    with pytest.raises(SystemExit, match="--force"):
        quantize_model.main([*props, "--source", str(saved_model), "--classes", CODES, "--precision", "fp32",
                             "--out", str(out), "--images", str(FIXTURES_DIR)])
    assert not (out / "manifest.json").exists() and not (out / "backbone_fp32.tflite").exists()


def test_force_writes_it_anyway(quantize_model, saved_model, tmp_path, monkeypatch, props):
    monkeypatch.setattr(quantize_model, "MIN_AGREEMENT", 1.01)
    out = tmp_path / "bundle"
    assert quantize_model.main([*props, "--source", str(saved_model), "--classes", CODES, "--precision", "fp32",
                                "--out", str(out), "--images", str(FIXTURES_DIR), "--force"]) == 0
    assert json.loads((out / "manifest.json").read_text())["default_precision"] == "fp32"


def test_model_without_global_pooling_is_refused_clearly(keras, offline_keras):
    L, inputs = keras.layers, keras.Input((48, 48, 3))
    model = keras.Model(inputs, L.Dense(7, activation="softmax")(L.Flatten()(small_cnn(keras)(inputs))))
    with pytest.raises(offline_keras.UnsupportedModel, match="GlobalAveragePooling2D"):
        offline_keras.SplitModel(model)


def test_sklesion_bundle_records_what_it_was_built_from(fp32_bundle):
    manifest = json.loads((fp32_bundle / "manifest.json").read_text())
    assert manifest["source"]["package"] == "sklesion" and manifest["metadata"]["layout"][0] == "sex"
    assert manifest["versions"]["tensorflow-cpu"] and manifest["feature_map"] == [8, 8, 2048]
    assert manifest["backbones"]["fp32"]["validation"]["top1_agreement"] == 1.0
    assert manifest["natural"]["file"] == "natural_int8.tflite" and manifest["natural"]["features"] == 1280
    assert "EfficientNet-Lite0" in manifest["natural"]["source"]
    assert bundle.natural_model_path(fp32_bundle, manifest).is_file()  # its size and hash checked
