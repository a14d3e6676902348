"""Marking the inference layer's messages for people, for translation, without Django.

The inference layer is imported by offline tools (quantize_model.py, `python -m trust`, the measuring commands)
where Django's settings do not exist, so it cannot import django.utils.translation. Its user-facing messages are
marked with gettext_noop below instead: `manage.py makemessages` (xgettext) collects every gettext_noop("...")
call by its name, wherever the function comes from. A message stays English here (the message id, with named
%(name)s placeholders) and travels with its values, unformatted (ImageError, MetadataError); the web layer
(Dermal/public_errors.py, Dermal/views.py) translates the id into the reader's language and fills it in.

Standard library only.
"""
from decimal import Decimal


def gettext_noop(message):
    """`message` unchanged: marks it for translation (makemessages collects it), to be translated later."""
    return message


def fill(message, params):
    """`message` (a message id or its translation) with its named placeholders filled from `params`; a message
    without values is left as it is (so a literal % in it needs no doubling)."""
    return message % params if params else message


def decimal(value, places):
    """`value` rounded to `places` decimals as a Decimal: in a message's values, it reads '12.3' in English here
    (str) and is written in the reader's own number format by the web layer (a decimal comma in Vietnamese)."""
    return Decimal(f"{value:.{places}f}")
