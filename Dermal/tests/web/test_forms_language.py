"""The form's words (labels, help, choices, errors) and sizes in the active language; English as it was."""
import pytest
from django.utils import translation

from Dermal.forms import METADATA_LABELS, NOT_GIVEN, AnalysisForm, AnalysisPageForm, megabytes, metadata_label
from Dermal.inference.bundle import DEFAULT_BUNDLE_DIR, read_manifest


@pytest.fixture(scope="module")
def manifest():
    return read_manifest(DEFAULT_BUNDLE_DIR)


def choices(form, field):
    return [(value, str(label)) for value, label in form.fields[field].choices]


def test_every_metadata_value_of_the_bundle_has_a_translatable_label_worded_as_before(manifest):
    for field in ("sex", "site"):
        values = manifest["metadata"][field]["values"]
        assert set(values) <= set(METADATA_LABELS[field]), f"a new {field} value: label it in forms.METADATA_LABELS"
        with translation.override("en"):
            assert choices(AnalysisForm(manifest=manifest), field) == \
                [("", "Not given")] + [(value, value.replace("-", " ").capitalize()) for value in values]


def test_a_value_without_a_label_is_labelled_from_its_code():
    assert metadata_label("site", "lower-back") == "Lower back"
    assert metadata_label("eye colour", "blue") == "Blue"


def test_the_form_speaks_vietnamese(manifest, pseudo_vietnamese):
    with translation.override("vi"):
        form = AnalysisPageForm(manifest=manifest)
        assert choices(form, "sex") == [("", "[vi] Not given"), ("female", "[vi] Female"), ("male", "[vi] Male"),
                                        ("unknown", "[vi] Unknown")]
        assert choices(form, "site")[2] == ("head-or-neck", "[vi] Head or neck")
        assert [str(form.fields[name].label) for name in ("image", "age", "sex", "site", "gradcam", "flip_average")] \
            == ["[vi] Photo", "[vi] Age", "[vi] Sex", "[vi] Body site", "[vi] Grad-CAM heatmap", "[vi] Flip averaging"]
        assert str(form.fields["flip_average"].help_text).startswith("[vi] twice as slow")
        refused = AnalysisForm({"gradcam": "maybe"}, manifest=manifest)
        assert not refused.is_valid() and refused.errors["gradcam"] == ["[vi] must be true or false"]
    with translation.override("en"):
        assert str(NOT_GIVEN) == "Not given" and str(form.fields["image"].label) == "Photo"


@pytest.mark.parametrize("size, english, vietnamese", [
    (10 * 1024 * 1024, "10.0 MB", "10,0 MB"), (int(1.96 * 1024 * 1024), "2.0 MB", "2,0 MB"),
    (int(11.46 * 1024 * 1024), "11.5 MB", "11,5 MB"), (0, "0.0 MB", "0,0 MB"), (12345, "0.0 MB", "0,0 MB"),
])
def test_megabytes_round_as_before_and_take_the_languages_decimal_separator(size, english, vietnamese):
    assert f"{size / (1024 * 1024):.1f} MB" == english
    with translation.override("en"):
        assert megabytes(size) == english
    with translation.override("vi"):
        assert megabytes(size) == vietnamese
