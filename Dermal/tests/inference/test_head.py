"""The NumPy head's forward pass and its exact gradient, on a head of every supported layer kind."""
import numpy as np
import pytest

from Dermal.inference.head import NumpyHead, gradcam

rng = np.random.default_rng(7)
LAYERS = [
    {"name": "d1", "op": "dense", "activation": "relu", "inputs": ["pooled"]},
    {"name": "bn1", "op": "affine", "inputs": ["d1"]},
    {"name": "m1", "op": "dense", "activation": "tanh", "inputs": ["meta"]},
    {"name": "m2", "op": "activation", "activation": "sigmoid", "inputs": ["m1"]},
    {"name": "cat", "op": "concat", "inputs": ["bn1", "m2"]},
    {"name": "drop", "op": "identity", "inputs": ["cat"]},
    {"name": "out", "op": "dense", "activation": "softmax", "inputs": ["drop"]},
]
WEIGHTS = {
    "d1/kernel": rng.normal(size=(16, 12)), "d1/bias": rng.normal(size=12),
    "bn1/scale": rng.normal(size=12), "bn1/shift": rng.normal(size=12),
    "m1/kernel": rng.normal(size=(4, 6)), "m1/bias": rng.normal(size=6),
    "out/kernel": rng.normal(size=(18, 5)), "out/bias": rng.normal(size=5),
}


@pytest.fixture
def head():
    return NumpyHead(LAYERS, WEIGHTS)


def test_forward_matches_the_layers_written_out(head):
    pooled, meta = rng.normal(size=(1, 16)), rng.normal(size=(1, 4))
    probs, logits, _ = head.forward(pooled, meta)
    hidden = np.maximum(pooled @ WEIGHTS["d1/kernel"] + WEIGHTS["d1/bias"], 0) * WEIGHTS["bn1/scale"] + WEIGHTS["bn1/shift"]
    side = 1 / (1 + np.exp(-np.tanh(meta @ WEIGHTS["m1/kernel"] + WEIGHTS["m1/bias"])))
    expected = np.concatenate([hidden, side], axis=1) @ WEIGHTS["out/kernel"] + WEIGHTS["out/bias"]
    assert np.allclose(logits, expected)
    assert np.allclose(probs, np.exp(expected) / np.exp(expected).sum())


@pytest.mark.parametrize("class_index", range(5))
def test_pooled_gradient_equals_finite_differences(head, class_index):
    pooled, meta = rng.normal(size=(1, 16)), rng.normal(size=(1, 4))
    _, _, trace = head.forward(pooled, meta)
    grad = head.pooled_gradient(trace, class_index)[0]
    step = 1e-6
    numeric = np.array([
        (head.forward(pooled + step * np.eye(16)[k], meta)[1][0, class_index]
         - head.forward(pooled - step * np.eye(16)[k], meta)[1][0, class_index]) / (2 * step)
        for k in range(16)])
    assert np.allclose(grad, numeric, atol=1e-6)


def test_unsupported_layer_is_refused_when_loading():
    with pytest.raises(ValueError, match="unsupported"):
        NumpyHead([{"name": "x", "op": "conv", "inputs": ["pooled"]}], {})


def test_gradcam_is_relu_of_weighted_maps_scaled_to_one():
    fmap = rng.random((8, 8, 16)).astype(np.float32)
    grad = rng.normal(size=16)
    cam = gradcam(fmap, grad)
    raw = np.maximum((fmap * (grad / 64)).sum(-1), 0)
    assert cam.shape == (8, 8) and cam.max() == pytest.approx(1.0)
    assert np.allclose(cam, raw / raw.max(), atol=1e-6)


def test_gradcam_of_an_all_negative_map_is_zero_not_nan():
    cam = gradcam(np.ones((4, 4, 3), np.float32), -np.ones(3))
    assert not np.isnan(cam).any() and cam.max() == 0


def test_output_size_is_the_last_dense_width(head):
    assert head.output_size == 5
    through_activation = [*LAYERS[:-1], {**LAYERS[-1], "activation": "linear"},
                          {"name": "soft", "op": "activation", "activation": "softmax", "inputs": ["out"]}]
    assert NumpyHead(through_activation, WEIGHTS).output_size == 5
