"""Validation of an analysis request, shared by the upload page and the JSON API; its words in the active language."""
from django import forms
from django.conf import settings
from django.core.validators import MaxValueValidator
from django.utils.formats import number_format
from django.utils.translation import gettext_lazy as _, pgettext_lazy

from .inference.words import decimal
from .public_errors import on_field

FLIP_AVERAGE_HELP = _("twice as slow, and more accurate on held-out photos")
NOT_GIVEN = _("Not given")
# The labels of the metadata values the serving bundle declares (manifest.json "metadata"). A value of a new bundle
# missing here is labelled from its code, untranslated ("head-or-neck" -> "Head or neck"), until it is added.
METADATA_LABELS = {
    "sex": {"female": _("Female"), "male": _("Male"), "unknown": pgettext_lazy("sex", "Unknown")},
    "site": {"arm": _("Arm"), "head-or-neck": _("Head or neck"), "leg-or-genital": _("Leg or genital"),
             "trunk": _("Trunk"), "unknown": pgettext_lazy("body site", "Unknown")},
}


def megabytes(size):
    """A byte count as plain text for messages (JSON included), in the active language's number format: '10.0 MB'
    in English, '10,0 MB' in Vietnamese."""
    return number_format(decimal(size / (1024 * 1024), 1), 1) + " MB"


TRUE_WORDS, FALSE_WORDS = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


class OptionalSwitchField(forms.Field):
    """true/false, 1/0, yes/no or on/off; left out means None, i.e. the server's default."""

    def to_python(self, value):
        if value in self.empty_values:
            return None
        word = str(value).strip().lower()
        if word not in TRUE_WORDS | FALSE_WORDS:
            raise forms.ValidationError(_("must be true or false"), code="invalid")
        return word in TRUE_WORDS


def metadata_label(field, value):
    """The label of one of a metadata field's values (see METADATA_LABELS)."""
    return METADATA_LABELS.get(field, {}).get(value) or value.replace("-", " ").capitalize()


def _labelled(field, values):
    return [("", NOT_GIVEN)] + [(value, metadata_label(field, value)) for value in values]


class AnalysisForm(forms.Form):
    """The API's fields: the photo, optional age/sex/site within what the model knows, Grad-CAM, flip averaging."""

    image = forms.FileField(label=_("Photo"), error_messages={"required": _("no photo was sent")},
                            widget=forms.FileInput(attrs={"id": "photo", "accept": "image/*"}))
    age = forms.IntegerField(label=_("Age"), required=False, min_value=0, widget=forms.NumberInput(attrs={"id": "age"}))
    sex = forms.ChoiceField(label=_("Sex"), required=False, widget=forms.Select(attrs={"id": "sex"}))
    site = forms.ChoiceField(label=_("Body site"), required=False, widget=forms.Select(attrs={"id": "site"}))
    gradcam = OptionalSwitchField(required=False)
    flip_average = OptionalSwitchField(required=False)

    def __init__(self, *args, manifest, **kwargs):
        """`manifest` is the serving bundle's: its metadata choices and age limit are the model's own."""
        from .selectors import age_limit, metadata_values

        super().__init__(*args, **kwargs)
        limit = age_limit(manifest)
        self.fields["age"].max_value = limit
        self.fields["age"].validators.append(MaxValueValidator(limit))
        self.fields["age"].widget.attrs.update(min=0, max=limit)
        self.fields["sex"].choices = _labelled("sex", metadata_values(manifest, "sex"))
        self.fields["site"].choices = _labelled("site", metadata_values(manifest, "site"))

    def clean_image(self):
        image = self.cleaned_data["image"]
        if image.size > settings.MAX_UPLOAD_BYTES:
            raise forms.ValidationError(
                _("the photo is %(size)s; the limit is %(limit)s"), code="too_large",
                params={"size": megabytes(image.size), "limit": megabytes(settings.MAX_UPLOAD_BYTES)})
        return image

    def analysis_options(self):
        """Keyword arguments for services.analyse_upload, empty choices meaning "not given"."""
        data = self.cleaned_data
        return {"age": data["age"], "sex": data["sex"] or None, "site": data["site"] or None,
                "gradcam": data["gradcam"], "flip_average": data["flip_average"]}

    def refusal(self):
        """(status, message, field) for the first error: 413 for an oversized photo, 400 otherwise."""
        too_large = self.has_error("image", "too_large")
        field = "image" if too_large else next(iter(self.errors))
        return (413 if too_large else 400), on_field(field, self.errors[field][0]), field


class AnalysisPageForm(AnalysisForm):
    """The upload page's form: its switches are checkboxes, so unticked (absent) means off."""

    gradcam = forms.BooleanField(label=_("Grad-CAM heatmap"), required=False,
                                 widget=forms.CheckboxInput(attrs={"id": "gradcam"}))
    flip_average = forms.BooleanField(label=_("Flip averaging"), required=False, help_text=FLIP_AVERAGE_HELP,
                                      widget=forms.CheckboxInput(attrs={"id": "flip_average"}))
