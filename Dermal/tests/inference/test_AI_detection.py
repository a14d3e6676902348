"""The serving entry point on real photos: what a caller of predict_skin_simple gets."""
import io

import pytest
from PIL import Image

from Dermal.AI_detection import ImageError, MetadataError, model_loaded, predict_skin_simple
from Dermal.inference.bundle import BundleError

CODES = ["akiec", "bcc", "bkl", "df", "mel", "nv", "vasc"]


@pytest.fixture(autouse=True)
def _engine(fresh_engine):
    return fresh_engine


def test_first_call_loads_the_model_lazily(lesion_jpeg):
    assert not model_loaded()
    predict_skin_simple(lesion_jpeg, gradcam=False)
    assert model_loaded()


def test_result_carries_all_classes_and_a_consistent_top(lesion_jpeg):
    result = predict_skin_simple(lesion_jpeg, age=50, sex="male", site="arm", gradcam=True)
    assert list(result.probabilities) == CODES
    assert sum(result.probabilities.values()) == pytest.approx(1.0, abs=1e-6)
    assert result.top_class == max(result.probabilities, key=result.probabilities.get)
    assert result.top_probability == result.probabilities[result.top_class]
    assert result.malignant_probability == pytest.approx(sum(result.probabilities[c] for c in ("akiec", "bcc", "mel")))
    assert result.top_name and result.top_description and result.engine == "litert" and result.precision == "int8"
    assert set(result.timings) >= {"load", "preprocess", "inference", "render", "total"}
    assert result.ranked()[0][0] == result.top_class and "overlay_png" not in result.summary()


def test_gradcam_overlay_is_a_png_the_size_of_the_shown_photo(lesion_jpeg):
    result = predict_skin_simple(lesion_jpeg, gradcam=True)
    overlay = Image.open(io.BytesIO(result.overlay_png))
    photo = Image.open(io.BytesIO(result.photo_jpeg))
    assert result.gradcam and overlay.format == "PNG" and overlay.size == photo.size == (640, 480)  # 1024x768


def test_gradcam_off_by_argument_and_by_environment(lesion_jpeg, monkeypatch):
    assert predict_skin_simple(lesion_jpeg, gradcam=False).overlay_png is None
    monkeypatch.setenv("ENABLE_GRADCAM", "false")
    result = predict_skin_simple(lesion_jpeg)
    assert not result.gradcam and result.overlay_png is None
    assert predict_skin_simple(lesion_jpeg, gradcam=True).overlay_png is not None


def test_predictions_match_the_labels_on_most_eval_images(eval_items):
    right = sum(predict_skin_simple(i.read(), i.age, i.sex, i.site, gradcam=False).top_class == i.dx
                for i in eval_items)
    assert right / len(eval_items) >= 0.9  # 0.96 measured; these images were likely seen in training


def test_large_photo_is_analysed_and_shown_small(fixture_items):
    largest = max(fixture_items, key=lambda i: i.path.stat().st_size)
    result = predict_skin_simple(largest.read(), gradcam=True)
    assert max(result.image_size) >= 1000 and max(Image.open(io.BytesIO(result.overlay_png)).size) <= 640


def test_metadata_changes_the_answer_through_the_model(lesion_jpeg):
    young = predict_skin_simple(lesion_jpeg, age=5, sex="female", site="head-or-neck", gradcam=False)
    old = predict_skin_simple(lesion_jpeg, age=95, sex="male", site="trunk", gradcam=False)
    assert young.probabilities != old.probabilities


@pytest.mark.parametrize("data", [b"", b"GIF89a not really", b"\xff\xd8\xff\xe0 broken jpeg"])
def test_malformed_bytes_raise_image_error(data):
    with pytest.raises(ImageError) as caught:
        predict_skin_simple(data)
    assert caught.value.status in (400, 415)


def test_bad_metadata_raises_naming_the_field(lesion_jpeg):
    with pytest.raises(MetadataError) as caught:
        predict_skin_simple(lesion_jpeg, age=200)
    assert caught.value.field == "age"


def test_missing_bundle_raises_bundle_error(lesion_jpeg, monkeypatch, tmp_path):
    monkeypatch.setenv("DERMAL_BUNDLE_DIR", str(tmp_path))
    with pytest.raises(BundleError):
        predict_skin_simple(lesion_jpeg)


@pytest.mark.slow
def test_keras_engine_gives_the_same_result_object(lesion_jpeg, monkeypatch):
    pytest.importorskip("tensorflow", reason="the Keras engine needs requirements-offline.txt")
    litert = predict_skin_simple(lesion_jpeg, gradcam=True)
    from Dermal.inference import engines

    engines.reset_engine()
    monkeypatch.setenv("DERMAL_ENGINE", "keras")
    keras = predict_skin_simple(lesion_jpeg, gradcam=True)
    assert keras.engine == "keras" and keras.top_class == litert.top_class
    assert keras.overlay_png and abs(keras.top_probability - litert.top_probability) < 0.25


def test_flip_average_is_the_mean_of_the_photo_and_the_photo_turned_upside_down(lesion_jpeg):
    import numpy as np

    from Dermal.inference import imaging
    from Dermal.inference.engines import get_engine

    averaged = predict_skin_simple(lesion_jpeg, gradcam=True, flip_average=True)
    engine = get_engine()
    batch = imaging.model_input(imaging.open_photo(lesion_jpeg, 254).pixels, 254, 254)
    views = [batch, np.rot90(batch, 2, axes=(1, 2))]
    expected = np.mean([engine.analyse(v, engine_meta(engine), False)[0] for v in views], axis=0)
    assert averaged.flip_average and averaged.overlay_png
    assert np.allclose(list(averaged.probabilities.values()), expected, atol=1e-9)


def engine_meta(engine):
    from Dermal.inference.bundle import encode_metadata

    return encode_metadata(engine.manifest)


@pytest.mark.parametrize("flip_average,mode", [(False, "single"), (True, "flip_average")])
def test_referral_follows_the_bundles_held_out_threshold(fixture_items, flip_average, mode):
    melanoma = next(i for i in fixture_items if i.dx == "mel")
    result = predict_skin_simple(melanoma.read(), gradcam=False, flip_average=flip_average)
    from Dermal.inference.engines import get_engine

    triage = get_engine().manifest["backbones"]["int8"]["triage"][mode]
    assert result.triage == triage and triage["sensitivity"] >= 0.9
    assert result.referral == (result.malignant_probability >= triage["threshold"])


def test_quality_warnings_reach_the_result(lesion_jpeg):
    dark = Image.open(io.BytesIO(lesion_jpeg)).point(lambda v: v // 5)
    buffer = io.BytesIO()
    dark.save(buffer, "JPEG")
    result = predict_skin_simple(buffer.getvalue(), gradcam=False)
    assert [w.code for w in result.warnings] == ["too_dark"]
    assert result.summary()["warnings"][0]["code"] == "too_dark"
