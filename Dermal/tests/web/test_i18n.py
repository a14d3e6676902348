"""Vietnamese and English: the catalogue is complete and compiled, every page and state a person meets speaks the
language their browser asks for (or the one they chose), and English stays as it was."""
import datetime
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation

from Dermal.AI_detection import bundle_version
from Dermal.class_words import TRIAGE_WORDS
from Dermal.inference.bundle import DEFAULT_BUNDLE_DIR, read_manifest

from .conftest import astronaut_photo, encoded, first_of, judge_scope, spoiled
from .test_bad_inputs import png_declaring

ROOT = Path(settings.BASE_DIR)
CATALOGUE = ROOT / "locale" / "vi" / "LC_MESSAGES" / "django.po"
VIETNAMESE = {"HTTP_ACCEPT_LANGUAGE": "vi-VN,vi;q=0.9"}
SHOWN_ATTRIBUTES = {"alt", "title", "aria-label", "placeholder", "data-choose-first", "data-too-large"}


@pytest.fixture(scope="module")
def catalogue():
    return polib.pofile(str(CATALOGUE))


# --- the catalogue ----------------------------------------------------------------------------------------------

def test_every_entry_is_translated_and_none_is_fuzzy_or_obsolete(catalogue):
    assert catalogue.untranslated_entries() == [] and catalogue.fuzzy_entries() == [], \
        [entry.msgid for entry in catalogue.untranslated_entries() + catalogue.fuzzy_entries()]
    assert catalogue.obsolete_entries() == []
    assert len(catalogue.translated_entries()) > 100


def test_the_compiled_catalogue_is_the_source_catalogue(catalogue):
    """The committed .mo (Render's build has no gettext tools) says exactly what the .po says."""
    compiled = {(entry.msgctxt, entry.msgid): entry.msgstr or entry.msgstr_plural
                for entry in polib.mofile(str(CATALOGUE.with_suffix(".mo")))}
    written = {(entry.msgctxt, entry.msgid): entry.msgstr or entry.msgstr_plural
               for entry in catalogue.translated_entries()}
    assert compiled == written


@pytest.mark.skipif(not shutil.which("xgettext"), reason="needs GNU gettext (scripts/test.sh installs it)")
def test_the_catalogue_holds_every_string_marked_in_the_code(catalogue, tmp_path):
    """makemessages, run on a copy of the code, finds no string the catalogue lacks and none it no longer needs."""
    copy = tmp_path / "copy"
    shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns(".venv", ".git", "build", "artifacts", "staticfiles",
                                                              "tests", "*.sqlite3", "__pycache__"))
    subprocess.run([sys.executable, "manage.py", "makemessages", "-l", "vi", "--no-location", "--no-obsolete"],
                   cwd=copy, check=True, capture_output=True, env={"DEBUG": "true", "PATH": "/usr/bin:/bin"})
    found = {(entry.msgctxt, entry.msgid) for entry in polib.pofile(str(copy / CATALOGUE.relative_to(ROOT)))}
    assert found == {(entry.msgctxt, entry.msgid) for entry in catalogue}


def test_every_class_and_triage_wording_of_the_bundle_is_in_the_catalogue(catalogue):
    manifest = read_manifest(DEFAULT_BUNDLE_DIR)
    words = {entry.msgid for entry in catalogue.translated_entries()}
    triage = manifest["backbones"][manifest["default_precision"]]["triage"].values()
    expected = {text for c in manifest["classes"] for text in (c["name"], c["description"])}
    expected |= {TRIAGE_WORDS[entry[key]] for entry in triage for key in ("images", "measured_on") if entry.get(key)}
    assert expected <= words, expected - words


def served_bundle_version():
    """The version the result page quotes as data (the source package's name and version, a hash)."""
    manifest = read_manifest(DEFAULT_BUNDLE_DIR)
    return bundle_version(manifest, manifest["default_precision"])


# --- what a page shows ------------------------------------------------------------------------------------------

