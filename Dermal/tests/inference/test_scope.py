"""The scope gate at serving time: its arithmetic, and its verdicts on real photos through the real bundle.

The gate's figures on photos that chose nothing (leave-one-source-out) are made by `python -m trust` and kept in
docs/EVALUATION.md; here the committed bundle is checked on the photos at hand: the committed CC-0 lesion
photos, the labelled sets of ../shared when present, and non-lesion photos made at run time (trust/photos.py).
"""
import numpy as np
import pytest

from Dermal.AI_detection import predict_skin_simple
from Dermal.inference.quality import GREY
from Dermal.inference.scope import (DIM_GREY_LEVEL, LEVELS, NOISE_STRUCTURE, NORMAL_GREY_LEVEL, RULED, ScopeReading,
                                    allowing_for_quality, brightened, leave_one_out_scores, level_of,
                                    LESION_MEAN_COLOUR, grey_level, natural_distance, needs_second_look,
                                    not_a_lesion_reasons,
                                    photo_statistics, read_scope, reference_from, scope_score, second_look)
from trust.photos import SPOILS, chart_photos, generated_photos, skimage_photos, spoiled_photo

rng = np.random.default_rng(5)
THRESHOLDS = {"unusual": -1.0, "not_a_lesion": 2.0}
GATE = {"mean": np.zeros(5), "std": np.ones(5), "sizes": [5], "feature_mean": np.zeros(7), "feature_scale": np.ones(7),
        "weights": np.zeros(7), "intercept": 0.0, "thresholds": THRESHOLDS, "colourless_saturation": 0.04}


def test_distance_is_zero_at_the_reference_mean_and_grows_with_distance():
    stats = rng.normal(size=(20, 6))
    mean, std = reference_from(stats)
    sizes = [2, 4]
    assert scope_score(mean, mean, std, sizes) == pytest.approx(0)
    assert scope_score(mean + 3 * std, mean, std, sizes) == pytest.approx(3)
    assert scope_score(mean + 5 * std, mean, std, sizes) > scope_score(mean + std, mean, std, sizes)


def test_a_left_out_photo_is_always_farther_than_a_member():
    stats = rng.normal(size=(30, 5))
    mean, std = reference_from(stats)
    assert all(leave_one_out_scores(stats, [5]) > scope_score(stats, mean, std, [5]))


def test_levels_follow_the_two_thresholds_and_no_colour_means_not_a_lesion():
    assert [level_of(s, False, THRESHOLDS) for s in (-2.0, -1.0, 0.5, 2.0, 2.1)] == \
        ["lesion", "lesion", "unusual", "unusual", "not_a_lesion"]
    assert level_of(-5.0, True, THRESHOLDS) == "not_a_lesion"


def test_a_photo_among_the_reference_is_near_and_one_at_right_angles_is_far():
    reference = np.eye(3)[[0, 0, 0, 0, 1, 1]] * [[1], [2], [3], [4], [1], [1]]
    assert natural_distance([[7.0, 0, 0]], reference) == pytest.approx([0.2])  # 4 of its 5 nearest parallel
    assert natural_distance([[0, 0, 1.0]], reference) == pytest.approx([1.0])


def test_leaving_itself_out_a_reference_photo_is_not_its_own_neighbour():
    reference = np.array([[1.0, 0], [1, 0], [0, 1], [0, 1], [0, 1], [0, 1], [0, 1]])
    within = natural_distance(reference, reference, leave_self_out=True)
    assert within[0] == pytest.approx(0.8)   # one twin left among its five nearest, the other four at right angles
    assert within[2] == pytest.approx(0.2)   # four twins left: the fifth nearest is at right angles
    assert natural_distance(reference[:1], reference)[0] == pytest.approx(0.6)
    assert natural_distance(np.eye(3), np.eye(3), leave_self_out=True) == pytest.approx([1.0] * 3)  # fewer than 5


