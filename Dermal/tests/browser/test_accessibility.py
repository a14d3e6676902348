"""Accessible to everyone, in a real Chromium: axe-core's WCAG 2.1 A and AA rules find nothing on any page or state
a person or a staff member meets, and what rules cannot see is checked directly: the keyboard alone, where focus
and a screen reader land, text alternatives, announcements, text at 200% on a phone, reduced motion."""
import pytest
from axe_playwright_python.sync_playwright import Axe

from Dermal.tests.web.conftest import encoded, first_of, judge_scope
from Dermal.tests.web.test_bad_inputs import png_declaring

from harness.chromium import wait_for_result

from .conftest import RESULT_PARTS, analyse, choose_photo, log_in_as_staff, result_variants, saved
from .test_phone_and_paper import PHONE, assert_fits_the_width

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]  # real Chromium

AXE = Axe()  # axe-core, as bundled by axe-playwright-python
WCAG_AA = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
           "resultTypes": ["violations"]}


def assert_accessible(page, where):
    """No axe-core violation; a failure names each rule and element."""
    results = AXE.run(page, options=WCAG_AA)
    assert results.violations_count == 0, f"{where}: {results.generate_report()}"


@pytest.fixture
def phone(browser):
    context = browser.new_context(**PHONE)
    yield context.new_page()
    context.close()


