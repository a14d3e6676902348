"""A Vietnamese phone in a real Chromium: the browser asks for Vietnamese (its locale), and the upload, a melanoma's
result with its referral, a refusal and the printed report come in Vietnamese, fit a 375 px screen, pass axe-core,
and print on one A4 page; the switcher changes the language without JavaScript and the choice stays."""
import pytest

from Dermal.tests.web.conftest import first_of

from .conftest import analyse, choose_photo, saved
from .test_accessibility import assert_accessible
from .test_phone_and_paper import PHONE, assert_fits_the_width, pdf_pages

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]  # real Chromium


@pytest.fixture
def vietnamese_phone(browser):
    context = browser.new_context(**PHONE, locale="vi-VN")
    yield context.new_page()
    context.close()


def test_a_vietnamese_phone_gets_every_step_in_vietnamese(vietnamese_phone, live_server, fixture_items, tmp_path,
                                                         screenshot_path):
    page, url = vietnamese_phone, live_server.url + "/"
    page.goto(url)
    assert page.get_attribute("html", "lang") == "vi"
    assert page.locator("h1").inner_text() == "Phân tích ảnh tổn thương da"
    assert_fits_the_width(page)
    assert_accessible(page, "the upload page in Vietnamese")

    choose_photo(page, url, first_of(fixture_items, "mel").path, gradcam=True)
    analyse(page)
    referral = page.locator("#referral")
    assert referral.is_visible() and "bác sĩ da liễu" in referral.inner_text()
    assert page.locator("#triage h2").inner_text() == "Sàng lọc, không phải kết luận"
    assert_fits_the_width(page)
    assert_accessible(page, "a melanoma's result in Vietnamese")
    page.screenshot(path=screenshot_path("phone-result-vi"), full_page=True)
    page.emulate_media(media="print")
    assert referral.is_visible() and page.locator("#disclaimer").is_visible()
    assert pdf_pages(page.pdf(format="A4", print_background=True)) == 1  # Vietnamese is longer: still one page
    page.emulate_media(media="screen")

    choose_photo(page, url, saved(tmp_path, "notes.txt", b"not a photo\n" * 50), preview=False)
    analyse(page)
    assert "định dạng" in page.locator("#error").inner_text()  # "format", in the reason
    assert_fits_the_width(page)
    assert_accessible(page, "a refusal in Vietnamese")


def test_the_switcher_changes_the_language_and_the_choice_stays(vietnamese_phone, live_server):
    page = vietnamese_phone
    page.goto(live_server.url + "/")
    page.click('button[name="language"][value="en"]')
    page.wait_for_selector('html[lang="en"]')
    assert page.locator("h1").inner_text() == "Analyse a skin lesion photo"
    page.goto(live_server.url + "/")  # a new visit: the cookie wins over the browser's Vietnamese
    assert page.get_attribute("html", "lang") == "en"
    page.click('button[name="language"][value="vi"]')
    page.wait_for_selector('html[lang="vi"]')
    assert page.locator('button[aria-current="true"]').inner_text() == "Tiếng Việt"