def test_a_photo_farther_from_the_lesion_photos_than_the_natural_threshold_is_not_a_lesion_whatever_its_score():
    thresholds = {**THRESHOLDS, "natural": 0.5}
    assert level_of(-5.0, False, thresholds, natural=0.6) == "not_a_lesion"
    assert level_of(-5.0, False, thresholds, natural=0.4) == "lesion"
    assert level_of(-5.0, False, THRESHOLDS, natural=0.9) == "lesion"  # a gate fitted without the model
    gate = {**GATE, "thresholds": thresholds, "natural_reference": np.eye(4)[[0, 0, 0, 0, 0, 1]]}
    photo = photo_statistics(np.broadcast_to(np.array([224.0, 172.0, 150.0]), (1, 16, 16, 3)))
    near, far = (read_scope(np.zeros(5), photo, gate, features) for features in (np.eye(4)[0], np.eye(4)[3]))
    assert (near.level, near.natural) == ("lesion", pytest.approx(0.0))
    assert (far.level, far.natural) == ("not_a_lesion", pytest.approx(1.0))
    assert np.isnan(read_scope(np.zeros(5), photo, gate).natural)  # an engine without the model


def test_photo_statistics_tell_grey_from_skin():
    grey = np.full((1, 16, 16, 3), 128.0)
    skin = np.broadcast_to(np.array([224.0, 172.0, 150.0]), (1, 16, 16, 3))
    skin_share, saturation, red_minus_blue, colourful, other_hue, edges, shown, unlike_skin, *_ = photo_statistics(grey)
    assert (skin_share, saturation, red_minus_blue, other_hue, edges, shown, unlike_skin) == (0, 0, 0, 0, 0, 0, 0)
    assert colourful == pytest.approx(0)
    skin_share, saturation, red_minus_blue, _, other_hue, edges, shown, unlike_skin, *_ = photo_statistics(skin)
    assert skin_share == 1 and saturation == pytest.approx(1 - 150 / 224) and red_minus_blue > 0.25
    assert (other_hue, edges, unlike_skin) == (0, 0, 0) and shown == pytest.approx(saturation)


def test_colour_is_judged_on_the_pixels_not_clipped_white():
    """A washed-out lesion photo: nine tenths clipped white, the rest skin. Its mean saturation says no colour."""
    washed = np.full((1, 20, 20, 3), 255.0)
    washed[0, :2] = (224, 172, 150)
    statistics = photo_statistics(washed)
    saturation, shown = statistics[1], statistics[6]
    assert saturation < 0.04 and shown == pytest.approx(1 - 150 / 224)
    assert photo_statistics(np.full((1, 8, 8, 3), 255.0))[6] == 0


def test_photo_statistics_count_green_blue_and_purple_pixels_and_sharp_edges():
    half_green = np.broadcast_to(np.array([224.0, 172.0, 150.0]), (1, 16, 16, 3)).copy()
    half_green[0, :, :8] = (40, 160, 60)
    other_hue, edges, _, unlike_skin = photo_statistics(half_green)[4:8]
    assert other_hue == unlike_skin == 0.5
    assert edges == pytest.approx(1 / 15)  # one column of 15 sampled steps crosses the border


def test_detail_beyond_a_plane_is_nil_for_flat_colours_and_gradients_and_judged_at_a_normal_exposure():
    rows, columns = np.indices((32, 32)) / 32
    gradient = np.stack([200 * rows, 150 * columns + 50, np.full_like(rows, 90)], axis=-1)[None]
    assert photo_statistics(gradient)[8] == pytest.approx(0, abs=1e-3)
    spotted = np.full((1, 32, 32, 3), 200.0)
    spotted[0, 12:20, 12:20] = 100                   # a dark spot on plain skin: detail no plane explains
    detail = photo_statistics(spotted)[8]
    assert detail > 20
    dimmer, dimmest = (photo_statistics(spotted * dim)[8] for dim in (0.5, 0.25))  # both read at mean grey 128
    assert dimmer == pytest.approx(dimmest, rel=1e-3) and dimmer > detail * 0.5


def test_a_photo_mostly_green_blue_or_purple_or_featureless_is_unexplained_by_quality(lesion_jpeg):
    from Dermal.inference.imaging import model_input, open_photo

    def reading(photo):
        return read_scope(np.ones(5), photo_statistics(photo), GATE)

    skin = np.broadcast_to(np.array([224.0, 172.0, 150.0]), (1, 16, 16, 3)).copy()
    skin[0, 4:10, 4:10] = (120, 70, 60)              # a lesion on skin
    assert not reading(skin).unexplained_by_quality
    skin[0, :, :7] = (40, 60, 200)                   # 44% blue
    assert reading(skin).unexplained_by_quality
    assert reading(np.full((1, 16, 16, 3), (200.0, 30.0, 30.0))).unexplained_by_quality  # flat red
    lesion = model_input(open_photo(lesion_jpeg, 254).pixels, 254, 254)
    assert not reading(lesion).unexplained_by_quality


