"""WSGI entry point for Gunicorn: `gunicorn dermai.wsgi`."""
import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dermai.settings")
# Loading the app makes ~60,000 objects (those the collector tracks) that live as long as the worker. The collector
# searching them for garbage as they were made was a sixth of the worker's start (~55 ms of CPU: half a second at
# Render free's 0.1 CPU), so it waits while they are made, then leaves them out of every later collection
# (gc.freeze, as Python's documentation advises for servers).
gc.disable()
try:
    application = get_wsgi_application()
finally:
    gc.freeze()
    gc.enable()
