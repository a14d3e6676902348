"""Phone and paper, in a real Chromium: a 375 px phone takes a photo with its camera and reads the result with
nothing overflowing sideways; the result page prints to one A4 page holding the report."""
import re

import pytest

from Dermal.tests.web.conftest import astronaut_photo, first_of, spoiled

from .conftest import SCREENSHOTS

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]  # real Chromium
PHONE = {"viewport": {"width": 375, "height": 812}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
REPORT_PDF = SCREENSHOTS.parent / "report.pdf"
A4_CONTENT_PX = {"width": 703, "height": 1032}  # 210 x 297 mm less the print stylesheet's 12 mm margins, at 96 dpi
OVERFLOWING = """() => [...document.querySelectorAll("body *")]
    .filter(e => e.getBoundingClientRect().right > window.innerWidth + 0.5)
    .map(e => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") + "." + e.className)"""


def assert_fits_the_width(page):
    width = page.evaluate("window.innerWidth")
    assert width == 375
    assert page.evaluate("document.documentElement.scrollWidth") <= width, page.evaluate(OVERFLOWING)
    assert page.evaluate(OVERFLOWING) == []


@pytest.fixture
def phone(browser):
    context = browser.new_context(**PHONE)
    yield context.new_page()
    context.close()


def test_a_phone_takes_the_photo_with_its_camera_and_nothing_overflows(phone, live_server, fixture_items,
                                                                        screenshot_path):
    phone.goto(live_server.url + "/")
    assert phone.locator("#camera").get_attribute("capture") == "environment"
    assert phone.locator("#camera").get_attribute("accept") == "image/*"
    assert phone.locator("label[for=camera]").is_visible()  # a touch screen gets the camera button
    assert_fits_the_width(phone)
    phone.screenshot(path=screenshot_path("phone-form"), full_page=True)

    photo = str(first_of(fixture_items, "mel").path)
    phone.set_input_files("#photo", photo)
    phone.set_input_files("#camera", photo)  # the camera's photo replaces the one chosen before
    assert phone.eval_on_selector("#photo", "input => input.files.length") == 0
    phone.wait_for_selector("#preview:not([hidden])")
    phone.click("#analyse")
    phone.wait_for_selector("#triage", timeout=60_000)

    assert phone.locator("#diagnosis-name").is_visible()
    assert phone.locator("#top-three li").count() == 3
    assert phone.locator("#referral").is_visible()
    assert_fits_the_width(phone)
    phone.screenshot(path=screenshot_path("phone-result"), full_page=True)


def test_a_phone_photo_of_no_lesion_says_so_first_and_hides_nothing(phone, live_server, tmp_path, screenshot_path):
    """scikit-image's astronaut portrait: not a lesion for the real engine, with a malignant probability of 0.46."""
    photo = tmp_path / "astronaut.jpg"
    photo.write_bytes(astronaut_photo())
    phone.goto(live_server.url + "/")
    phone.set_input_files("#camera", str(photo))
    phone.click("#analyse")
    phone.wait_for_selector("#out-of-scope", timeout=60_000)

    heading = phone.locator("#out-of-scope h2").inner_text()
    assert heading == "This photo does not look like a close-up of a skin lesion"
    assert phone.locator("#top-three li").count() == 3 and phone.locator("#top-three").is_visible()
    referral = phone.locator("#referral")
    assert referral.is_visible() and referral.inner_text().startswith("If this is a photo of a skin lesion")
    assert phone.evaluate("document.querySelector('#referral').closest('details')") is None
    assert_fits_the_width(phone)
    phone.screenshot(path=screenshot_path("phone-not-a-lesion"), full_page=True)


def test_the_camera_button_is_not_offered_to_a_mouse(browser, live_server):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(live_server.url + "/")
    assert page.locator("#photo").is_visible() and not page.locator("label[for=camera]").is_visible()
    page.close()


def pdf_pages(pdf):
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf))


PRINTED = ["#photo-shown", "#overlay", "#top-three", "#malignant-probability", "#referral", "#warnings",
           "#report-meta", "#disclaimer"]
NOT_PRINTED = ["#print-report", "#again", ".probabilities", ".site-footer", "#photo-privacy"]


def test_the_result_prints_to_one_a4_page_with_the_report(browser, live_server, fixture_items, tmp_path,
                                                           monkeypatch, screenshot_path):
    monkeypatch.setenv("ENABLE_GRADCAM", "true")
    photo = tmp_path / "blurred-melanoma.jpg"
    photo.write_bytes(spoiled(first_of(fixture_items, "mel"), "blurry"))
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(live_server.url + "/")
    page.set_input_files("#photo", str(photo))
    page.click("#analyse")
    page.wait_for_selector("#triage", timeout=60_000)
    page.evaluate("() => { window.print = () => { window.printRequested = true; }; }")
    page.click("#print-report")
    assert page.evaluate("window.printRequested") is True

    page.emulate_media(media="print")
    for selector in PRINTED:
        assert page.locator(selector).first.is_visible(), f"{selector} is not printed"
    for selector in NOT_PRINTED:
        assert not page.locator(selector).first.is_visible(), f"{selector} is printed"
    assert page.locator("#top-three li").count() == 3
    assert "checked by a dermatologist" in page.locator("#referral").inner_text()
    assert page.locator('#warnings li[data-code="blurry"]').is_visible()
    meta = page.locator("#report-meta").inner_text()
    assert re.search(r"Analysed \d{4}-\d\d-\d\d \d\d:\d\d UTC", meta)
    assert "sklesion" in meta and "bundle" in meta and "precision int8" in meta
    assert "not a medical diagnosis" in page.locator("#disclaimer").inner_text()
    assert page.evaluate("document.querySelector('#overlay').naturalWidth") > 0

    pdf = page.pdf(format="A4", print_background=True)
    REPORT_PDF.parent.mkdir(parents=True, exist_ok=True)
    REPORT_PDF.write_bytes(pdf)
    assert pdf.startswith(b"%PDF") and pdf_pages(pdf) == 1
    page.set_viewport_size(A4_CONTENT_PX)  # the screenshot shows the printed page's width
    page.screenshot(path=screenshot_path("report-print-media"), full_page=True)
    page.close()


def test_a_not_a_lesion_result_prints_its_headline_and_its_referral(browser, live_server, tmp_path):
    photo = tmp_path / "astronaut.jpg"
    photo.write_bytes(astronaut_photo())
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(live_server.url + "/")
    page.set_input_files("#photo", str(photo))
    page.click("#analyse")
    page.wait_for_selector("#out-of-scope", timeout=60_000)
    page.emulate_media(media="print")
    for selector in ("#out-of-scope", "#referral", "#top-three", "#photo-shown", "#report-meta", "#disclaimer"):
        assert page.locator(selector).is_visible(), f"{selector} is not printed"
    assert page.locator("#referral").inner_text().startswith("If this is a photo of a skin lesion")
    assert pdf_pages(page.pdf(format="A4", print_background=True)) == 1
    page.close()
