from django.apps import AppConfig


class DermalConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "Dermal"
    verbose_name = "DermAI"
