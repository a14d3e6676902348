"""Refuse oversized uploads from their declared size, before anything reads the body."""
from django.conf import settings

from Dermal.views import oversized_upload

# Room for the multipart boundaries and the small form fields around the photo.
FORM_OVERHEAD_BYTES = 64 * 1024


class UploadSizeLimitMiddleware:
    """Answers 413 when Content-Length says the body is bigger than a photo may be.

    It sits after CsrfViewMiddleware so the re-rendered form still gets a CSRF token, yet runs before
    CSRF's view check (the first thing to parse a POST body). WSGI never reads past Content-Length, so
    this bounds what a request can make the worker buffer or spool to disk.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        if declared > settings.MAX_UPLOAD_BYTES + FORM_OVERHEAD_BYTES:
            return oversized_upload(request)
        return self.get_response(request)
