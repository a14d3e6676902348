"""The out-of-scope gate: its arithmetic, and its flag rates on photos it never saw.

Which photos chose what: the layers and the 97th-percentile rule were chosen while looking at sklesion's
statistics on ../shared/derm_eval, ../shared/derm_heldout and scikit-image's samples (so those figures carry
some selection); the reference and threshold themselves come from derm_eval alone (quantize_model.py).
Measured here: held-out ISIC lesion photos (never in the reference), scikit-image's sample photos (from the
installed package) and generated non-photos (noise, a text document, a flat gradient).
"""
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from Dermal.AI_detection import predict_skin_simple
from Dermal.inference.scope import leave_one_out_scores, reference_from, scope_score, threshold_from

rng = np.random.default_rng(5)


def png(image):
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def text_document():
    page = Image.new("RGB", (600, 800), "white")
    draw = ImageDraw.Draw(page)
    for y in range(40, 760, 24):
        draw.text((40, y), "Patient letter: results of the consultation, follow-up in three months. " * 2, fill="black")
    return page


def generated_non_photos():
    return {
        "noise": Image.fromarray(rng.integers(0, 256, (450, 600, 3), dtype=np.uint8)),
        "document": text_document(),
        "gradient": Image.fromarray(np.tile(np.linspace(0, 255, 600).astype(np.uint8), (450, 1))).convert("RGB"),
    }


def skimage_photos():
    data = Path(pytest.importorskip("skimage", reason="needs requirements-dev.txt").__file__).parent / "data"
    return {p.name: Image.open(p) for p in sorted(data.iterdir()) if p.suffix in (".png", ".jpg")}


def flagged(images):
    return {name: predict_skin_simple(png(image), gradcam=False).out_of_scope for name, image in images.items()}


def test_score_is_zero_at_the_reference_mean_and_grows_with_distance():
    stats = rng.normal(size=(20, 6))
    mean, std = reference_from(stats)
    sizes = [2, 4]
    assert scope_score(mean, mean, std, sizes) == pytest.approx(0)
    assert scope_score(mean + 3 * std, mean, std, sizes) == pytest.approx(3)
    assert scope_score(mean + 5 * std, mean, std, sizes) > scope_score(mean + std, mean, std, sizes)


def test_threshold_is_the_quantile_of_left_out_scores():
    stats = rng.normal(size=(30, 5))
    loo = leave_one_out_scores(stats, [5])
    mean, std = reference_from(stats)
    assert all(loo > scope_score(stats, mean, std, [5]))  # a left-out photo is always farther
    assert threshold_from(stats, [5], 0.5) == pytest.approx(np.quantile(loo, 0.5))


def test_at_least_90_percent_of_non_lesion_photos_are_flagged():
    results = {**flagged(skimage_photos()), **flagged(generated_non_photos())}
    rate = np.mean(list(results.values()))
    print(f"non-lesion photos flagged out of scope: {rate:.1%} of {len(results)}")
    assert rate >= 0.9, sorted(name for name, out in results.items() if not out)
    assert all(flagged(generated_non_photos()).values())


def test_at_most_5_percent_of_held_out_lesion_photos_are_flagged(heldout_items):
    results = [predict_skin_simple(i.read(), i.age, i.sex, i.site, gradcam=False).out_of_scope for i in heldout_items]
    print(f"held-out lesion photos flagged out of scope: {np.mean(results):.1%} of {len(results)}")
    assert np.mean(results) <= 0.05


def test_verdict_carries_score_and_threshold(lesion_jpeg):
    result = predict_skin_simple(lesion_jpeg, gradcam=False)
    assert result.out_of_scope is False and 0 < result.scope_score <= result.scope_threshold
    summary = result.summary()
    assert {"out_of_scope", "scope_score", "scope_threshold"} <= set(summary)


def test_a_text_document_is_out_of_scope_whatever_the_diagnosis_says():
    result = predict_skin_simple(png(text_document()), gradcam=True)
    assert result.out_of_scope and result.scope_score > result.scope_threshold
    assert result.top_probability > 0  # the probabilities are still there, behind the verdict