class ShownText(HTMLParser):
    """The text a person meets on a page: its text nodes and the attributes that are read out or shown."""

    def __init__(self):
        super().__init__()
        self.parts, self.skipping = [], 0

    def handle_starttag(self, tag, attrs):
        self.skipping += tag in ("script", "style")
        self.parts += [value for name, value in attrs if name in SHOWN_ATTRIBUTES and value]

    def handle_endtag(self, tag):
        self.skipping -= tag in ("script", "style")

    def handle_data(self, data):
        if not self.skipping:
            self.parts.append(data)


def shown_text(html):
    parser = ShownText()
    parser.feed(html)
    return re.sub(r"\s+", " ", " ".join(parser.parts))


def english_left(text, catalogue):
    """The English words of the catalogue's sources that `text` still shows, when its translations never use them
    (names such as Grad-CAM, JPEG or Melanoma stay beside the Vietnamese words, and so are allowed)."""
    def words(strings):
        return {word.lower() for string in strings for word in re.findall(r"[A-Za-z]{4,}", string)}

    english = words(entry.msgid for entry in catalogue) - words(
        entry.msgstr or " ".join(entry.msgstr_plural.values()) for entry in catalogue)
    return sorted({word for word in re.findall(r"[A-Za-z]{4,}", text) if word.lower() in english})


def vietnamese_page(response, catalogue, *also_shown):
    """The page's text, checked to be Vietnamese: `lang="vi"` and no English word of the catalogue. Data a page
    quotes as it is (the bundle's version) is taken out first."""
    html = response.content.decode()
    assert '<html lang="vi">' in html
    text = shown_text(html)
    for quoted in also_shown:
        text = text.replace(quoted, "")
    assert english_left(text, catalogue) == [], text
    return text


def post_page(client, photo, filename="lesion.jpg", **fields):
    from django.core.files.uploadedfile import SimpleUploadedFile

    data = {"image": SimpleUploadedFile(filename, photo), **fields}
    return client.post(reverse("upload"), data, **VIETNAMESE)


@pytest.fixture
def results(db, client, fixture_items, monkeypatch):
    """{name: response} for a result page of each kind, asked for in Vietnamese."""
    mel, nv = first_of(fixture_items, "mel"), first_of(fixture_items, "nv")
    pages = {"a melanoma, referred": post_page(client, mel.read(), gradcam="on"),
             "a naevus, not referred, no heatmap": post_page(client, nv.read())}
    for code in ("blurry", "too_dark", "too_bright", "too_small"):
        pages[f"a photo with the warning {code}"] = post_page(client, spoiled(mel, code))
    pages["not a skin lesion"] = post_page(client, astronaut_photo(), gradcam="on")
    judge_scope(monkeypatch, level="unusual", score=0.2)
    pages["an unusual photo"] = post_page(client, mel.read())
    return pages


@pytest.mark.slow  # eight real analyses
def test_every_result_variant_is_vietnamese(results, catalogue):
    seen = set()
    for name, response in results.items():
        assert response.status_code == 200, name
        html = response.content.decode()
        seen |= {part for part in ('id="referral"', 'id="no-referral"', 'id="warnings"', 'id="out-of-scope"',
                                   'id="unusual"', 'id="overlay"', 'id="no-overlay"', 'id="triage"') if part in html}
        vietnamese_page(response, catalogue, served_bundle_version())
    assert len(seen) == 8, seen
    assert "Hãy cân nhắc" in shown_text(results["a melanoma, referred"].content.decode())


def test_numbers_use_the_vietnamese_decimal_comma(client, db, lesion_jpeg):
    text = shown_text(post_page(client, lesion_jpeg).content.decode())
    assert re.search(r"\d+,\d%", text) and not re.search(r"\d+\.\d%", text), text


