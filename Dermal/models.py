from django.db import models
from django.utils.translation import gettext, gettext_lazy as _


class ThresholdSource(models.TextChoices):
    BUNDLE = "bundle", _("bundle")
    OVERRIDE = "override", _("override file")


class Analysis(models.Model):
    """One analysis as it was served. The photo itself is never stored, only its SHA-256.

    Names and help texts are marked for translation: staff read them in the admin and the history, in their language.
    """

    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)
    image_sha256 = models.CharField(_("SHA-256 of the upload"), max_length=64, db_index=True)
    age = models.PositiveSmallIntegerField(_("age"), null=True, blank=True)
    sex = models.CharField(_("sex"), max_length=16, blank=True)
    site = models.CharField(_("body site"), max_length=32, blank=True)
    probabilities = models.JSONField(_("probabilities"), help_text=_("class code -> probability"))
    top_class = models.CharField(_("top class"), max_length=16)
    top_probability = models.FloatField(_("top probability"))
    malignant_probability = models.FloatField(_("malignant probability"))
    engine = models.CharField(_("engine"), max_length=16)
    precision = models.CharField(_("precision"), max_length=16)
    gradcam = models.BooleanField(_("Grad-CAM"))
    latency_ms = models.PositiveIntegerField(_("latency (ms)"))
    # What the answer said about itself (None: recorded before these were kept, or not given by the engine).
    out_of_scope = models.BooleanField(_("out of scope"), null=True, help_text=_("not a close-up of a skin lesion"))
    scope = models.CharField(_("scope"), max_length=16, blank=True,
                             choices=[("lesion", _("lesion")), ("unusual", _("unusual")),
                                      ("not_a_lesion", _("not a lesion"))],
                             help_text=_("lesion, unusual (unlike the photos the model learnt from) or not a lesion"))
    scope_score = models.FloatField(_("scope score"), null=True, blank=True)
    referral = models.BooleanField(_("referral"), null=True,
                                   help_text=_("malignant probability at or above the referral threshold"))
    warnings = models.JSONField(_("warnings"), default=list, blank=True, help_text=_("photo-quality warning codes"))
    flip_average = models.BooleanField(_("flip averaging"), default=False)
    # What answered and by which rule, so that an answer can be traced (blank or None: recorded before these were
    # kept; the threshold fields also when the bundle has no referral threshold).
    bundle_version = models.CharField(_("bundle version"), max_length=200, blank=True,
                                      help_text=_("source model, bundle date, precision, backbone hash"))
    referral_threshold = models.FloatField(_("referral threshold"), null=True, blank=True,
                                           help_text=_("the malignant probability the referral was judged against"))
    threshold_source = models.CharField(_("threshold source"), max_length=16, blank=True,
                                        choices=ThresholdSource.choices)
    threshold_override = models.CharField(_("override file"), max_length=255, blank=True,
                                          help_text=_("the DERMAI_REFERRAL_OVERRIDE file the threshold came from"))
    threshold_calibrated_on = models.CharField(_("threshold calibrated on"), max_length=32, blank=True,
                                               help_text=_("the override's calibration date, as the file gives it"))
    scope_reasons = models.JSONField(_("scope reasons"), default=list, blank=True,
                                     help_text=_("why a photo is not a lesion: no_colour, unlike_skin, noise, score, "
                                                 "natural_image"))
    natural_distance = models.FloatField(_("natural-image distance"), null=True, blank=True,
                                         help_text=_("how far the photo is from lesion photos to a natural-image "
                                                     "model"))

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("analysis")
        verbose_name_plural = _("analyses")

    def __str__(self):
        # Translators: an analysis as the admin names it, e.g. "mel 73% at 2026-09-04 01:00:00".
        return gettext("%(code)s %(probability)s at %(time)s") % {
            "code": self.top_class, "probability": f"{self.top_probability:.0%}",
            "time": f"{self.created_at:%Y-%m-%d %H:%M:%S}"}
