"""WSGI entry point for Gunicorn: `gunicorn dermai.wsgi`."""
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dermai.settings")
application = get_wsgi_application()
