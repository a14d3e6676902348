from django.contrib import admin

from .models import Analysis


@admin.register(Analysis)
class AnalysisAdmin(admin.ModelAdmin):
    """The history is a record of what was served: readable and deletable, never edited or added by hand."""

    list_display = ["created_at", "top_class", "top_probability", "malignant_probability", "referral",
                    "scope", "warning_codes", "age", "sex", "site", "engine", "precision", "flip_average",
                    "gradcam", "latency_ms"]
    list_filter = ["top_class", "referral", "scope", "engine", "precision", "flip_average", "gradcam",
                   "sex", "site"]
    search_fields = ["image_sha256"]
    date_hierarchy = "created_at"
    actions = ["export_csv"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="warnings")
    def warning_codes(self, analysis):
        return " ".join(analysis.warnings)

    @admin.action(description="Export the selected analyses as CSV")
    def export_csv(self, request, queryset):
        from .views import history_csv_response

        return history_csv_response(queryset.iterator(chunk_size=500))
