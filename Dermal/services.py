"""The work behind the views: analyse an upload inside a concurrency slot and record it in the history.

The engine (NumPy, Pillow, the model) is imported on the first analysis, not with this module: the web layer
starts light, and the engine's exceptions reach the views as those of Dermal.exceptions.
"""
import csv
import hashlib
import logging
import math
import threading
from contextlib import contextmanager

from django.conf import settings
from django.db import DatabaseError, connection, transaction

from .exceptions import ModelUnavailable, ServerBusy, UploadRefused
from .inference.calibration import OVERRIDE_FILE
from .models import Analysis, ThresholdSource
from .selectors import expired_analyses, history_cutoff
from .tallies import Throttle, history_write_failures

logger = logging.getLogger("dermai")


# Each analysis holds a decoded photo and the model's activations: bound how many run at once so that
# a burst of uploads queues briefly, then gets 503, instead of pushing the worker out of its memory.
_slots = threading.BoundedSemaphore(settings.DERMAI_MAX_CONCURRENT)
# Render's free plan has no scheduler, so each worker prunes the history itself, on its first recorded analysis
# and then at most this often.
PRUNE_EVERY_HOURS = 6
history_pruning = Throttle(PRUNE_EVERY_HOURS * 3600)


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


_early_load = threading.Lock()


def load_model_early():
    """Load the model in a background thread unless it is loaded or loading (DERMAI_EARLY_LOAD, on when the upload page
    is served): the analysis that follows finds it loaded, or waits for the same load. Returns the thread or None."""
    from .inference.switches import model_loaded

    if model_loaded() or not _early_load.acquire(blocking=False):
        return None
    thread = threading.Thread(target=_load_model, name="dermai-load-model", daemon=True)
    thread.start()
    return thread


def _load_model():
    """The loading thread: never raises (the first analysis reports a broken bundle to its person)."""
    try:
        with engine_errors():
            from .inference.engines import get_engine

            get_engine()
    except ModelUnavailable:
        logger.exception("could not load the model early")
    finally:
        _early_load.release()


@contextmanager
def engine_errors():
    """Turn the engine's ImageError, MetadataError and BundleError into UploadRefused and ModelUnavailable."""
    from .inference.bundle import BundleError, MetadataError
    from .inference.imaging import ImageError

    try:
        yield
    except ImageError as exc:
        raise UploadRefused(exc.status, f"image: {exc}", "image", exc.message_id, exc.params) from exc
    except MetadataError as exc:
        raise UploadRefused(400, f"{exc.field}: {exc}", exc.field, exc.message_id, exc.params) from exc
    except BundleError as exc:
        raise ModelUnavailable(str(exc)) from exc


def record_analysis(result, image_sha256, *, age=None, sex=None, site=None):
    """Save one history row. Never raises: the analysis matters more than its record, so a failed write
    is logged and counted (see history_write_failures) and None returned."""
    try:
        # A savepoint, so a failure cannot break an enclosing transaction.
        with transaction.atomic():
            analysis = Analysis.objects.create(
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
            # Once the row is committed (never inside a caller's transaction that may yet roll back); robust, so
            # a thread that cannot start costs no analysis.
            transaction.on_commit(prune_history_now_and_then, robust=True)
            return analysis
    except DatabaseError:
        history_write_failures.increment()
        logger.exception("could not record the analysis of %s in the history", image_sha256)
        return None


def trust_facts(result):
    """What the history keeps of the answer's trust and of what produced it: the scope (level, score, reasons,
    natural-image distance), the referral and its threshold, warning codes, flip averaging, the bundle's version."""
    return {
        "out_of_scope": result.out_of_scope,
        "scope": result.scope or "",
        "scope_score": result.scope_score,
        "scope_reasons": result.scope_reasons or [],
        "natural_distance": result.scope_natural_distance,
        "referral": result.referral,
        "warnings": [warning.code for warning in result.warnings],
        "flip_average": result.flip_average,
        "bundle_version": fitted("bundle_version", result.bundle_version),
        **threshold_facts(result.triage),
    }


def threshold_facts(triage):
    """The referral threshold an answer used and where it came from: the bundle, or the override file (its name and
    calibration date). Nothing when there was no threshold (the fields stay blank)."""
    if not triage:
        return {}
    facts = {"referral_threshold": triage["threshold"], "threshold_source": ThresholdSource.BUNDLE}
    if (override := triage.get(OVERRIDE_FILE)) is not None:
        facts.update(threshold_source=ThresholdSource.OVERRIDE,
                     threshold_override=fitted("threshold_override", override),
                     threshold_calibrated_on=fitted("threshold_calibrated_on", str(triage["calibrated_on"])))
    return facts


def fitted(field, text):
    """`text` cut to the field's max_length: a long name read from a file must not cost the row (PostgreSQL refuses
    what SQLite would keep)."""
    return text[:Analysis._meta.get_field(field).max_length]


def prune_history(cutoff):
    """Delete the analyses recorded before `cutoff`; returns how many. One DELETE statement: nothing refers to an
    analysis, so Django loads none of them (memory stays flat, however many there are)."""
    removed, _ = expired_analyses(cutoff).delete()
    return removed


def _utc(moment):
    return f"{moment:%Y-%m-%d %H:%M:%S} UTC"


def expired_phrase(count, cutoff):
    """The log's and the command's words: "3 analyses recorded before 2026-09-04 01:00:00 UTC
    (DERMAI_HISTORY_DAYS=90)"."""
    return f"{count} {'analysis' if count == 1 else 'analyses'} recorded before {_utc(cutoff)} " \
           f"(DERMAI_HISTORY_DAYS={settings.DERMAI_HISTORY_DAYS})"


def prune_history_now_and_then():
    """Prune the expired analyses in a background thread when history_pruning says it is due (never with
    DERMAI_HISTORY_DAYS=0): the history stays bounded without a scheduler, and no request waits for it.
    Returns the thread, or None when nothing was started."""
    cutoff = history_cutoff()
    if cutoff is None or not history_pruning.due():
        return None
    thread = threading.Thread(target=_prune_in_background, args=(cutoff,), name="dermai-prune-history", daemon=True)
    thread.start()
    return thread


def _prune_in_background(cutoff):
    """The pruning thread: never raises (a database error is logged), and closes the connection it opened."""
    try:
        logger.info("history: removed %s", expired_phrase(prune_history(cutoff), cutoff))
    except DatabaseError:
        logger.exception("could not prune the history of the analyses recorded before %s", _utc(cutoff))
    finally:
        connection.close()


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
