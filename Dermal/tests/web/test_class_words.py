"""The serving bundle's words for people (class names and descriptions, the referral's basis) are registered for
translation, and translated where they reach a person."""
import copy

import pytest
from django.utils import translation

from Dermal import class_words
from Dermal.inference.bundle import DEFAULT_BUNDLE_DIR, read_manifest


@pytest.fixture(scope="module")
def manifest():
    return read_manifest(DEFAULT_BUNDLE_DIR)


def test_every_class_name_description_and_triage_wording_of_the_bundle_is_registered(manifest):
    """A new bundle with new wording fails here until its strings are added to Dermal/class_words.py."""
    assert class_words.unregistered(manifest) == []
    triage = [entry for backbone in manifest["backbones"].values() for entry in (backbone.get("triage") or {}).values()]
    assert triage and all(entry["images"] in class_words.REGISTERED for entry in triage)
    assert all(entry["measured_on"] in class_words.REGISTERED for entry in triage)


def test_the_registered_names_and_descriptions_follow_the_manifests_order(manifest):
    assert list(class_words.CLASS_NAMES) == [entry["name"] for entry in manifest["classes"]]
    assert list(class_words.CLASS_DESCRIPTIONS) == [entry["description"] for entry in manifest["classes"]]


def test_new_wording_in_a_bundle_is_found(manifest):
    changed = copy.deepcopy(manifest)
    changed["classes"][4]["name"] = "Cutaneous melanoma"
    changed["backbones"]["int8"]["triage"]["single"]["measured_on"] = "a clinic's own photos"
    assert class_words.unregistered(changed) == ["Cutaneous melanoma", "a clinic's own photos"]


def test_manifest_words_are_translated_and_unknown_ones_shown_as_they_are(pseudo_vietnamese):
    with translation.override("vi"):
        assert class_words.translated("Melanoma") == "[vi] Melanoma"
        assert class_words.translated("A class of a new bundle") == "A class of a new bundle"
        assert class_words.translated("") == ""  # not the catalogue's header
        assert class_words.translated(None) is None
    with translation.override("en"):
        assert class_words.translated("Melanoma") == "Melanoma"


def test_the_triage_words_name_no_photo_set_in_any_language(manifest):
    """The manifest names the project's photo sets (derm_eval, derm_heldout); a person reads plain words."""
    entry = manifest["backbones"]["int8"]["triage"]["flip_average"]
    for language in ("en", "vi"):
        with translation.override(language):
            shown = class_words.translated_triage(entry)
        assert "derm_" not in shown["images"] + shown["measured_on"], language
    with translation.override("en"):
        assert class_words.translated_triage(entry)["images"] == "153 photos whose diagnosis is known"


def test_a_triage_entry_has_its_words_translated_and_its_figures_kept(manifest, pseudo_vietnamese):
    entry = manifest["backbones"]["int8"]["triage"]["single"]
    with translation.override("vi"):
        shown = class_words.translated_triage(entry)
    assert shown["images"] == "[vi] 153 photos whose diagnosis is known"
    assert shown["measured_on"] == "[vi] " + class_words.TRIAGE_WORDS[entry["measured_on"]]
    assert {key: value for key, value in shown.items() if key not in class_words.TRIAGE_KEYS} == \
        {key: value for key, value in entry.items() if key not in class_words.TRIAGE_KEYS}
    assert entry["images"].startswith("derm_eval")  # the manifest's own entry is left alone
    assert class_words.translated_triage(None) is None
    with translation.override("vi"):  # an override file's entry: no measured_on, its own English
        assert class_words.translated_triage({"threshold": 0.1, "images": "40 photos from clinic A"}) == \
            {"threshold": 0.1, "images": "40 photos from clinic A"}
