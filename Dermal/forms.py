"""Validation of an analysis request, shared by the upload page and the JSON API."""
from django import forms
from django.conf import settings
from django.core.validators import MaxValueValidator

FLIP_AVERAGE_HELP = "four times slower, and slightly more accurate on held-out photos"


def megabytes(size):
    """A byte count as plain text for messages (JSON included), e.g. '10.0 MB'."""
    return f"{size / (1024 * 1024):.1f} MB"


TRUE_WORDS, FALSE_WORDS = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


class OptionalSwitchField(forms.Field):
    """true/false, 1/0, yes/no or on/off; left out means None, i.e. the server's default."""

    def to_python(self, value):
        if value in self.empty_values:
            return None
        word = str(value).strip().lower()
        if word not in TRUE_WORDS | FALSE_WORDS:
            raise forms.ValidationError("must be true or false", code="invalid")
        return word in TRUE_WORDS


def _labelled(values):
    return [("", "Not given")] + [(value, value.replace("-", " ").capitalize()) for value in values]


class AnalysisForm(forms.Form):
    """The API's fields: the photo, optional age/sex/site within what the model knows, Grad-CAM, flip averaging."""

    image = forms.FileField(label="Photo", widget=forms.FileInput(attrs={"id": "photo", "accept": "image/*"}))
    age = forms.IntegerField(required=False, min_value=0, widget=forms.NumberInput(attrs={"id": "age"}))
    sex = forms.ChoiceField(required=False, widget=forms.Select(attrs={"id": "sex"}))
    site = forms.ChoiceField(label="Body site", required=False, widget=forms.Select(attrs={"id": "site"}))
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
        self.fields["sex"].choices = _labelled(metadata_values(manifest, "sex"))
        self.fields["site"].choices = _labelled(metadata_values(manifest, "site"))

    def clean_image(self):
        image = self.cleaned_data["image"]
        if image.size > settings.MAX_UPLOAD_BYTES:
            raise forms.ValidationError(
                "the photo is %(size)s; the limit is %(limit)s", code="too_large",
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
        return (413 if too_large else 400), f"{field}: {self.errors[field][0]}", field


class AnalysisPageForm(AnalysisForm):
    """The upload page's form: its switches are checkboxes, so unticked (absent) means off."""

    gradcam = forms.BooleanField(label="Grad-CAM heatmap", required=False,
                                 widget=forms.CheckboxInput(attrs={"id": "gradcam"}))
    flip_average = forms.BooleanField(label="Flip averaging", required=False, help_text=FLIP_AVERAGE_HELP,
                                      widget=forms.CheckboxInput(attrs={"id": "flip_average"}))
