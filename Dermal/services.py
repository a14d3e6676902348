"""The work behind the views: analyse an upload inside a concurrency slot and record it in the history.

The engine (NumPy, Pillow, the model) is imported on the first analysis, not with this module: the web layer
starts light, and the engine's exceptions reach the views as the plain ones below.
"""
import csv
import hashlib
import logging
import math
import threading
from contextlib import contextmanager

from django.conf import settings
from django.db import DatabaseError, transaction

from .models import Analysis

logger = logging.getLogger("dermai")


class ServerBusy(Exception):
    """No analysis slot came free in time; `retry_after` is in seconds."""

    def __init__(self, retry_after):
        super().__init__("DermAI is busy with other analyses: please retry in a few seconds")
        self.retry_after = retry_after


class UploadRefused(Exception):
    """The upload or a field cannot be analysed: the HTTP status, and the field at fault."""

    def __init__(self, status, message, field):
        super().__init__(message)
        self.status, self.field = status, field


class ModelUnavailable(Exception):
    """The serving bundle is missing, damaged or inconsistent."""


class Counter:
    """A thread-safe count (two Gunicorn threads share this module)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._value = 0

    def increment(self):
        with self._lock:
            self._value += 1

    @property
    def value(self):
        return self._value


# Each analysis holds a decoded photo and the model's activations: bound how many run at once so that
# a burst of uploads queues briefly, then gets 503, instead of pushing the worker out of its memory.
_slots = threading.BoundedSemaphore(settings.DERMAI_MAX_CONCURRENT)
history_write_failures = Counter()


@contextmanager
def analysis_slot():
    timeout = settings.DERMAI_SLOT_TIMEOUT
    if not _slots.acquire(timeout=timeout):
        raise ServerBusy(retry_after=max(1, math.ceil(timeout)))
    try:
        yield
    finally:
        _slots.release()


def analyse_upload(upload, *, age=None, sex=None, site=None, gradcam=None, flip_average=None):
    """Analyse an uploaded photo and record it. Returns (PredictionResult, Analysis or None if unrecorded).

    Raises ServerBusy, UploadRefused (a bad photo or field) or ModelUnavailable.
    """
    with analysis_slot(), engine_errors():
        from .AI_detection import predict_skin_simple

        # Read inside the slot too, so waiting requests hold no photo bytes.
        data = upload.read()
        image_sha256 = hashlib.sha256(data).hexdigest()
        result = predict_skin_simple(data, age=age, sex=sex, site=site, gradcam=gradcam, flip_average=flip_average)
        del data
    return result, record_analysis(result, image_sha256, age=age, sex=sex, site=site)


@contextmanager
def engine_errors():
    """Turn the engine's ImageError, MetadataError and BundleError into UploadRefused and ModelUnavailable."""
    from .inference.bundle import BundleError, MetadataError
    from .inference.imaging import ImageError

    try:
        yield
    except ImageError as exc:
        raise UploadRefused(exc.status, f"image: {exc}", "image") from exc
    except MetadataError as exc:
        raise UploadRefused(400, f"{exc.field}: {exc}", exc.field) from exc
    except BundleError as exc:
        raise ModelUnavailable(str(exc)) from exc


def record_analysis(result, image_sha256, *, age=None, sex=None, site=None):
    """Save one history row. Never raises: the analysis matters more than its record, so a failed write
    is logged and counted (see history_write_failures) and None returned."""
    try:
        # A savepoint, so a failure cannot break an enclosing transaction.
        with transaction.atomic():
            return Analysis.objects.create(
                image_sha256=image_sha256,
                age=age,
                sex=sex or "",
                site=site or "",
                probabilities=result.probabilities,
                top_class=result.top_class,
                top_probability=result.top_probability,
                malignant_probability=result.malignant_probability,
                engine=result.engine,
                precision=result.precision,
                gradcam=result.gradcam,
                latency_ms=round(result.timings.get("total", 0) * 1000),
                **trust_facts(result),
            )
    except DatabaseError:
        history_write_failures.increment()
        logger.exception("could not record the analysis of %s in the history", image_sha256)
        return None


def trust_facts(result):
    """What the history keeps of the answer's trust: scope, referral, warning codes, flip averaging."""
    return {
        "out_of_scope": result.out_of_scope,
        "scope": result.scope or "",
        "scope_score": result.scope_score,
        "referral": result.referral,
        "warnings": [warning.code for warning in result.warnings],
        "flip_average": result.flip_average,
    }


class _Echo:
    """A file-like object whose write() returns what it is given, for streaming csv.writer's lines."""

    def write(self, value):
        return value


def csv_lines(header, rows):
    """The CSV text of a header and rows, one line at a time (for a StreamingHttpResponse)."""
    writer = csv.writer(_Echo())
    yield writer.writerow(header)
    for row in rows:
        yield writer.writerow(row)
