"""ASGI entry point (DermAI is served by Gunicorn over WSGI; this is for ASGI servers)."""
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dermai.settings")
application = get_asgi_application()