@pytest.fixture
def desk(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_init_script("window.print = () => { window.printed = true; };")  # headless: no print dialog
    yield context.new_page()
    context.close()


def refusals(lesion_image):
    """{file name: (bytes, what the refusal says)} for each kind of refusal the page shows."""
    jpeg = encoded(lesion_image, "JPEG")
    return {"notes.txt": (b"not a photo\n" * 50, "supported format"), "empty.jpg": (b"", "empty"),
            "cut.jpg": (jpeg[: len(jpeg) // 2], "damaged or truncated"),
            "bomb.png": (png_declaring(lesion_image.resize((64, 48)), 20000, 20000), "megapixels")}


def test_the_upload_page_in_each_state_has_no_violation(phone, live_server, fixture_items, lesion_image, tmp_path):
    url = live_server.url + "/"
    phone.goto(url)
    assert_accessible(phone, "the upload page")
    phone.click("#analyse")  # nothing chosen: the page says so
    assert phone.locator("#photo-error").is_visible()
    assert_accessible(phone, "the upload page asking for a photo")
    choose_photo(phone, url, first_of(fixture_items, "mel").path)
    assert_accessible(phone, "the upload page with a photo chosen")
    for name, (data, reason) in refusals(lesion_image).items():
        choose_photo(phone, url, saved(tmp_path, name, data), preview=False)
        analyse(phone)
        assert reason in phone.locator("#error").inner_text(), name
        assert_accessible(phone, f"the refusal of {name}")
    phone.set_input_files("#photo", str(first_of(fixture_items, "mel").path))
    phone.context.clear_cookies()  # the form now goes without its CSRF cookie
    phone.click("#analyse")
    phone.wait_for_selector("#again")
    assert_accessible(phone, "the form posted without its cookie")


def test_every_result_variant_on_screen_and_printed_has_no_violation(phone, live_server, fixture_items, tmp_path,
                                                                    monkeypatch):
    url, seen = live_server.url + "/", set()
    for name, (photo, boxes) in result_variants(fixture_items, tmp_path).items():
        choose_photo(phone, url, photo, **boxes)
        analyse(phone)
        seen |= {part for part in RESULT_PARTS if phone.locator(part).count()}
        assert_accessible(phone, name)
        phone.emulate_media(media="print")
        assert_accessible(phone, f"{name}, printed")
        phone.emulate_media(media="screen")
    judge_scope(monkeypatch, level="unusual", score=0.2)
    choose_photo(phone, url, first_of(fixture_items, "bkl").path)
    analyse(phone)
    assert phone.locator("#unusual").is_visible()
    assert_accessible(phone, "an unusual photo")
    assert seen == set(RESULT_PARTS), seen


def test_the_history_and_the_admin_have_no_violation(phone, live_server, fixture_items, django_user_model):
    base = live_server.url
    choose_photo(phone, base + "/", first_of(fixture_items, "mel").path, gradcam=False)
    analyse(phone)
    phone.goto(base + "/admin/login/?next=/history/")
    assert_accessible(phone, "the admin's login")
    log_in_as_staff(phone, django_user_model)
    phone.wait_for_selector("#history")
    assert_accessible(phone, "the history")
    for path in ("/admin/", "/admin/Dermal/analysis/", "/admin/Dermal/analysis/?referral__exact=1",
                 "/admin/Dermal/analysis/?_facets=True"):
        phone.goto(base + path)
        assert_accessible(phone, path)
    phone.goto(base + "/admin/Dermal/analysis/")
    phone.click("#result_list tbody a")
    phone.wait_for_selector("#content-main .readonly")
    assert_accessible(phone, "an analysis in the admin")
    phone.click(".deletelink")
    phone.wait_for_selector("input[type=submit]")
    assert_accessible(phone, "deleting an analysis in the admin")


def focused(page):
    return page.evaluate("document.activeElement.id || document.activeElement.tagName.toLowerCase()")


def focus_is_visible(page):
    """The focused element, or the label that stands in for a visually hidden input, has a visible outline."""
    return page.evaluate("""() => {
        const element = document.activeElement;
        const shown = element.classList.contains("camera-input") ? element.nextElementSibling : element;
        const style = getComputedStyle(shown);
        return style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0;
    }""")


def tab_to(page, target, limit=20, key="Tab"):
    """Press Tab (or `key`) until `target` (an id) has the focus, checking that each focus on the way is visible."""
    for _ in range(limit):
        page.keyboard.press(key)
        assert focus_is_visible(page), f"the focus on {focused(page)} cannot be seen"
        if focused(page) == target:
            return
    raise AssertionError(f"Tab never reached #{target} (it stopped on {focused(page)})")


def test_the_whole_flow_works_with_the_keyboard_alone(desk, live_server, fixture_items):
    desk.goto(live_server.url + "/")
    tab_to(desk, "photo")  # a native file input: Space or Enter opens the system's chooser, which takes the photo
    assert desk.evaluate("document.activeElement.type") == "file"
    desk.set_input_files("#photo", str(first_of(fixture_items, "mel").path))  # (headless: no system chooser)
    tab_to(desk, "age")
    desk.keyboard.type("55")
    tab_to(desk, "sex")
    desk.keyboard.press("ArrowDown")
    tab_to(desk, "site")
    desk.keyboard.press("ArrowDown")
    tab_to(desk, "summary")  # the analysis options, folded: Enter unfolds them
    desk.keyboard.press("Enter")
    tab_to(desk, "gradcam")
    gradcam = desk.is_checked("#gradcam")
    desk.keyboard.press("Space")
    assert desk.is_checked("#gradcam") != gradcam
    tab_to(desk, "analyse")
    desk.keyboard.press("Enter")
    wait_for_result(desk)

    assert focused(desk) == "headline"  # not the top of the page
    tab_to(desk, "print-report")
    desk.keyboard.press("Enter")
    assert desk.evaluate("window.printed") is True
    tab_to(desk, "again")
    desk.keyboard.press("Enter")
    desk.wait_for_selector("#upload-form")


def test_the_print_button_shows_only_once_it_works_and_a_tab_meanwhile_keeps_its_place(desk, live_server,
                                                                                      fixture_items):
    """result.js is deferred: on a slow link it arrives after the page. Until it has run the print button is not shown
    (a person would press a button that does nothing), Tab passes on to the next control, and the script, once run,
    leaves the focus where the person put it (not on the headline, whose outline is hidden)."""
    held = []
    desk.route("**/result*.js", lambda route: held.append(route))  # answered only once Tab has been pressed
    choose_photo(desk, live_server.url + "/", first_of(fixture_items, "nv").path, gradcam=False)
    with desk.expect_request("**/result*.js", timeout=60_000):
        desk.click("#analyse")
    assert focused(desk) == "headline"  # upload.js put it there as it wrote the page
    assert not desk.locator("#print-report").is_visible()
    tab_to(desk, "again")  # past the print button, which is not there yet
    assert len(held) == 1  # result.js is still held back
    held[0].continue_()
    desk.locator("#print-report").wait_for(state="visible")
    assert focused(desk) == "again"
    tab_to(desk, "print-report", key="Shift+Tab")
    desk.keyboard.press("Enter")
    assert desk.evaluate("window.printed") is True


def test_a_phone_reaches_the_camera_with_the_keyboard(phone, live_server):
    phone.goto(live_server.url + "/")
    tab_to(phone, "photo")
    tab_to(phone, "camera", limit=1)  # visually hidden: its label shows the focus


def test_the_result_speaks_its_verdict_and_referral_first(phone, live_server, fixture_items, tmp_path):
    url = live_server.url + "/"
    for name, (photo, boxes) in result_variants(fixture_items, tmp_path).items():
        choose_photo(phone, url, photo, **boxes)
        analyse(phone)
        headline = phone.locator("#headline")
        assert focused(phone) == "headline", name
        referral = phone.locator("#referral, #no-referral")
        assert headline.get_attribute("aria-describedby") == referral.get_attribute("id"), name
        # The verdicts are words, not colours alone.
        assert "dermatologist" in referral.inner_text() or "below the referral threshold" in referral.inner_text()
        assert phone.locator("#diagnosis .flag").inner_text() in ("Malignant (a type of skin cancer)", "Benign")
        if phone.locator("#out-of-scope").count():
            assert headline.inner_text() == "Result: not a skin-lesion photo"
        else:
            assert headline.inner_text() == f"Result: {phone.locator('#diagnosis-name').inner_text()}"
        meters = phone.get_by_role("meter")
        assert meters.count() == 7, name
        for row in phone.locator(".prob-row").all():  # each meter named after its class, valued in words
            label = row.locator(".prob-name").inner_text()
            assert phone.get_by_role("meter", name=label, exact=True).get_attribute("aria-valuetext") == \
                row.locator(".prob-value").inner_text()


def test_the_photo_and_the_heatmap_say_what_they_show(phone, live_server, fixture_items):
    choose_photo(phone, live_server.url + "/", first_of(fixture_items, "mel").path, gradcam=True)
    analyse(phone)
    assert phone.get_by_role("img", name="The photo you sent, as DermAI analysed it").is_visible()
    heatmap = phone.locator("#overlay").get_attribute("alt")
    assert heatmap.startswith("Grad-CAM heatmap over the photo: what drove the prediction lies in the "), heatmap
    assert "of the photo, shown in warm colours over about " in heatmap and heatmap.endswith("% of it.")


def test_the_analysing_state_is_announced(desk, live_server, fixture_items):
    """The moment Analyse is pressed, its live region says so and the form is marked busy (read out by a listener
    after upload.js's own); test_upload_js follows the states that come next."""
    said = []
    desk.on("console", lambda message: said.append(message.text) if message.text.startswith("live:") else None)
    choose_photo(desk, live_server.url + "/", first_of(fixture_items, "mel").path)
    status = desk.locator("#progress")
    assert status.get_attribute("role") == "status" and status.inner_text().strip() == ""
    desk.evaluate("""() => document.getElementById("upload-form").addEventListener("submit", event => console.log(
        `live: ${document.getElementById("progress").textContent.trim()} busy: ${event.target.ariaBusy}`))""")
    analyse(desk)
    # A photo small enough to go as it is is already being sent when the listener after upload.js's runs.
    assert len(said) == 1 and said[0].startswith(("live: Preparing the photo", "live: Sending the photo")), said
    assert said[0].endswith("busy: true"), said


def test_text_at_200_percent_on_a_phone_loses_nothing(phone, live_server, fixture_items):
    enlarge = "document.documentElement.style.fontSize = '200%'"  # as a browser's text size setting does
    phone.goto(live_server.url + "/")
    phone.evaluate(enlarge)
    assert_fits_the_width(phone)
    for part in ("#photo", "#age", "#sex", "#site", "#analyse"):
        assert phone.locator(part).is_visible(), part
    choose_photo(phone, live_server.url + "/", first_of(fixture_items, "mel").path, gradcam=True)
    analyse(phone)
    phone.evaluate(enlarge)
    assert_fits_the_width(phone)
    for part in ("#headline", "#referral", "#diagnosis-name", "#top-three", ".probabilities", "#print-report"):
        assert phone.locator(part).first.is_visible(), part


def test_reduced_motion_stills_the_spinner(browser, live_server):
    for motion, moving in (("no-preference", True), ("reduce", False)):
        context = browser.new_context(reduced_motion=motion)
        page = context.new_page()
        page.goto(live_server.url + "/")
        animation = page.eval_on_selector(".spinner", "spinner => getComputedStyle(spinner).animationName")
        assert (animation != "none") is moving, (motion, animation)
        context.close()