REFUSALS = {  # (file, name, fields) -> status
    "no photo": (None, "lesion.jpg", {}, 400),
    "an empty file": (b"", "lesion.jpg", {}, 400),
    "a text file": (b"notes about a mole\n" * 30, "notes.txt", {}, 415),
    "an age out of range": ("photo", "lesion.jpg", {"age": "999"}, 400),
    "an unknown sex": ("photo", "lesion.jpg", {"sex": "martian"}, 400),
}


@pytest.mark.parametrize("case", REFUSALS.keys())
def test_every_refusal_on_the_page_is_vietnamese(client, db, catalogue, lesion_jpeg, case):
    photo, filename, fields, status = REFUSALS[case]
    from django.core.files.uploadedfile import SimpleUploadedFile

    data = {**fields, **({"image": SimpleUploadedFile(filename, lesion_jpeg if photo == "photo" else photo)}
                         if photo is not None else {})}
    response = client.post(reverse("upload"), data, **VIETNAMESE)
    assert response.status_code == status
    reason = response.context["error"]
    assert reason.endswith(".") and not re.match(r"(image|age|sex|site)\b", reason), reason  # a sentence, no code
    vietnamese_page(response, catalogue)


def test_the_upload_page_a_bomb_and_a_truncated_photo_are_vietnamese(client, db, catalogue, lesion_image,
                                                                     lesion_jpeg):
    vietnamese_page(client.get(reverse("upload"), **VIETNAMESE), catalogue)
    for photo, status in ((png_declaring(lesion_image.resize((64, 48)), 20000, 20000), 413),
                          (lesion_jpeg[: len(lesion_jpeg) // 2], 400), (encoded(lesion_image, "GIF"), 415)):
        response = post_page(client, photo)
        assert response.status_code == status
        vietnamese_page(response, catalogue)


def test_the_history_is_vietnamese_for_staff(staff_client, catalogue, lesion_jpeg):
    post_page(staff_client, lesion_jpeg)
    vietnamese_page(staff_client.get(reverse("history"), **VIETNAMESE), catalogue, served_bundle_version())


# --- choosing the language ---------------------------------------------------------------------------------------

def test_english_browsers_and_browsers_that_ask_for_nothing_get_english(client, db):
    for headers in ({}, {"HTTP_ACCEPT_LANGUAGE": "en-GB,en;q=0.9"}, {"HTTP_ACCEPT_LANGUAGE": "fr-FR"}):
        html = client.get(reverse("upload"), **headers).content.decode()
        assert '<html lang="en">' in html and "Analyse a skin lesion photo" in html


def test_the_switcher_works_without_javascript_and_is_remembered(client, db):
    page = client.get(reverse("upload"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert re.search(r'<button[^>]*name="language" value="vi" lang="vi"[^>]*>Tiếng Việt</button>', page)  # base.html
    chosen = client.post(reverse("set_language"), {"language": "vi", "next": "/"}, HTTP_ACCEPT_LANGUAGE="en")
    assert chosen.status_code == 302 and chosen["Location"] == "/"
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "vi"
    assert '<html lang="vi">' in client.get(reverse("upload"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    assert '<html lang="en">' in client.get(reverse("upload"), **VIETNAMESE).content.decode()


def test_a_deployment_can_speak_vietnamese_to_everyone_who_asks_for_nothing(client, db, settings):
    settings.LANGUAGE_CODE = "vi"
    assert '<html lang="vi">' in client.get(reverse("upload")).content.decode()
    assert '<html lang="en">' in client.get(reverse("upload"), HTTP_ACCEPT_LANGUAGE="en").content.decode()


def test_the_report_date_follows_the_language():
    from django.template import Context, Template

    template = Template('{% load i18n %}{% translate "Y-m-d H:i" context "the report\'s date and time (Django date '
                        'format)" as f %}{{ when|date:f }}')
    when = datetime.datetime(2026, 12, 3, 9, 5, tzinfo=datetime.timezone.utc)
    with translation.override("en"):
        assert template.render(Context({"when": when})) == "2026-12-03 09:05"
    with translation.override("vi"):
        assert template.render(Context({"when": when})) == "03/12/2026 09:05"
