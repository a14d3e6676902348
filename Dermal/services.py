"""The work behind the views: analyse an upload in its turn of a fair, bounded queue and record it in the history.

The engine (NumPy, Pillow, the model) is imported on the first analysis, not with this module: the web layer
starts light, and the engine's exceptions reach the views as those of Dermal.exceptions.
"""
import csv
import hashlib
import itertools
import logging
import math
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass

from django.conf import settings
from django.db import DatabaseError, connection, transaction

from .exceptions import ModelUnavailable, ServerBusy, UploadRefused
from .inference.calibration import OVERRIDE_FILE
from .models import Analysis, ThresholdSource
from .selectors import expired_analyses, history_cutoff
from .tallies import Throttle, history_write_failures

logger = logging.getLogger("dermai")


# Render's free plan has no scheduler, so each worker prunes the history itself, on its first recorded analysis
# and then at most this often.
PRUNE_EVERY_HOURS = 6
history_pruning = Throttle(PRUNE_EVERY_HOURS * 3600)
# The time an analysis is expected to take until the worker has timed one (the model already loaded): about what
# Render free's 0.1 CPU needs for the page's photo, so that a crowd meeting a just-woken instance is bounded.
FIRST_ESTIMATE_S = 8.0
# How much each timed analysis moves the estimate (an exponentially weighted mean: the recent load counts most).
ESTIMATE_WEIGHT = 0.3
# How late someone refused may come back and keep the place promised: their photo's upload on a slow mobile link,
# and a server reading a crowd's uploads (40 arriving at once at 0.1 CPU: 30 s before the queue saw one of them,
# which then lost its place to a 307 s Retry-After). A promise not taken up holds a place no longer than this.
PROMISE_GRACE_S = 60.0


class AnalysisQueue:
    """Analyses in turn, fair across people, and no more waiting than the wait bound allows.

    Each analysis holds a decoded photo and the model's activations, so `concurrent` run at once; the others wait
    here holding only their upload. The order is start-time fair queueing: a request is tagged with the round being
    served, or the round after its person's last request if that is later; the lowest tag starts next and ties go
    by arrival. A person with one photo is served first come, first served; one browser sending four at once gets a
    turn a round, like everyone else, never four turns in a row.

    A newcomer is refused (ServerBusy) when `max_waiting` are already waiting (each holds a Gunicorn thread) or when
    its expected wait, (analyses ahead of it) x (the measured time per analysis), passes `max_wait` seconds. The
    refusal's Retry-After is when the queue will have room for it and for the people refused before it whose retry
    is still due (each is promised its place once): followed, it gives a result.
    """

    def __init__(self, concurrent, max_wait, max_waiting, clock=time.monotonic):
        self.concurrent, self.max_wait, self.max_waiting, self._clock = concurrent, max_wait, max_waiting, clock
        self.seconds, self._timed = FIRST_ESTIMATE_S, False
        self._changed = threading.Condition()
        self._waiting = []  # Tickets, in no order
        self._running = []  # Tickets whose turn it is
        self._round = 0  # the tag of the request that started last: the round being served
        self._last_tag = {}  # person -> the tag of their latest request, while it is this round's or a later one
        self._arrivals = itertools.count()
        self._promised = {}  # person refused -> (the moment past which their promised place lapses, its rank)

    @contextmanager
    def turn(self, key):
        """Wait for `key`'s turn (or raise ServerBusy at once), hold it inside the block."""
        ticket = self.join(key)
        try:
            while self.wait(ticket):
                pass
            yield
        finally:
            self.leave(ticket)

    def join(self, key):
        """A place in line for `key`: its Ticket, or ServerBusy when there is no room for it."""
        with self._changed:
            ticket = self._join(key)
            self._start_if_due()
            return ticket

    def wait(self, ticket, timeout=None):
        """Wait until `ticket`'s turn has come or its place changes or `timeout` seconds pass; returns its place: 0 once
        its turn has come, else how many analyses run or wait before it."""
        with self._changed:
            place = self._place(ticket)
            self._changed.wait_for(lambda: ticket.started or self._place(ticket) != place, timeout)
            return self._place(ticket)

    def leave(self, ticket):
        """End `ticket`'s turn, or give up its place if its turn has not come (its person has gone). Idempotent."""
        with self._changed:
            if ticket.started:
                self._running.remove(ticket)
            elif ticket in self._waiting:
                self._waiting.remove(ticket)
            else:
                return
            ticket.started = False
            self._start_if_due()
            self._changed.notify_all()

    def took(self, seconds):
        """An analysis (the model already in memory) took `seconds`: the estimate follows (the first replaces the
        guess)."""
        with self._changed:
            self.seconds += (ESTIMATE_WEIGHT if self._timed else 1) * (seconds - self.seconds)
            self._timed = True

    def state(self):
        """What /memory/ shows of the queue: analyses running and waiting, and the time one is expected to take."""
        with self._changed:
            return {"running": len(self._running), "waiting": len(self._waiting),
                    "seconds_per_analysis": round(self.seconds, 3), "measured": self._timed}

    def _join(self, key):
        """key's ticket, waiting; or ServerBusy when there is no room for it."""
        # Start-time fair queueing's tag: the round being served, or the round after this person's last, if later.
        now, tag = self._clock(), max(self._round, self._last_tag.get(key, -1) + 1)
        self._promised = {person: promise for person, promise in self._promised.items() if promise[0] > now}
        # Those refused before it are owed their place first; one back early keeps its rank.
        rank = self._promised.pop(key, (None, next(self._arrivals)))[1]
        owed = sum(other_rank < rank for _, other_rank in self._promised.values())
        # The analyses that must end before it starts: those running and those waiting with a tag no later than its
        # own (they arrived before it), less the other free places.
        turns = max(0, len(self._running) + sum(waiting.tag <= tag for waiting in self._waiting) + 1 - self.concurrent)
        # How many more must end before there is room for it and for those owed a place: by the wait, by the places.
        short = max(turns + owed - math.floor(self.max_wait * self.concurrent / self.seconds),
                    len(self._waiting) + 1 + owed - self.max_waiting)
        if turns and short > 0:
            retry_after = max(1, math.ceil(short * self.seconds / self.concurrent))
            self._promised[key] = (now + retry_after + PROMISE_GRACE_S, rank)
            raise ServerBusy(retry_after)
        ticket = Ticket(tag, next(self._arrivals), key)
        self._waiting.append(ticket)
        self._last_tag[key] = tag
        return ticket

    def expected_wait(self, place):
        """The seconds a request at `place` (wait's answer) can expect to wait for its turn: what the first analysis
        to end has left, then a turn for each of the others before it."""
        with self._changed:
            if place < self.concurrent:
                return 0.0
            soonest = min((ticket.started_at for ticket in self._running), default=self._clock())
            left = max(0.0, self.seconds - (self._clock() - soonest))
            return left + (place - self.concurrent) * self.seconds / self.concurrent

    def _place(self, ticket):
        return 0 if ticket.started else len(self._running) + sum(other < ticket for other in self._waiting)

    def _start_if_due(self):
        """Start the waiting ones whose turn it is (lowest tag, then earliest), while there is room to run."""
        while self._waiting and len(self._running) < self.concurrent:
            ticket = min(self._waiting)
            self._waiting.remove(ticket)
            ticket.started, ticket.started_at = True, self._clock()
            self._running.append(ticket)
            if ticket.tag > self._round:  # a new round: the tags of earlier ones no longer count
                self._round = ticket.tag
                self._last_tag = {key: tag for key, tag in self._last_tag.items() if tag >= self._round}


