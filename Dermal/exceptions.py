"""What the services raise to the views (Dermal.public_errors words them): the engine's own errors, translated by
services.engine_errors, and a busy server. Only the standard library and Django's translation marker: every layer
imports this module, and it imports none of them."""
from django.utils.translation import gettext_noop


class ServerBusy(Exception):
    """The analysis queue has no room for the request; `retry_after` is in seconds, computed from the queue. str() is the message in English,
    `message_id` the same marked for translation (Dermal.public_errors translates it)."""

    message_id = gettext_noop("DermAI is busy with other analyses: please retry in a few seconds")

    def __init__(self, retry_after):
        super().__init__(self.message_id)
        self.retry_after = retry_after


class UploadRefused(Exception):
    """The upload or a field cannot be analysed: the HTTP status, and the field at fault.

    str() is the message in English, "<field>: <reason>". `message_id` and `params`, when given, are the reason's
    English message id (marked for translation) and the values of its placeholders, for Dermal.public_errors to
    give the reason in its reader's language.
    """

    def __init__(self, status, message, field, message_id=None, params=None):
        super().__init__(message)
        self.status, self.field = status, field
        self.message_id, self.params = message_id, params or {}


class ModelUnavailable(Exception):
    """The serving bundle is missing, damaged or inconsistent."""
