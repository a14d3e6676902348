"""The health checks answered before the middleware that a crowd's pages queue on."""
from django.urls import resolve, reverse

HEALTH_URL_NAMES = ("health", "ready")


class HealthFirstMiddleware:
    """Answers /health/ and /health/ready/ with their own views, skipping the middleware after this one.

    Every gettext takes Django's translation lock (asgiref's Local), and a crowd's pages, each rendered with
    hundreds of them, queue on it: at Render free's 0.1 CPU a request that joins that queue (LocaleMiddleware's,
    for one) waited seconds, and Render counts a check over 5 s as failed. The health checks need no language,
    session, CSRF token or messages. It sits after the middleware that adds the security headers, which take no lock.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        # Found as the worker loads, before any crowd: reverse() takes the translation lock too.
        self.views = {path: resolve(path).func for path in map(reverse, HEALTH_URL_NAMES)}

    def __call__(self, request):
        view = self.views.get(request.path_info)
        return view(request) if view else self.get_response(request)
