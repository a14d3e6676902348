"""WSGI entry point for Gunicorn: `gunicorn dermai.wsgi`."""
import gc
import os
import sys

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

# A thread that wants the GIL waits for the holder's switch interval, then for the other threads that want it too:
# in a crowd (40 people's uploads read and answered at once) /health/ needs the GIL a few times, and at the default
# 5 ms of CPU a turn, at Render free's 0.1 CPU (10 ms of CPU every 100 ms), each round of turns takes seconds. A turn
# of 1 ms makes the rounds five times shorter; the analysis itself runs mostly in LiteRT and NumPy, which release the
# GIL.
sys.setswitchinterval(0.001)
