"""The answer first (issue 36), in a real Chromium, for every kind of result in English and Vietnamese: on a
375 x 812 phone what to do and the most likely class with its probability end on the first screen, before any
scrolling, with a plain line first for a photo DermAI does not know; nothing a person reads names the project's photo
sets or settings; printed, every result is one A4 page with its details open; a refusal is a sentence."""
import io
import re

import pytest
from PIL import Image, ImageEnhance

from Dermal.tests.web.conftest import astronaut_photo, document_photo, encoded, first_of, spoiled

from .conftest import analyse, choose_photo, saved
from .test_phone_and_paper import PHONE, pdf_pages

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]  # real Chromium

FIRST_SCREEN_PX = PHONE["viewport"]["height"]
LANGUAGES = ("en", "vi")
# What a person must never read: the names the project gives its photo sets, files and settings.
INTERNAL_NAMES = re.compile(r"derm_\w+|DERMAI_\w+|DERMAL_\w+|ENABLE_GRADCAM|manifest|\.json\b|\.tflite\b")
BOTTOM = "element => element.getBoundingClientRect().bottom + window.scrollY"
TOP = "element => element.getBoundingClientRect().top + window.scrollY"


def dark_document():
    """A photographed page in dim light: not a lesion, too dark, and not referred."""
    page = Image.open(io.BytesIO(document_photo()))
    return encoded(ImageEnhance.Brightness(page).enhance(0.2), "JPEG", quality=90)


# {kind: (the photo's bytes, given the committed photos; the verdict it gets: scope, referral, warnings)}: between
# them, lesion, unusual and not a lesion; with and without a quality warning; referred and not.
KINDS = {
    "a referred melanoma": (lambda items: first_of(items, "mel").read(), ("lesion", True, set())),
    "a cleared naevus": (lambda items: first_of(items, "nv").read(), ("lesion", False, set())),
    "a blurred lesion, referred": (lambda items: spoiled(first_of(items, "mel"), "blurry"),
                                   ("lesion", True, {"blurry"})),
    "an unusual dark photo, referred": (lambda items: spoiled(first_of(items, "mel"), "too_dark"),
                                        ("unusual", True, {"too_dark"})),
    "an unusual blurred photo, cleared": (lambda items: spoiled(first_of(items, "nv"), "blurry"),
                                          ("unusual", False, {"blurry"})),
    "not a lesion, referred": (lambda items: astronaut_photo(), ("not_a_lesion", True, set())),
    "not a lesion with a warning, referred": (lambda items: document_photo(),
                                              ("not_a_lesion", True, {"too_bright"})),
    "not a lesion with a warning, cleared": (lambda items: dark_document(), ("not_a_lesion", False, {"too_dark"})),
}


@pytest.fixture(scope="module")
def phones(browser):
    """{language: a phone page whose browser asks for that language}, kept for the module's tests."""
    contexts = {language: browser.new_context(**PHONE, locale=language,
                                              extra_http_headers={"Accept-Language": language})
                for language in LANGUAGES}
    yield {language: context.new_page() for language, context in contexts.items()}
    for context in contexts.values():
        context.close()


def verdict(page):
    """(scope, referral, warning codes) as the page shows them."""
    scope = page.locator("[data-scope]")
    return (scope.get_attribute("data-scope") if scope.count() else "lesion", page.locator("#referral").count() == 1,
            set(page.locator("#warnings li").evaluate_all("items => items.map(item => item.dataset.code)")))


def bottom(page, selector):
    return page.locator(selector).evaluate(BOTTOM)


def assert_the_answer_is_on_the_first_screen(page, scope):
    """What to do, then the top class with its probability, then (for a photo DermAI does not know) the plain line
    linking to why: all in order and ending within the first screen, none folded away."""
    page.evaluate("window.scrollTo(0, 0)")
    order = ["#referral, #no-referral", "#diagnosis-name", "#diagnosis .confidence"]
    if scope != "lesion":
        order.append("#scope-note")
        target = "#out-of-scope" if scope == "not_a_lesion" else "#unusual"
        assert page.locator("#scope-note a").get_attribute("href") == target
    bottoms = {selector: bottom(page, selector) for selector in order}
    assert all(value <= FIRST_SCREEN_PX for value in bottoms.values()), bottoms
    tops = [page.locator(selector).evaluate(TOP) for selector in order]
    assert tops == sorted(tops), dict(zip(order, tops))
    for selector in order:
        assert page.locator(selector).is_visible(), selector
        assert page.locator(selector).evaluate("element => element.closest('details')") is None, selector
    return bottoms


def assert_nothing_internal_is_read(page):
    """Neither the page's visible text nor its details, opened, name a photo set, a file or a setting."""
    for opened in (False, True):
        page.locator("#details").evaluate("(details, opened) => { details.open = opened; }", opened)
        text = page.locator("body").inner_text()
        assert INTERNAL_NAMES.findall(text) == [], f"details open: {opened}"
    assert page.locator("#triage-basis").is_visible()  # the details do open, and say what they say
    page.locator("#details").evaluate("details => { details.open = false; }")


def assert_it_prints_on_one_page_with_its_details(page):
    page.emulate_media(media="print")
    try:
        for selector in ("#referral, #no-referral", "#diagnosis-name", "#report-meta", "#triage-basis",
                         "#disclaimer", "#photo-shown"):
            assert page.locator(selector).is_visible(), f"{selector} is not printed"
        assert not page.locator("#details").evaluate("details => details.open")  # opened by the print stylesheet
        assert pdf_pages(page.pdf(format="A4", print_background=True)) == 1
    finally:
        page.emulate_media(media="screen")


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_of_result_answers_first_on_a_phone_and_prints_on_one_page(kind, phones, live_server,
                                                                             fixture_items, tmp_path):
    photo, expected = KINDS[kind]
    path = saved(tmp_path, "photo.jpg", photo(fixture_items))
    for language, page in phones.items():  # the same photo, posted again by a browser asking for the other language
        choose_photo(page, live_server.url + "/", path)
        analyse(page)
        assert page.get_attribute("html", "lang") == language
        assert verdict(page) == expected, language
        bottoms = assert_the_answer_is_on_the_first_screen(page, expected[0])
        print(f"{kind}, {language}: bottom px {bottoms}")  # the figures quoted in the closing note
        assert_nothing_internal_is_read(page)
        assert_it_prints_on_one_page_with_its_details(page)


@pytest.mark.parametrize("language, sentence", [
    ("en", r"The photo could not be analysed: the file is not an image in a supported format \(.+\)\."),
    ("vi", r"Không phân tích được ảnh: tệp không phải là ảnh .+\."),
])
def test_a_refused_file_gets_its_reason_in_a_sentence(phones, live_server, tmp_path, language, sentence):
    page = phones[language]
    choose_photo(page, live_server.url + "/", saved(tmp_path, "notes.txt", b"not a photo\n" * 50), preview=False)
    analyse(page)
    reason = page.locator("#error").inner_text()
    assert re.fullmatch(sentence, reason), reason
    assert "image" not in reason.split(":")[0]  # the field's code is the API's, not the person's