def test_noise_has_no_structure_and_a_lesion_photo_or_a_flat_colour_has(lesion_jpeg):
    from Dermal.inference.imaging import model_input, open_photo

    lesion = model_input(open_photo(lesion_jpeg, 254).pixels, 254, 254)
    noise = np.clip(rng.normal(128, 40, (1, 254, 254, 3)), 0, 255)
    assert photo_statistics(noise)[10] < 0.05 < NOISE_STRUCTURE < 0.6 < photo_statistics(lesion)[10]
    assert photo_statistics(np.full((1, 8, 8, 3), 128.0))[10] == 1


def axes_frame(size=254, thickness=1):
    """A white page with a chart's axes: thin black lines over 3/4 of a row and of a column."""
    page = np.full((1, size, size, 3), 255.0)
    page[0, 200:200 + thickness, 40:230] = page[0, 10:200, 40:40 + thickness] = 0
    return page


def test_a_chart_s_axes_are_ruled_lines_and_a_lesion_photo_has_none(lesion_jpeg):
    from Dermal.inference.imaging import model_input, open_photo

    lesion = model_input(open_photo(lesion_jpeg, 254).pixels, 254, 254)
    assert photo_statistics(lesion)[11] < RULED / 2
    for thickness in (1, 2, 3):
        assert photo_statistics(axes_frame(thickness=thickness))[11] == pytest.approx(190 / 254, abs=0.02)
    assert photo_statistics(axes_frame(thickness=6))[11] == 0   # a band, not a line
    one_way = axes_frame()
    one_way[0, 10:200, 40] = 255                                # a horizontal line alone: a ruler's edge, a hair
    assert photo_statistics(one_way)[11] < 0.01


def test_a_line_drawn_at_a_slant_is_not_ruled():
    page = np.full((1, 254, 254, 3), 255.0)
    columns = np.arange(20, 234)
    page[0, (100 + 0.1 * columns).astype(int), columns] = 0     # 6 degrees off the row
    page[0, columns, (100 + 0.1 * columns).astype(int)] = 0
    assert photo_statistics(page)[11] < 0.15


def test_a_ruled_photo_is_unexplained_by_quality_yet_only_its_score_makes_it_not_a_lesion():
    frame = axes_frame()
    frame[0, 100:140, 100:140] = (200, 120, 100)                # some colour: not plainly colourless
    reading = read_scope(np.ones(5), photo_statistics(frame), GATE)   # its score is 0: unusual
    assert reading.unexplained_by_quality and reading.level == "unusual" and not reading.plainly_not_skin
    assert not needs_second_look(reading._replace(level="not_a_lesion"))


def test_noise_or_a_photo_mostly_green_blue_or_purple_is_not_a_lesion_whatever_its_score():
    def reading(photo):
        return read_scope(np.ones(5), photo_statistics(photo), GATE)  # its score is 0: unusual

    skin = np.broadcast_to(np.array([224.0, 172.0, 150.0]), (1, 16, 16, 3)).copy()
    skin[0, 4:10, 4:10] = (120, 70, 60)               # a lesion on it
    assert reading(skin).level == "unusual"
    skin[0, :, :7] = (40, 60, 200)                    # 44% vivid blue
    assert reading(skin).level == "not_a_lesion" and not needs_second_look(reading(skin))
    assert reading(skin).plainly_not_skin == "unlike_skin"
    noise = np.clip(rng.normal(128, 40, (1, 64, 64, 3)), 0, 255)
    assert reading(noise).level == "not_a_lesion" and not needs_second_look(reading(noise))
    assert reading(noise).plainly_not_skin == "noise"
    assert reading(np.full((1, 8, 8, 3), 128.0)).plainly_not_skin == "no_colour"


