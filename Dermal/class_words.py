"""The serving bundle's own words for people, registered for translation.

The seven classes' names and descriptions and the referral threshold's basis (the photos that chose it, where it
was measured) are English data in the bundle's manifest.json, not strings in the code, so makemessages cannot find
them there. Each one the current bundle says is registered below with gettext_noop, which puts it in the catalogue
(locale/); the web layer translates the manifest's strings with `translated` (views.py, selectors.class_rows) and
the templates with {% translate %}. A string the catalogue lacks is shown as the manifest gives it, in English.

A new bundle (quantize_model.py, `python -m trust`) whose wording differs must have its new strings added here, then
translated in locale/: Dermal/tests/web/test_class_words.py fails until every string of the committed manifest is
registered.
"""
from django.utils.translation import gettext, gettext_noop

# manifest.json classes[].name, in the model's class order (akiec, bcc, bkl, df, mel, nv, vasc).
CLASS_NAMES = (
    gettext_noop("Actinic keratosis or intraepithelial carcinoma"),
    gettext_noop("Basal cell carcinoma"),
    gettext_noop("Benign keratosis-like lesion"),
    gettext_noop("Dermatofibroma"),
    gettext_noop("Melanoma"),
    gettext_noop("Melanocytic nevus"),
    gettext_noop("Vascular lesion"),
)

# manifest.json classes[].description, in the same order.
CLASS_DESCRIPTIONS = (
    gettext_noop("Thick, scaly, or crusty areas that often feel dry or rough (an early form of squamous skin "
                 "cancer)."),
    gettext_noop("Painless raised area of skin that may be shiny with small blood vessel running over it or "
                 "ulceration (the most common type of skin cancer)."),
    gettext_noop("Solar lentigo, seborrheic keratosis or a lichen-planus like keratosis."),
    gettext_noop("Hard solitary slow-growing rounded bump, usually brownish or tan."),
    gettext_noop("Mole that is increasing in size, has irregular edges, change in color, itchiness, or skin "
                 "breakdown (the most dangerous type of skin cancer)."),
    gettext_noop("Benign mole - skin tag, raised or flat mole (of brown, tan, pink or black color, and of circular "
                 "or oval shape)."),
    gettext_noop("Angioma, angiokeratoma, pyogenic granuloma or hemorrhage."),
)

# manifest.json backbones.<precision>.triage.<mode>.images and .measured_on, which name the photo sets in the
# project's own words, and what a person reads instead (in every language, English included): the end of the
# sentences "The threshold was chosen to refer at least 90% of malignant lesions in <images>." and "Measured on
# <measured_on>, it referred ...".
TRIAGE_WORDS = {
    "derm_eval (56 photos) + derm_heldout (97 photos)": gettext_noop("153 photos whose diagnosis is known"),
    "derm_heldout, cross-validated: each photo referred by a threshold chosen without it": gettext_noop(
        "97 of those photos, each referred or not by a threshold chosen without it"),
}

REGISTERED = frozenset(CLASS_NAMES + CLASS_DESCRIPTIONS + tuple(TRIAGE_WORDS))
TRIAGE_KEYS = ("images", "measured_on")


def translated(text):
    """A string of the manifest in plain words (TRIAGE_WORDS) in the active language (as it is when the catalogue
    does not know it)."""
    return gettext(TRIAGE_WORDS.get(text, text)) if text else text


def translated_triage(triage):
    """A triage entry (the bundle's or the override's) with its words in the active language; None stays None."""
    if not triage:
        return triage
    return {**triage, **{key: translated(triage[key]) for key in TRIAGE_KEYS if key in triage}}


def manifest_words(manifest):
    """Every string of `manifest` that is shown to people: each class's name and description, each triage entry's
    images and measured_on."""
    words = {text for entry in manifest["classes"] for text in (entry["name"], entry["description"])}
    for backbone in manifest["backbones"].values():
        for entry in (backbone.get("triage") or {}).values():
            words.update(entry[key] for key in TRIAGE_KEYS if entry.get(key))
    return words


def unregistered(manifest):
    """The strings of `manifest` shown to people that are not registered here for translation, sorted."""
    return sorted(manifest_words(manifest) - REGISTERED)
