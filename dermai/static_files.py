"""Static files served by WhiteNoise, each found when it is first asked for instead of all indexed at start."""
import functools

from django.conf import settings
from whitenoise.middleware import WhiteNoiseMiddleware

# Static URLs remembered, files and misses alike: bounded, whatever paths clients ask for.
REMEMBERED_URLS = 512


class StaticFilesOnDemandMiddleware(WhiteNoiseMiddleware):
    """WhiteNoise finding each static file at its first request, then remembering it.

    Indexed at start, STATIC_ROOT (some 550 files with the admin's: 277 URLs, each beside its .gz) cost ~30 ms of
    CPU, a third of a second of the worker's start at Render free's 0.1 CPU before anyone sees a page. WhiteNoise's
    autorefresh mode (WHITENOISE_AUTOREFRESH, on in settings) finds a file per request instead, with the same checks
    on the path; remembering each answer gives a file's later requests the cost, and the headers, the index gave
    them. Serving straight from the source folders (WHITENOISE_USE_FINDERS, with DEBUG) nothing is remembered, so an
    edited file is served as it now is.
    """

    def __init__(self, get_response=None, settings=settings):
        super().__init__(get_response, settings)
        find = super().find_file
        self._find_static = find if self.use_finders else functools.lru_cache(maxsize=REMEMBERED_URLS)(find)

    def find_file(self, url):
        # Every request passes here: only static URLs are looked up, so only they are remembered.
        return self._find_static(url) if url.startswith(self.static_prefix) else None
