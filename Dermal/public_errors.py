"""What DermAI says in public when something goes wrong: the page, the API and the health views all ask here.

A public answer says what its reader can act on: what is wrong with their photo or a field, that DermAI is busy,
that the model is unavailable and which bundle file the operator must restore, that the database is unreachable.
It never carries a path on this host, an exception's class name or a decoder's or a driver's own words: those
go, in full, to the 'dermai' log, which only the operator reads.
"""
import logging

from .services import ModelUnavailable, ServerBusy

logger = logging.getLogger("dermai")

DATABASE_DOWN = "unreachable - history not recorded"


class Refusal(Exception):
    """A request that cannot be analysed: the HTTP status, the public reason, the field at fault."""

    def __init__(self, status, message, field=None, retry_after=None):
        super().__init__(message)
        self.status, self.message, self.field, self.retry_after = status, message, field, retry_after

    def headers(self):
        return {"Retry-After": str(self.retry_after)} if self.retry_after else {}


def log_detail(exc):
    """An error and every cause behind it, with their classes: the operator's whole story, never published."""
    parts = [str(exc).strip()]
    while (exc := exc.__cause__ or exc.__context__) is not None:
        parts.append(f"{type(exc).__name__}: {str(exc).strip()}")
    return " <- ".join(parts)


def refusal(exc):
    """The Refusal the page and the API give for a service's exception; what lies behind it goes to the log."""
    if isinstance(exc, ServerBusy):
        return Refusal(503, str(exc), retry_after=exc.retry_after)
    if isinstance(exc, ModelUnavailable):
        logger.error("the model is unavailable: %s", log_detail(exc))
        return Refusal(503, f"the model is unavailable: {exc}")
    logger.info("refused an upload with %s: %s", exc.status, log_detail(exc))  # an UploadRefused
    return Refusal(exc.status, str(exc), exc.field)


def bundle_problem(exc):
    """(public, for the log) for a BundleError, as /health/ and /health/ready/ show it."""
    return str(exc), log_detail(exc)


def database_problem(exc):
    """(public, for the log) for a database that does not answer: the driver's words name its host and port."""
    return DATABASE_DOWN, log_detail(exc) if exc else "SELECT 1 gave a wrong answer"