def test_the_reasons_for_not_a_lesion_are_every_bar_the_photo_is_past_and_none_at_other_levels():
    far = ScopeReading("not_a_lesion", 5.0, 3.0, "noise", True, False, 0.8, True)
    assert not_a_lesion_reasons(far, THRESHOLDS) == ["noise", "score", "natural_image"]
    assert not_a_lesion_reasons(far._replace(plainly_not_skin="", score=1.0), THRESHOLDS) == ["natural_image"]
    assert not_a_lesion_reasons(far._replace(level="unusual"), THRESHOLDS) == []
    assert not_a_lesion_reasons(None, THRESHOLDS) == []


def test_gaussian_noise_is_not_a_lesion_though_colour_balanced_it_scores_under_the_bar():
    photo = next(p for p in generated_photos() if p.name == "gaussian noise")
    result = predict_skin_simple(photo.jpeg, gradcam=False, flip_average=False)
    assert result.scope == "not_a_lesion" and result.out_of_scope and "noise" in result.scope_reasons


def test_a_text_page_has_more_sharp_edges_than_any_committed_lesion_photo(fixture_items):
    from Dermal.inference.imaging import model_input, open_photo

    def edges(jpeg):
        return photo_statistics(model_input(open_photo(jpeg, 254).pixels, 254, 254))[5]  # sharp-edge share

    page = next(p for p in generated_photos() if p.name == "text page")
    assert edges(page.jpeg) > max(edges(item.read()) for item in fixture_items)


def test_the_result_carries_the_level_its_score_and_both_thresholds(lesion_jpeg):
    result = predict_skin_simple(lesion_jpeg, gradcam=False)
    assert result.scope in LEVELS and result.out_of_scope == (result.scope == "not_a_lesion")
    assert result.scope_thresholds["unusual"] < result.scope_thresholds["not_a_lesion"]
    assert {"scope", "scope_score", "scope_thresholds", "out_of_scope"} <= set(result.summary())


@pytest.mark.slow  # every committed photo
def test_no_committed_lesion_photo_is_called_not_a_lesion(fixture_items):
    levels = [predict_skin_simple(i.read(), i.age, i.sex, i.site, gradcam=False).scope for i in fixture_items]
    assert "not_a_lesion" not in levels, levels


@pytest.mark.parametrize("name", ["text page", "uniform noise", "mid grey", "landscape", "stripes"])
def test_drawn_non_photos_are_not_a_lesion_and_keep_their_probabilities(name):
    photo = next(p for p in generated_photos() if p.name == name)
    result = predict_skin_simple(photo.jpeg, gradcam=True)
    assert result.scope == "not_a_lesion" and result.out_of_scope
    assert result.scope_score > result.scope_thresholds["not_a_lesion"] or name == "mid grey"  # grey: no colour
    assert sum(result.probabilities.values()) == pytest.approx(1, abs=1e-5) and result.overlay_png


@pytest.mark.needs_data
@pytest.mark.parametrize("items", ["heldout_items", "eval_items"])
def test_at_most_2_percent_of_a_dermoscopic_source_is_called_not_a_lesion(items, request):
    photos = request.getfixturevalue(items)
    levels = [predict_skin_simple(i.read(), i.age, i.sex, i.site, gradcam=False, flip_average=False).scope
              for i in photos]
    print(f"{items}: " + ", ".join(f"{level} {levels.count(level)}" for level in LEVELS))
    assert levels.count("not_a_lesion") <= 0.02 * len(levels)


@pytest.mark.needs_data
@pytest.mark.parametrize("items", ["acral_items", "phone_items"], ids=["acral", "phone"])
def test_at_most_2_percent_of_lesion_photos_unlike_dermoscopy_are_called_not_a_lesion(items, request):
    """Acral melanoma is the commonest melanoma in dark skin; phones are what users hold: unusual, not "no lesion"."""
    levels = [predict_skin_simple(i.read(), i.age, i.sex, i.site, gradcam=False, flip_average=False).scope
              for i in request.getfixturevalue(items)]
    print(f"{items}: " + ", ".join(f"{level} {levels.count(level)}" for level in LEVELS))
    assert levels.count("not_a_lesion") <= 0.02 * len(levels)


def test_a_quality_warning_lowers_only_not_a_lesion_and_only_while_the_photo_has_colour():
    reading = ScopeReading("not_a_lesion", 5.0, 3.0, False, False, False)
    assert allowing_for_quality(reading, ["too_dark"]).level == "unusual"
    assert allowing_for_quality(reading, ["blurry"]).level == "unusual"
    assert allowing_for_quality(reading, ["too_small"]).level == "not_a_lesion"
    assert allowing_for_quality(reading._replace(plainly_not_skin="no_colour", unexplained_by_quality=True),
                                ["too_bright"]).level == "not_a_lesion"
    assert allowing_for_quality(reading._replace(level="lesion"), ["too_bright"]).level == "lesion"
    assert allowing_for_quality(None, ["too_dark"]) is None


