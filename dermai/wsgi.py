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
# as 40 people arrive together, 40 request threads render their pages, and /health/ needs the GIL some ten times
# (accepted, read, answered), each a wait behind the others' turns, ten times longer at Render free's 0.1 CPU. At the
# default 5 ms of CPU a turn a check took seconds; measured as 40 arrived at 0.1 CPU, the slowest check took 7.1 s
# with 1 ms turns and 1.9 s with 0.2 ms turns. The analysis itself runs in LiteRT and NumPy, which release the GIL,
# so shorter turns leave it as it was (the pre-deploy proof's warm analysis: 0.63 s median and 618 ms of CPU, against
# 0.63 s and 610 ms with 1 ms turns).
sys.setswitchinterval(0.0002)
