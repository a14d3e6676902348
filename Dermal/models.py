from django.db import models
from django.utils.translation import gettext_lazy as _


class ThresholdSource(models.TextChoices):
    BUNDLE = "bundle", _("bundle")
    OVERRIDE = "override", _("override file")


class Analysis(models.Model):
    """One analysis as it was served. The photo itself is never stored, only its SHA-256."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    image_sha256 = models.CharField("SHA-256 of the upload", max_length=64, db_index=True)
    age = models.PositiveSmallIntegerField(null=True, blank=True)
    sex = models.CharField(max_length=16, blank=True)
    site = models.CharField("body site", max_length=32, blank=True)
    probabilities = models.JSONField(help_text="class code -> probability")
    top_class = models.CharField(max_length=16)
    top_probability = models.FloatField()
    malignant_probability = models.FloatField()
    engine = models.CharField(max_length=16)
    precision = models.CharField(max_length=16)
    gradcam = models.BooleanField("Grad-CAM")
    latency_ms = models.PositiveIntegerField("latency (ms)")
    # What the answer said about itself (None: recorded before these were kept, or not given by the engine).
    out_of_scope = models.BooleanField("out of scope", null=True, help_text="not a close-up of a skin lesion")
    scope = models.CharField(max_length=16, blank=True,
                             choices=[(level, level.replace("_", " ")) for level in ("lesion", "unusual", "not_a_lesion")],
                             help_text="lesion, unusual (unlike the photos the model learnt from) or not a lesion")
    scope_score = models.FloatField(null=True, blank=True)
    referral = models.BooleanField(null=True, help_text="malignant probability at or above the referral threshold")
    warnings = models.JSONField(default=list, blank=True, help_text="photo-quality warning codes")
    flip_average = models.BooleanField("flip averaging", default=False)
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
        verbose_name_plural = "analyses"

    def __str__(self):
        return f"{self.top_class} {self.top_probability:.0%} at {self.created_at:%Y-%m-%d %H:%M:%S}"
