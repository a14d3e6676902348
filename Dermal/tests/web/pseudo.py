"""A pseudo-Vietnamese catalogue for the tests: every entry of the real catalogue (locale/vi, which
test_i18n.py keeps holding every string the code marks) "translated" as "[vi] <the English>".

It shows that each word reaching a person goes through the catalogue in the reader's language, whatever the real
Vietnamese says: compiled with polib into a LOCALE_PATHS of its own.
"""
from pathlib import Path

import polib
from django.conf import settings as django_settings

MARK = "[vi] "


def pseudo(msgid):
    """What the pseudo catalogue says for `msgid`."""
    return MARK + msgid


def install(settings, directory):
    """Make the pseudo catalogue (over Django's own) the Vietnamese of the test whose `settings` fixture is given,
    written in `directory`; returns what it says for a msgid (conftest.py's pseudo_vietnamese fixture)."""
    real = polib.pofile(str(Path(django_settings.BASE_DIR) / "locale" / "vi" / "LC_MESSAGES" / "django.po"))
    catalogue = polib.POFile()
    catalogue.metadata = {"Content-Type": "text/plain; charset=UTF-8", "Plural-Forms": "nplurals=1; plural=0;"}
    for entry in real:
        catalogue.append(polib.POEntry(
            msgctxt=entry.msgctxt, msgid=entry.msgid, msgstr="" if entry.msgid_plural else pseudo(entry.msgid),
            msgid_plural=entry.msgid_plural, msgstr_plural={0: pseudo(entry.msgid)} if entry.msgid_plural else {}))
    target = directory / "vi" / "LC_MESSAGES"
    target.mkdir(parents=True, exist_ok=True)
    catalogue.save_as_mofile(str(target / "django.mo"))
    settings.LOCALE_PATHS = [directory]
    return pseudo
