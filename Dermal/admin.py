from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .models import Analysis


class GivenValuesFilter(admin.AllValuesFieldListFilter):
    """The values a field holds, as links; a blank one (not given) is named so, where Django leaves an empty link
    that a screen reader cannot name."""

    def choices(self, changelist):
        for choice in super().choices(changelist):
            display = str(choice["display"])
            if not display or display.startswith(" ("):  # " (3)" with the admin's counts shown
                choice["display"] = _("not given") + display
            yield choice


@admin.register(Analysis)
class AnalysisAdmin(admin.ModelAdmin):
    """The history is a record of what was served: readable and deletable, never edited or added by hand."""

    list_display = ["created_at", "top_class", "top_probability", "malignant_probability", "referral",
                    "referral_threshold", "threshold_source", "scope", "scope_reason_codes", "natural_distance",
                    "warning_codes", "age", "sex", "site", "engine", "precision", "bundle_version", "flip_average",
                    "gradcam", "latency_ms"]
    list_filter = ["top_class", "referral", "threshold_source", "scope", "engine", "precision", "flip_average",
                   "gradcam", ("sex", GivenValuesFilter), ("site", GivenValuesFilter)]
    search_fields = ["image_sha256", "bundle_version"]
    date_hierarchy = "created_at"
    actions = ["export_csv"]
    # The detail page: what was analysed, what was answered, and what answered it (to trace an answer).
    fieldsets = [
        (None, {"fields": ["created_at", "image_sha256", "age", "sex", "site"]}),
        (_("Answer"), {"fields": ["top_class", "top_probability", "malignant_probability", "probabilities",
                                  "referral", "scope", "out_of_scope", "scope_score", "scope_reasons",
                                  "natural_distance", "warnings", "latency_ms"]}),
        (_("What answered"), {"fields": ["bundle_version", "engine", "precision", "flip_average", "gradcam",
                                         "referral_threshold", "threshold_source", "threshold_override",
                                         "threshold_calibrated_on"]}),
    ]
    readonly_fields = [name for _title, options in fieldsets for name in options["fields"]]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description=_("warnings"))
    def warning_codes(self, analysis):
        return " ".join(analysis.warnings)

    @admin.display(description=_("scope reasons"))
    def scope_reason_codes(self, analysis):
        return " ".join(analysis.scope_reasons)

    @admin.action(description=_("Export the selected analyses as CSV"))
    def export_csv(self, request, queryset):
        from .views import history_csv_response

        return history_csv_response(queryset.iterator(chunk_size=500))