@dataclass(eq=False)
class Ticket:
    """A request's place in AnalysisQueue: its round (tag), its arrival, its person; each ticket is itself only."""
    tag: int
    arrival: int
    key: str
    started: bool = False
    started_at: float = 0.0

    def __lt__(self, other):
        """Served first: the lower round, then the earlier arrival."""
        return (self.tag, self.arrival) < (other.tag, other.arrival)


analysis_queue = AnalysisQueue(settings.DERMAI_MAX_CONCURRENT, settings.DERMAI_MAX_WAIT, settings.DERMAI_QUEUE_PLACES)


# The engine runs on these threads only, as many as analyse at once, never on the requests' own: glibc gives each
# thread that allocates a malloc arena of its own, and each arena keeps the tens of MB an analysis freed (measured:
# 16 threads taking turns held 469 MB, one thread 263 MB).
_analysts = ThreadPoolExecutor(settings.DERMAI_MAX_CONCURRENT, thread_name_prefix="dermai-analysis")


def analyse_upload(upload, person, **options):
    """Analyse an uploaded photo in `person`'s turn (analysis_queue) and record it. Returns (PredictionResult, Analysis
    or None if unrecorded). `options`: age, sex, site, gradcam, flip_average.

    Raises ServerBusy, UploadRefused (a bad photo or field) or ModelUnavailable.
    """
    return analyse_in_turn(upload, analysis_queue.join(person), **options)


def places_in_line(ticket, every):
    """(place, expected seconds) for a `ticket` waiting its turn: now, then whenever its place changes and at least
    every `every` seconds; (0, 0) last, when its turn has come."""
    place = analysis_queue.wait(ticket, timeout=0)
    while place:
        yield place, analysis_queue.expected_wait(place)
        place = analysis_queue.wait(ticket, timeout=every)
    yield 0, 0


def analyse_in_turn(upload, ticket, **options):
    """analyse_upload for a place in line already taken (analysis_queue.join): waits for `ticket`'s turn if it has
    not come, and gives it back whatever happens."""
    try:
        while analysis_queue.wait(ticket):
            pass
        result, image_sha256 = _analysts.submit(_analyse_now, upload, options).result()
    finally:
        analysis_queue.leave(ticket)
    return result, record_analysis(result, image_sha256, age=options.get("age"), sex=options.get("sex"),
                                   site=options.get("site"))


def _analyse_now(upload, options):
    """On an analyst thread: the upload read (in turn, so waiting requests hold no decoded photo), hashed and
    analysed: (PredictionResult, the photo's SHA-256). A warm analysis times the queue's estimate."""
    from .inference.switches import model_loaded

    with engine_errors():
        from .AI_detection import predict_skin_simple

        started, warm = time.monotonic(), model_loaded()
        data = upload.read()
        result = predict_skin_simple(data, **options)
        if warm:  # a load's seconds are not an analysis's
            analysis_queue.took(time.monotonic() - started)
        return result, hashlib.sha256(data).hexdigest()


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
