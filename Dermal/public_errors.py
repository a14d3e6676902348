"""What DermAI says in public when something goes wrong: the page, the API and the health views all ask here.

A public answer says what its reader can act on: what is wrong with their photo or a field, that DermAI is busy,
that the model is unavailable and which bundle file the operator must restore, that the database is unreachable.
It never carries a path on this host, an exception's class name or a decoder's or a driver's own words: those
go, in full, to the 'dermai' log, which only the operator reads.

A refusal speaks its reader's language (the active one): the engine's reasons arrive as English message ids with
their values (ImageError and MetadataError through exceptions.UploadRefused, ServerBusy) and are translated here;
what a BundleError says is for the operator and stays English, after a translated "the model is unavailable". The
health views' words are for the platform and the operator: English, never translated.
"""
import logging
from decimal import Decimal

from django.utils import formats
from django.utils.translation import gettext, gettext_noop

from .inference.words import fill
from .exceptions import ModelUnavailable, ServerBusy

logger = logging.getLogger("dermai")

DATABASE_DOWN = "unreachable - history not recorded"
# Translators: %(problem)s is what is wrong with the serving bundle, in English, for the operator.
MODEL_UNAVAILABLE = gettext_noop("the model is unavailable: %(problem)s")


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


def translated(message_id, params=None):
    """A message id (English, marked for translation) in the active language, its placeholders filled with
    `params`, whose numbers (Decimal) are written in the language's own format (a decimal comma in Vietnamese)."""
    return fill(gettext(message_id), {name: formats.number_format(value) if isinstance(value, Decimal) else value
                                      for name, value in (params or {}).items()})


# A refusal names what it refused in words, never by the field's code (the API's parameter, in its own "field").
FIELD_SENTENCES = {
    "image": gettext_noop("The photo could not be analysed: %(reason)s."),
    "age": gettext_noop("The age could not be used: %(reason)s."),
    "sex": gettext_noop("The sex could not be used: %(reason)s."),
    "site": gettext_noop("The body site could not be used: %(reason)s."),
    "gradcam": gettext_noop("The Grad-CAM choice could not be used: %(reason)s."),
    "flip_average": gettext_noop("The flip averaging choice could not be used: %(reason)s."),
}
# The engine's reasons about a metadata value name their field (%(field)s): in words too.
FIELD_NAMES = {"age": gettext_noop("the age"), "sex": gettext_noop("the sex"), "site": gettext_noop("the body site")}


def _continued(reason):
    """A reason as the end of a sentence: its first letter small unless it starts a name (JPEG, GIF), no full stop."""
    reason = str(reason).strip().rstrip(".")
    starts_a_word = len(reason) > 1 and reason[0].isupper() and reason[1].islower()
    return reason[0].lower() + reason[1:] if starts_a_word else reason


def on_field(field, reason):
    """A refusal's public text: one sentence in the reader's language that says what was refused and why, naming
    the field in words (its code stays in the API's "field")."""
    sentence = FIELD_SENTENCES.get(field, gettext_noop("The request could not be analysed: %(reason)s."))
    return gettext(sentence) % {"reason": _continued(reason)}


def refusal(exc):
    """The Refusal the page and the API give for a service's exception, in the active language; what lies behind
    it goes to the log."""
    if isinstance(exc, ServerBusy):
        return Refusal(503, gettext(exc.message_id), retry_after=exc.retry_after)
    if isinstance(exc, ModelUnavailable):
        logger.error("the model is unavailable: %s", log_detail(exc))
        return Refusal(503, translated(MODEL_UNAVAILABLE, {"problem": str(exc)}))
    logger.info("refused an upload with %s: %s", exc.status, log_detail(exc))  # an UploadRefused
    if exc.message_id:
        reason = translated(exc.message_id, {**exc.params, "field": gettext(FIELD_NAMES.get(exc.field, exc.field))})
    else:
        reason = str(exc).removeprefix(f"{exc.field}: ")  # its English message, "<field>: <reason>"
    return Refusal(exc.status, on_field(exc.field, reason), exc.field)


def bundle_problem(exc):
    """(public, for the log) for a BundleError, as /health/ and /health/ready/ show it."""
    return str(exc), log_detail(exc)


def database_problem(exc):
    """(public, for the log) for a database that does not answer: the driver's words name its host and port."""
    return DATABASE_DOWN, log_detail(exc) if exc else "SELECT 1 gave a wrong answer"
