"""A person's path through DermAI in a real browser: choose a real lesion photo, analyse, read the result."""
import pytest

from Dermal.inference.datasets import FIXTURES_DIR

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]  # real Chromium


def real_photo(fixture_items, dx="mel"):
    return next(item for item in fixture_items if item.dx == dx)


def test_upload_a_real_photo_and_see_diagnosis_bars_and_overlay(browser, live_server, fixture_items,
                                                                 screenshot_path):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(live_server.url + "/")
    page.set_input_files("#photo", str(real_photo(fixture_items).path))
    page.wait_for_selector("#preview:not([hidden])")  # the chosen photo is previewed before upload
    page.fill("#age", "55")
    page.select_option("#sex", "male")
    page.select_option("#site", "trunk")
    page.click("#analyse")
    page.wait_for_selector("#diagnosis", timeout=60_000)

    assert page.locator("#diagnosis-name").inner_text().strip()
    assert page.locator(".prob-bar").count() == 7
    widths = page.eval_on_selector_all(".prob-fill", "els => els.map(e => e.getBoundingClientRect().width)")
    assert max(widths) > 0
    overlay = page.locator("#overlay")
    assert overlay.is_visible()
    # the 1024x768 photo is shown (and its heatmap drawn) at DERMAI_DISPLAY_MAX_SIDE, 640 px
    assert page.evaluate("img => img.complete && img.naturalWidth", overlay.element_handle()) == 640
    assert "not a medical diagnosis" in page.locator("#disclaimer").inner_text().lower()
    page.screenshot(path=screenshot_path("result"), full_page=True)
    page.close()


def test_a_non_image_is_refused_in_the_page_with_its_reason(browser, live_server, screenshot_path):
    page = browser.new_page()
    page.goto(live_server.url + "/")
    page.set_input_files("#photo", str(FIXTURES_DIR / "labels.csv"))
    page.click("#analyse")
    page.wait_for_selector("#error")
    assert "format" in page.locator("#error").inner_text().lower()
    page.screenshot(path=screenshot_path("refused"), full_page=True)
    page.close()
