"""Refuse oversized uploads with a 413 every client can read: drain the body (bounded, never kept), then answer."""
from django.conf import settings

from Dermal.views import length_required, oversized_upload

# Room for the multipart boundaries and the small form fields around the photo.
FORM_OVERHEAD_BYTES = 64 * 1024
# Each read while draining: memory stays flat however large the body.
DRAIN_CHUNK_BYTES = 64 * 1024


def declared_length(request):
    """The body's Content-Length; 0 when absent or not a number (WSGI then reads no body)."""
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def over_limit(size):
    return size > settings.MAX_UPLOAD_BYTES + FORM_OVERHEAD_BYTES


def is_chunked(request):
    return "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower()


def drain(stream, limit):
    """Read and discard `stream` in small chunks until it ends or `limit` bytes are read; the bytes read.

    A client that goes away ends the drain: no one will read the answer (Django's UnreadablePostError and
    Gunicorn's NoMoreData are OSErrors)."""
    received = 0
    try:
        while received < limit and (chunk := stream.read(min(DRAIN_CHUNK_BYTES, limit - received))):
            received += len(chunk)
    except OSError:
        pass
    return received


class UploadSizeLimitMiddleware:
    """Answers 413 to a body bigger than a photo may be, before anything parses it.

    Clients such as urllib and requests send the whole body before reading the answer, and Gunicorn closes a
    connection whose body was left unread (it drains only 64 KB itself), so they would only see a broken pipe.
    The body is therefore read and discarded up to UPLOAD_DRAIN_MAX_BYTES first; a larger one is refused
    unread and Gunicorn, unable to drain it, closes the connection (after at most 64 KB or 5 s). The application
    cannot say `Connection: close` itself: WSGI forbids hop-by-hop headers and Gunicorn drops them. The drain
    runs here, before any view, so it never holds an analysis slot.

    It sits after CsrfViewMiddleware so the re-rendered form still gets a CSRF token, yet runs before CSRF's
    view check (the first thing to parse a POST body).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if is_chunked(request):
            return self.refuse_chunked(request)
        declared = declared_length(request)
        if not over_limit(declared):
            return self.get_response(request)
        if declared <= settings.UPLOAD_DRAIN_MAX_BYTES:
            drain(request, declared)  # request.read(): Django's LimitedStream stops at Content-Length
        return oversized_upload(request, declared)

    @staticmethod
    def refuse_chunked(request):
        """Django reads no body without a Content-Length (WSGI), so a chunked upload cannot be analysed.

        Gunicorn ends a chunked wsgi.input at the body's end (wsgi.input_terminated), which makes it safe to
        drain; the drain stops one byte past the cap, so the body is never read unbounded.
        """
        if not request.META.get("wsgi.input_terminated"):
            return length_required(request)
        cap = settings.UPLOAD_DRAIN_MAX_BYTES
        try:
            received = drain(request.META["wsgi.input"], cap + 1)
        except Exception:  # bad chunk framing: the server's own errors (Gunicorn's ParseException), no common base
            return length_required(request)
        if received > cap:
            return oversized_upload(request, cap, exceeds=True)
        if over_limit(received):
            return oversized_upload(request, received)
        return length_required(request)
