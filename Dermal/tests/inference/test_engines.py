import subprocess
import sys
import threading

import pytest

from Dermal.inference import engines, switches
from Dermal.inference.bundle import BundleError

from ..threads import at_once


def test_engine_loads_once_across_threads(fresh_engine):
    calls = []
    real_build = engines.build_engine

    def counting_build():
        calls.append(threading.get_ident())
        return real_build()

    fresh_engine.setattr(engines, "build_engine", counting_build)
    seen = at_once(engines.get_engine)
    assert len(calls) == 1 and len({id(e) for e in seen}) == 1 and engines.engine_loaded()


def test_nothing_heavy_is_imported_or_loaded_at_import():
    probe = ("import sys, Dermal.AI_detection as d; "
             "print(d.model_loaded(), 'ai_edge_litert' in sys.modules, 'tensorflow' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False", "False"]


def test_litert_engine_never_imports_tensorflow(fixture_items):
    probe = ("import sys; from Dermal.AI_detection import predict_skin_simple as p; import pathlib; "
             f"r = p(pathlib.Path({str(fixture_items[0].path)!r}).read_bytes(), gradcam=True); "
             "print(r.engine, r.top_class in r.probabilities, 'tensorflow' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["litert", "True", "False"]


def test_threads_follow_dermal_threads_then_omp(monkeypatch):
    monkeypatch.delenv("DERMAL_THREADS", raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert switches.thread_count() == 3
    monkeypatch.setenv("DERMAL_THREADS", "2")
    assert switches.thread_count() == 2


def test_unknown_engine_is_a_clear_error(fresh_engine):
    fresh_engine.setenv("DERMAL_ENGINE", "onnx")
    with pytest.raises(BundleError, match="DERMAL_ENGINE"):
        engines.get_engine()
    assert not engines.engine_loaded()


def test_corrupt_backbone_is_a_bundle_error_not_a_crash(fresh_engine, tmp_path):
    import shutil

    from Dermal.inference.bundle import DEFAULT_BUNDLE_DIR

    shutil.copytree(DEFAULT_BUNDLE_DIR, tmp_path / "b")
    (tmp_path / "b" / "backbone_int8.tflite").write_bytes(b"\0" * 100)
    fresh_engine.setenv("DERMAL_BUNDLE_DIR", str(tmp_path / "b"))
    with pytest.raises(BundleError, match="quantize_model.py"):
        engines.get_engine()



def test_a_damaged_natural_image_model_is_a_bundle_error_not_a_crash(fresh_engine, tmp_path):
    import json
    import shutil

    from Dermal.inference.bundle import DEFAULT_BUNDLE_DIR, sha256_of

    shutil.copytree(DEFAULT_BUNDLE_DIR, tmp_path / "b")
    natural = tmp_path / "b" / "natural_int8.tflite"
    natural.write_bytes(b"\0" * 100)
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())
    manifest["natural"].update(bytes=100, sha256=sha256_of(natural))  # passes the checks, then fails to load
    (tmp_path / "b" / "manifest.json").write_text(json.dumps(manifest))
    fresh_engine.setenv("DERMAL_BUNDLE_DIR", str(tmp_path / "b"))
    with pytest.raises(BundleError, match="natural_int8.tflite"):
        engines.get_engine()


def readings_of(engine, jpeg):
    """(scope_reading alone, the reading analyse gives) of a photo: the second look at a photo relies on both
    being the same gate reading."""
    from Dermal.inference import imaging
    from Dermal.inference.bundle import encode_metadata

    batch = imaging.model_input(imaging.open_photo(jpeg, 254).pixels, 254, 254)
    return engine.scope_reading(batch), engine.analyse(batch, encode_metadata(engine.manifest), False).scope


def test_scope_reading_alone_is_the_analysis_reading(lesion_jpeg):
    alone, analysed = readings_of(engines.get_engine(), lesion_jpeg)
    assert alone is not None and alone == analysed


@pytest.mark.slow
def test_keras_scope_reading_alone_is_its_analysis_reading(lesion_jpeg, fresh_engine):
    pytest.importorskip("tensorflow", reason="the Keras engine needs requirements-offline.txt")
    fresh_engine.setenv("DERMAL_ENGINE", "keras")
    alone, analysed = readings_of(engines.get_engine(), lesion_jpeg)
    assert alone is not None and alone == analysed


def test_a_cat_is_far_from_the_lesion_photos_for_the_natural_image_model_and_a_lesion_is_near(lesion_jpeg):
    """The real bundle on real photos: scikit-image's cat (which the skin-lesion backbone alone takes for a lesion
    photo) is not a lesion by its natural-image distance; a committed dermoscopic melanoma is near the lesions."""
    from trust.photos import skimage_photos

    engine = engines.get_engine()
    limit = engine.scope["thresholds"]["natural"]
    cat = next(photo for photo in skimage_photos() if photo.name == "cat")
    far, _ = readings_of(engine, cat.jpeg)
    near, _ = readings_of(engine, lesion_jpeg)
    assert far.natural > limit and far.level == "not_a_lesion"
    assert near.natural < limit and near.level != "not_a_lesion"
