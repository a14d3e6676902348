"""Fixtures for the engine tests: the original Keras model (TensorFlow side) and a fresh engine per test."""
import pytest

from Dermal.inference import engines


@pytest.fixture(scope="session")
def sklesion_split():
    """sklesion's Keras model split into backbone and head (needs requirements-offline.txt and sklesion)."""
    offline = pytest.importorskip("Dermal.inference.offline_keras", reason="needs TensorFlow")
    import quantize_model

    return offline.SplitModel(offline.load_keras_model(quantize_model.sklesion_model_path()))


@pytest.fixture
def fresh_engine(monkeypatch):
    """No engine loaded before the test, none left after it; env changes stay inside the test."""
    engines.reset_engine()
    yield monkeypatch
    engines.reset_engine()
