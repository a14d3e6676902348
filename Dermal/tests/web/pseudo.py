"""A pseudo-Vietnamese catalogue for the tests: every string the web and inference code marks for translation (and
every string of the serving bundle registered in Dermal.class_words) "translated" as "[vi] <the English>".

It shows that each word reaching a person goes through the catalogue in the reader's language, whatever the real
Vietnamese catalogue (locale/vi) says or lacks. Written as a GNU .mo file in pure Python (no gettext tools needed)
into a LOCALE_PATHS of its own.
"""
import ast
import struct
from pathlib import Path

from Dermal.class_words import REGISTERED

DERMAL = Path(__file__).resolve().parents[2]
MARKERS = {"gettext", "gettext_lazy", "gettext_noop", "_"}
CONTEXT_MARKERS = {"pgettext", "pgettext_lazy"}
MARK = "[vi] "


def _text(node):
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def marked_strings():
    """{msgid: None} or {"context\\x04msgid": None} of every string marked in Dermal/*.py and Dermal/inference/*.py."""
    found = set(REGISTERED)
    for path in [*DERMAL.glob("*.py"), *(DERMAL / "inference").glob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            name = getattr(node.func, "id", getattr(node.func, "attr", None))
            if name in MARKERS and _text(node.args[0]):
                found.add(_text(node.args[0]))
            elif name in CONTEXT_MARKERS and len(node.args) > 1 and _text(node.args[0]) and _text(node.args[1]):
                found.add(f"{_text(node.args[0])}\x04{_text(node.args[1])}")
    return found


def pseudo(msgid):
    """What the pseudo catalogue says for `msgid`."""
    return MARK + msgid


def write_mo(path, translations):
    """A GNU .mo file of {msgid: msgstr} (a msgid with a context as "context\\x04msgid")."""
    header = "Content-Type: text/plain; charset=UTF-8\nPlural-Forms: nplurals=1; plural=0;\n"
    entries = sorted({"": header, **translations}.items())
    ids, strs = [key.encode() for key, _ in entries], [value.encode() for _, value in entries]
    start = 28 + 16 * len(entries)
    tables, blob = [], b""
    for text in ids + strs:
        tables.append(struct.pack("<2I", len(text), start + len(blob)))
        blob += text + b"\0"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(struct.pack("<7I", 0x950412DE, 0, len(entries), 28, 28 + 8 * len(entries), 0, 0)
                     + b"".join(tables) + blob)


def install(settings, directory):
    """Make the pseudo catalogue (over Django's own) the Vietnamese of the test whose `settings` fixture is given,
    written in `directory`; returns what it says for a msgid (conftest.py's pseudo_vietnamese fixture)."""
    write_mo(directory / "vi" / "LC_MESSAGES" / "django.mo",
             {msgid: MARK + msgid.split("\x04")[-1] for msgid in marked_strings()})
    settings.LOCALE_PATHS = [directory]
    return pseudo
