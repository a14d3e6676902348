"""Helpers for the web tests: submit an upload through the page or the API and read back the outcome."""
import io
import os
import re
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from html import unescape

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation
from PIL import Image

from Dermal.inference.switches import flip_average_enabled
from trust.photos import SPOILS, at_phone_width


@dataclass
class Outcome:
    status: int
    error: str | None      # the reason given, for a refusal
    top_class: str | None  # the diagnosis, for an analysis
    response: object


def encoded(image, fmt, **params):
    """`image` saved in `fmt` (a Pillow format name), as bytes."""
    out = io.BytesIO()
    image.save(out, fmt, **params)
    return out.getvalue()


# What a public answer must never carry: where things live on this host, an exception's class, a traceback, or a
# decoder's, the OS's or the database driver's own words.
HOST_PLACES = {str(Path(__file__).resolve().parents[3]), sys.prefix, tempfile.gettempdir() + os.sep,
               os.path.expanduser("~") + os.sep, "site-packages", "/usr/", "/etc/", "/var/", "/opt/", "/home/"}
INTERNAL_WORDS = re.compile(r"\b[A-Z]\w*(?:Error|Exception)\b|Traceback|Errno|errno|\bPIL\b|libjpeg|simplejpeg|"
                            r"cannot identify image file|image file is truncated|broken data stream|marker|"
                            r"IHDR|IDAT|Huffman|Premature end|Corrupt JPEG|Not a JPEG|\b\w+\(\)|"
                            r"psycopg|connection to server")


def disclosed_internals(text):
    """Each internal thing `text` (a public answer's body) discloses; [] when it is fit to publish."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return sorted({place for place in HOST_PLACES if place in text} | set(INTERNAL_WORDS.findall(text)))


def _form_data(image, filename, fields):
    data = {key: value for key, value in fields.items() if value is not None}
    if image is not None:
        data["image"] = SimpleUploadedFile(filename, image)
    return data


def submit_to_api(client, image=None, filename="lesion.jpg", **fields):
    response = client.post(reverse("api_predict"), _form_data(image, filename, fields))
    body = response.json() if response["Content-Type"] == "application/json" else {}
    return Outcome(response.status_code, body.get("error"), body.get("top_class"), response)


def submit_to_page(client, image=None, filename="lesion.jpg", **fields):
    # The page's checkboxes (Grad-CAM, flip averaging) send "on" when ticked and nothing otherwise; a box the
    # test leaves alone is sent as the page shows it, as a person who does not touch it would.
    fields.setdefault("flip_average", flip_average_enabled())
    for box in ("gradcam", "flip_average"):
        if box in fields:
            fields[box] = "on" if fields[box] in (True, "true") else None
    response = client.post(reverse("upload"), _form_data(image, filename, fields))
    html = response.content.decode()
    error = re.search(r'id="error"[^>]*>(.*?)</p>', html, re.S)
    diagnosis = re.search(r'id="diagnosis"[^>]*data-code="(\w+)"', html)
    return Outcome(response.status_code, error and unescape(error.group(1)), diagnosis and diagnosis.group(1), response)


@pytest.fixture(autouse=True)
def no_language_left_behind():
    """Django leaves the last request's language active in its thread (LocaleMiddleware activates, nothing
    deactivates): a Vietnamese request must not make the next test, in the same worker, speak Vietnamese."""
    yield
    translation.deactivate()


@pytest.fixture
def staff_client(client, django_user_model):
    """The test client, logged in as a staff member (who may read the history)."""
    client.force_login(django_user_model.objects.create_user("lead", password="not-used", is_staff=True))
    return client


@pytest.fixture
def pseudo_vietnamese(settings, tmp_path):
    """Vietnamese, for the test, is a pseudo catalogue saying "[vi] <the English>" for every string the code marks
    (pseudo.py): returns what it says for a msgid."""
    from .pseudo import install

    return install(settings, tmp_path / "locale")


@pytest.fixture(params=["page", "api"])
def submit(request, client, db):
    """Submit an upload through the upload page or the JSON API (each test runs with both)."""
    post = submit_to_page if request.param == "page" else submit_to_api
    return lambda *args, **kwargs: post(client, *args, **kwargs)


def first_of(items, dx):
    """The first labelled image of diagnosis `dx`."""
    return next(item for item in items if item.dx == dx)


# Real photos made worse the way phone photos are (the trust tool's spoils): out of focus, in dim light, washed
# out; and too small.
SPOILERS = {
    "blurry": SPOILS["blurred, 3 px"][1],
    "too_dark": SPOILS["darkened to 30%"][1],
    "too_bright": SPOILS["brightened 2x"][1],
    "too_small": lambda image: image.resize((image.width // 4, image.height // 4), Image.LANCZOS),
}


def spoiled(item, code):
    """`item`'s photo, brought to phone width (the scale the spoilers are set for), spoiled so that it deserves
    the quality warning `code`, as JPEG bytes."""
    return encoded(SPOILERS[code](at_phone_width(item.path)), "JPEG", quality=92)


def document_photo():
    """A photographed page of text: black lines of text on white paper, as a phone would take it."""
    from PIL import ImageDraw

    page = Image.new("RGB", (900, 1200), (246, 244, 238))
    draw = ImageDraw.Draw(page)
    for line in range(40):
        draw.text((60, 60 + 27 * line), f"{line + 1:02d}  Invoice item, quantity and price: {line * 37 % 91} EUR",
                  fill=(20, 20, 20))
    return encoded(page, "JPEG", quality=90)


def astronaut_photo():
    """scikit-image's astronaut portrait (512x512): a person, not a skin lesion close-up."""
    from skimage import data

    return encoded(Image.fromarray(data.astronaut()), "JPEG", quality=92)


def cat_photo():
    """scikit-image's cat (Chelsea, 451x300): fur the skin-lesion backbone alone takes for a lesion photo's skin."""
    from skimage import data

    return encoded(Image.fromarray(data.cat()), "JPEG", quality=92)


NON_LESION_PHOTOS = {"astronaut": astronaut_photo, "document": document_photo, "cat": cat_photo}


def judge_scope(monkeypatch, level="not_a_lesion", score=2.93, thresholds=None):
    """The real analysis of the real photo with the scope verdict `level` (score, thresholds) put in its place:
    a lesion photo the engine would pass, to see the page's answer to the verdict itself."""
    from dataclasses import replace

    from Dermal import AI_detection

    real = AI_detection.predict_skin_simple
    thresholds = thresholds or {"unusual": -1.0, "not_a_lesion": 1.5}

    def predict(*args, **kwargs):
        return replace(real(*args, **kwargs), scope=level, out_of_scope=level == "not_a_lesion", scope_score=score,
                       scope_thresholds=thresholds)

    monkeypatch.setattr(AI_detection, "predict_skin_simple", predict)