def test_no_quality_warning_excuses_a_photo_no_badly_taken_lesion_photo_looks_like():
    garish = ScopeReading("not_a_lesion", 5.0, 3.0, False, True, False)
    for codes in (["too_dark"], ["too_bright"], ["blurry"]):
        assert allowing_for_quality(garish, codes).level == "not_a_lesion"
    assert allowing_for_quality(garish, ["too_dark"], garish._replace(score=1.0, level="lesion")).level == \
        "not_a_lesion"
    assert not needs_second_look(garish)


def test_an_exposure_warning_does_not_excuse_a_photo_beyond_the_natural_bar_but_blur_does():
    """Darkened or washed out, no lesion photo of 248 went beyond it (trust/spoil_fit.py); blurred, a few did."""
    far = ScopeReading("not_a_lesion", 5.0, 3.0, False, False, False, 0.8, True)
    for codes in (["too_bright"], ["too_dark"]):
        assert allowing_for_quality(far, codes, far).level == "not_a_lesion"
    assert allowing_for_quality(far, ["too_bright", "blurry"], far).level == "unusual"
    assert allowing_for_quality(far, ["too_bright"], far._replace(level="unusual")).level == "unusual"  # 2nd look
    assert allowing_for_quality(far._replace(beyond_natural=False), ["too_bright"], far).level == "unusual"


def test_a_photo_is_looked_at_twice_only_when_that_decides_its_level():
    reading = ScopeReading("not_a_lesion", 5.0, 3.0, False, False, False)
    assert needs_second_look(reading)
    assert not needs_second_look(reading._replace(level="unusual"))
    assert not needs_second_look(reading._replace(plainly_not_skin="noise", unexplained_by_quality=True))
    assert not needs_second_look(None)


def test_the_second_look_brightens_a_dim_photo_and_colour_balances_any_other():
    dim = np.full((1, 4, 4, 3), DIM_GREY_LEVEL - 1, np.float32)
    assert np.allclose(second_look(dim), brightened(dim))
    skin = rng.uniform(60, 220, (1, 8, 8, 3)).astype(np.float32)
    skin *= (LESION_MEAN_COLOUR / skin[0].reshape(-1, 3).mean(axis=0)).astype(np.float32)  # a lesion photo's mean
    tinted = skin * np.array([0.8, 1.0, 1.2], np.float32)                                  # under a cold light
    assert grey_level(tinted) >= DIM_GREY_LEVEL
    assert np.allclose(second_look(tinted), np.clip(skin, 0, 255), atol=1e-3)


def test_brightening_undoes_a_darkening_by_scaling():
    photo = rng.uniform(40, 200, (1, 8, 8, 3)).astype(np.float32)
    photo *= NORMAL_GREY_LEVEL / float((photo[0] @ GREY).mean())
    assert np.allclose(brightened(photo * 0.3), photo, atol=1e-3)
    assert float((brightened(photo * 0.1)[0] @ GREY).mean()) == pytest.approx(NORMAL_GREY_LEVEL, rel=1e-4)


def test_a_dim_photo_stays_not_a_lesion_only_if_no_nearer_a_lesion_once_brightened():
    dark = ScopeReading("not_a_lesion", 5.0, 3.0, False, False, True)
    for codes in (["too_dark"], []):  # too dark, or dim without a warning
        assert allowing_for_quality(dark, codes, dark._replace(score=6.0)).level == "not_a_lesion"
        assert allowing_for_quality(dark, codes, dark._replace(score=4.0)).level == "unusual"
        assert allowing_for_quality(dark, codes, dark._replace(level="unusual", score=6.0)).level == "unusual"
    # confirmed once brightened, yet blurred: the blur still explains the oddness
    assert allowing_for_quality(dark, ["too_dark", "blurry"], dark._replace(score=6.0)).level == "unusual"


def test_a_photo_not_dim_stays_not_a_lesion_if_colour_balanced_it_still_is_however_near():
    tinted = ScopeReading("not_a_lesion", 5.0, 3.0, False, False, False)
    assert allowing_for_quality(tinted, [], tinted._replace(score=2.5)).level == "not_a_lesion"
    assert allowing_for_quality(tinted, [], tinted._replace(level="unusual", score=1.0)).level == "unusual"


def test_the_night_sky_is_not_a_lesion_under_its_too_dark_warning():
    """Hubble's deep field is too dark; brightened it is still no lesion, and no nearer one."""
    sky = next(p for p in skimage_photos() if p.name == "hubble_deep_field")
    result = predict_skin_simple(sky.jpeg, gradcam=False, flip_average=False)
    assert "too_dark" in [warning.code for warning in result.warnings]
    assert result.scope == "not_a_lesion" and result.out_of_scope


@pytest.mark.parametrize("name", ["red", "colour gradient"])
def test_a_flat_colour_or_gradient_is_not_a_lesion_despite_its_blur_warning(name):
    photo = next(p for p in generated_photos() if p.name == name)
    result = predict_skin_simple(photo.jpeg, gradcam=False, flip_average=False)
    assert "blurry" in [warning.code for warning in result.warnings]
    assert result.scope == "not_a_lesion" and result.out_of_scope


def test_the_rocket_at_dusk_is_not_a_lesion_though_dim_blue_is_no_lesion_colour():
    """Dim (mean grey 60) and, brightened, nearer a lesion than before; but most of it is blue sky."""
    rocket = next(p for p in skimage_photos() if p.name == "rocket")
    result = predict_skin_simple(rocket.jpeg, gradcam=False, flip_average=False)
    assert result.scope == "not_a_lesion" and result.out_of_scope


def test_a_line_chart_on_white_is_not_a_lesion_under_its_too_bright_warning_for_its_axes_are_ruled():
    """Too bright, and no farther than a washed-out lesion photo for the natural-image model: its ruled axes are
    what no badly taken lesion photo has."""
    chart = next(p for p in chart_photos() if p.name == "line chart")
    result = predict_skin_simple(chart.jpeg, gradcam=False, flip_average=False)
    assert "too_bright" in [warning.code for warning in result.warnings]
    assert result.scope_natural_distance < result.scope_thresholds["natural"]
    assert result.scope == "not_a_lesion" and result.out_of_scope


def test_a_scatter_plot_on_white_is_not_a_lesion_under_its_too_bright_warning():
    """Too bright, as a washed-out lesion photo is; but the natural-image model sees it farther from the lesion
    photos than any lesion photo, and exposure never takes one there."""
    plot = next(p for p in chart_photos() if p.name == "scatter plot")
    result = predict_skin_simple(plot.jpeg, gradcam=False, flip_average=False)
    assert "too_bright" in [warning.code for warning in result.warnings]
    assert result.scope_natural_distance > result.scope_thresholds["natural"]
    assert result.scope == "not_a_lesion" and result.out_of_scope


@pytest.mark.parametrize("name", ["derm7pt_case334_Fbl048", "derm7pt_case150_nll032"])
def test_an_acral_nevus_under_a_blue_cast_is_not_called_not_a_lesion_thanks_to_its_colour_balanced_look(
        name, acral_items):
    """Under a cold light (red 0.8x, blue 1.2x) these acral nevi score as not lesions, with no warning to excuse
    them; scaled back to a lesion photo's mean colour they read as lesions again, so they are served `unusual`."""
    item = next(item for item in acral_items if item.path.stem == name)
    result = predict_skin_simple(spoiled_photo(item, "blue cast"), gradcam=False, flip_average=False)
    assert result.scope_score > result.scope_thresholds["not_a_lesion"]  # what the gate alone says
    assert result.scope == "unusual" and result.out_of_scope is False and not result.warnings


@pytest.mark.slow
@pytest.mark.parametrize("spoil", SPOILS)
def test_a_badly_taken_committed_lesion_photo_is_never_called_not_a_lesion(fixture_items, spoil):
    """Darkened to 30% and 15%, washed out by a flash (2x: up to 96% of the pixels clipped white), or blurred."""
    for item in fixture_items:
        result = predict_skin_simple(spoiled_photo(item, spoil), gradcam=False, flip_average=False)
        assert result.scope in ("lesion", "unusual") and result.out_of_scope is False, item.path.name
