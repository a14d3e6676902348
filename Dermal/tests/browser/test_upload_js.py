"""upload.js in a real Chromium: what it sends for a photo (smaller, upright, any size), the progress people see,
and a dropped connection that keeps the photo for a retry; the page without JavaScript still posts the original."""
import hashlib
import io
import time

import numpy as np
import pytest
import requests
from PIL import Image

from bench.page_path import CAPTURE, sent
from bench.phone_browser import PHONE
from Dermal import services
from Dermal.models import Analysis
from Dermal.tests.web.test_bad_inputs import png_declaring
from Dermal.views import SEND_LONG_SIDE

from .conftest import analyse, choose_photo

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]  # real Chromium
TWELVE_MP, FIFTY_MP = (4032, 3024), (8160, 6120)
EXIF_ORIENTATION, ROTATED_90 = 0x0112, 6  # stored landscape, shown portrait: how phones save a portrait photo
# The live region's text and the bar, each time either changes (read back after the page is replaced).
WATCH = """() => {
  window.seen = [];
  const note = () => { const bar = document.getElementById("upload-progress");
    window.seen.push([document.getElementById("progress-text").textContent, bar.hidden ? null : bar.value]); };
  new MutationObserver(note).observe(document.getElementById("progress"), {subtree: true, childList: true,
                                                                          characterData: true, attributes: true});
}"""


@pytest.fixture
def phone(browser):
    context = browser.new_context(**PHONE)
    page = context.new_page()
    page.add_init_script(CAPTURE)
    yield page
    context.close()


def camera_photo(item, size, folder, rotated=False, quality=92, grain=0):
    """A fixture photo enlarged to a phone camera's `size`, saved as its camera would: JPEG, portrait ones turned by
    their EXIF orientation; `grain` adds sensor-like noise (bigger files)."""
    image = Image.open(item.path).convert("RGB").resize(size, Image.Resampling.BICUBIC)
    if grain:
        noisy = np.asarray(image, np.int16) + np.random.default_rng(0).integers(-grain, grain + 1, (*size[::-1], 3))
        image = Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8))
    exif = Image.Exif()
    if rotated:
        exif[EXIF_ORIENTATION] = ROTATED_90
    path = folder / f"{item.path.stem}-{size[0]}x{size[1]}{'-rotated' if rotated else ''}.jpg"
    image.save(path, quality=quality, exif=exif)
    return path


def sent_image(page):
    """(file name, decoded image, bytes) of the photo upload.js handed to XMLHttpRequest last."""
    name, data = sent(page)
    return name, Image.open(io.BytesIO(data)), data


def api_answer(live_server, path):
    """The API's single-pass answer for the original file."""
    with open(path, "rb") as photo:
        answer = requests.post(live_server.url + "/api/predict/", files={"image": photo}, timeout=120,
                               data={"gradcam": "false", "flip_average": "false"})
    assert answer.status_code == 200, answer.text
    return answer.json()


# A browser whose createImageBitmap refuses the resize options (older Safari): the preview is drawn smaller instead.
NO_RESIZE_OPTIONS = """window.createImageBitmap = () => {
  window.refused = true;
  return Promise.reject(new TypeError("resize options not supported"));
};"""


@pytest.mark.parametrize("decoder", ["createImageBitmap", "the preview"])
def test_a_12_megapixel_portrait_photo_goes_upright_and_small(phone, live_server, fixture_items, tmp_path, decoder):
    if decoder == "the preview":
        phone.add_init_script(NO_RESIZE_OPTIONS)
    item = fixture_items[0]
    photo = camera_photo(item, TWELVE_MP, tmp_path, rotated=True)
    choose_photo(phone, live_server.url + "/", photo)
    analyse(phone)
    name, image, data = sent_image(phone)
    assert image.format == "JPEG" and name.endswith(".jpg")
    assert image.size == (SEND_LONG_SIDE * 3 // 4, SEND_LONG_SIDE), "scaled to the long side, turned upright"
    assert not image.getexif().get(EXIF_ORIENTATION, 1) > 1, "the pixels are upright, no turn left to apply"
    assert len(data) < photo.stat().st_size / 2
    assert phone.evaluate("window.refused === true") is (decoder == "the preview")
    assert phone.locator("#triage").is_visible() and phone.locator("#headline").is_visible()


def test_a_50_megapixel_photo_over_the_upload_limit_is_analysed_from_the_page(phone, live_server, fixture_items,
                                                                              tmp_path, settings):
    photo = camera_photo(fixture_items[0], FIFTY_MP, tmp_path, quality=95, grain=12)
    assert photo.stat().st_size > settings.MAX_UPLOAD_BYTES, "the camera's file alone would be refused"
    choose_photo(phone, live_server.url + "/", photo)
    analyse(phone)
    assert phone.locator("#triage").is_visible() and phone.locator("#referral, #no-referral").count() == 1
    assert sent_image(phone)[1].size == (SEND_LONG_SIDE, SEND_LONG_SIDE * 3 // 4)


def test_a_photo_that_needs_no_scaling_goes_byte_for_byte(phone, live_server, fixture_items):
    small = next(item for item in fixture_items if max(Image.open(item.path).size) <= SEND_LONG_SIDE)
    choose_photo(phone, live_server.url + "/", small.path)
    analyse(phone)
    assert sent_image(phone)[2] == small.path.read_bytes()


def test_a_photo_smaller_as_it_is_than_scaled_goes_byte_for_byte(phone, live_server, fixture_items):
    """ISIC_0023831: 1441x1461 px in 108 KB, which as a 1280 px JPEG at the page's quality would weigh more."""
    item = next(item for item in fixture_items if item.path.stem == "ISIC_0023831")
    assert max(Image.open(item.path).size) > SEND_LONG_SIDE
    choose_photo(phone, live_server.url + "/", item.path)
    analyse(phone)
    assert sent_image(phone)[2] == item.path.read_bytes()


def test_a_photo_the_browser_cannot_decode_goes_as_it_is_to_be_refused(phone, live_server, lesion_image,
                                                                          tmp_path):
    """A PNG whose header claims 20000x20000 pixels: Chromium shows the little it holds, but scaling it would send a
    blank JPEG; the file goes as it is and the page gives the server's reason."""
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png_declaring(lesion_image.resize((64, 48)), 20000, 20000))
    choose_photo(phone, live_server.url + "/", bomb, preview=False)
    analyse(phone)
    assert sent(phone)[1] == bomb.read_bytes()
    assert "megapixels" in phone.locator("#error").inner_text()


def test_the_page_and_the_api_with_the_original_give_the_same_answer(phone, live_server, fixture_items):
    """Each committed photo larger than what the page sends: the same top class as the original, and never a
    referral the original's probabilities call for left out (bench/page_agreement.py measures the held-out sets, with
    flip averaging as served). Both single pass: what is compared is the photo sent, at half the analyses' cost."""
    large = [item for item in fixture_items if max(Image.open(item.path).size) > SEND_LONG_SIDE]
    assert len(large) >= 5, "the fixtures hold photos larger than the page sends"
    for item in large:
        choose_photo(phone, live_server.url + "/", item.path, gradcam=False, flip_average=False)
        analyse(phone)
        page = Analysis.objects.latest("pk")
        assert not page.flip_average
        original = api_answer(live_server, item.path)
        assert page.top_class == original["top_class"], item
        assert page.referral or not original["referral"], f"{item}: the page's photo lost the referral"


def test_the_bytes_sent_show_as_a_bar_then_the_analysing_state(phone, live_server, fixture_items, tmp_path):
    photo = camera_photo(fixture_items[0], TWELVE_MP, tmp_path, grain=8)
    choose_photo(phone, live_server.url + "/", photo)
    phone.evaluate(WATCH)
    cdp = phone.context.new_cdp_session(phone)  # a slow mobile uplink, so that the upload takes a while
    cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": 150, "downloadThroughput": 200_000,
                                                  "uploadThroughput": 250_000})
    phone.click("#analyse")
    phone.wait_for_selector("#progress-text:text('Analysing')", timeout=60_000)
    seen = phone.evaluate("window.seen")
    texts = [text for text, _ in seen]
    assert texts[0].startswith("Preparing the photo"), seen
    sending = [value for text, value in seen if text.startswith("Sending the photo")]
    assert any(0 < value < 1 for value in sending if value is not None), f"no progress while sending: {seen}"
    assert sending == sorted(sending, key=lambda value: value or 0), "the bar only moves forward"
    assert texts[-1].startswith("Analysing the photo") and seen[-1][1] is None, "the bar gives way to the analysis"
    phone.wait_for_selector("#triage", timeout=60_000)


def test_a_dropped_connection_says_so_and_one_tap_retries_with_the_same_photo(phone, live_server, fixture_items):
    drops = []

    def drop_first(route):
        if route.request.method == "POST" and not drops:
            drops.append(route.request.url)
            return route.abort("connectionreset")
        return route.continue_()

    phone.route("**/*", drop_first)
    choose_photo(phone, live_server.url + "/", fixture_items[0].path)
    phone.click("#analyse")
    error = phone.locator("#send-error")
    error.wait_for()
    assert "connection was lost" in error.inner_text() and error.get_attribute("role") == "alert"
    assert phone.eval_on_selector("#photo", "input => input.files.length") == 1, "the photo is still chosen"
    assert phone.locator("#preview").is_visible() and phone.locator("#analyse").is_enabled()
    assert phone.locator("#progress-text").inner_text() == ""
    analyse(phone)  # one tap
    assert drops and phone.locator("#triage").is_visible()


def test_a_service_without_its_model_gives_its_reason_and_keeps_the_photo(phone, live_server, fixture_items):
    broken = '<html><body><p id="error" class="error">The model is unavailable: restore it.</p></body></html>'
    phone.route("**/", lambda route: route.fulfill(status=503, body=broken, content_type="text/html")
                if route.request.method == "POST" else route.continue_())
    choose_photo(phone, live_server.url + "/", fixture_items[0].path)
    phone.click("#analyse")
    phone.locator("#send-error").wait_for()
    assert phone.locator("#send-error").inner_text() == "The model is unavailable: restore it."
    assert phone.eval_on_selector("#photo", "input => input.files.length") == 1
    assert phone.locator("#analyse").is_enabled()


def test_without_javascript_the_form_posts_the_original(browser, live_server, fixture_items, tmp_path):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    photo = camera_photo(fixture_items[0], TWELVE_MP, tmp_path)
    page.goto(live_server.url + "/")
    page.set_input_files("#photo", str(photo))
    page.click("#analyse")
    page.wait_for_selector("#triage", timeout=60_000)
    assert Analysis.objects.get().image_sha256 == hashlib.sha256(photo.read_bytes()).hexdigest()
    context.close()


@pytest.fixture
def queue(monkeypatch):
    """The live server's analysis queue, fresh, with another person's analysis running in it (`.ahead`): the test
    decides when it ends (queue.leave(queue.ahead)); `max_wait` and the measured time per analysis are the test's."""
    made = []

    def install(max_wait=90, seconds=6.0):
        # time stands still for the queue, so that the estimates the page shows are the test's to the second
        fresh = services.AnalysisQueue(concurrent=1, max_wait=max_wait, max_waiting=20, clock=lambda: 0.0)
        fresh.took(seconds)
        fresh.ahead = fresh.join("someone else")
        monkeypatch.setattr(services, "analysis_queue", fresh)
        made.append(fresh)
        return fresh

    yield install
    for fresh in made:  # a test that failed half-way must not leave the live server's requests waiting
        fresh.leave(fresh.ahead)


def posts(page):
    """The POSTs the page sends, as they go."""
    sent_posts = []
    page.on("request", lambda request: request.method == "POST" and sent_posts.append(request.url))
    return sent_posts


def test_a_photo_waiting_its_turn_shows_its_place_and_wait_then_its_result(phone, live_server, fixture_items, queue):
    waits = queue(seconds=6.0)
    choose_photo(phone, live_server.url + "/", fixture_items[0].path)
    phone.evaluate(WATCH)
    phone.click("#analyse")
    status = phone.locator("#progress-text")
    status.filter(has_text="Your place in line: 1").wait_for()
    assert status.inner_text() == ("Other photos are being analysed first. Your place in line: 1. "
                                   "Expected wait: about 6 s.")
    assert phone.locator("#progress").get_attribute("role") == "status"  # a polite live region
    assert phone.locator("#cancel").is_visible()
    waits.leave(waits.ahead)
    phone.wait_for_selector("#triage", timeout=60_000)
    texts = [text for text, _ in phone.evaluate("window.seen")]
    assert texts.index(status_text := next(t for t in texts if "place in line" in t)) < \
        max(i for i, text in enumerate(texts) if text.startswith("Analysing")), texts
    assert texts.count(status_text) == 1, "an unchanged place is not announced again"


def test_a_busy_answer_counts_down_and_sends_the_photo_again_by_itself(phone, live_server, fixture_items, queue):
    phone.clock.install()
    waits = queue(max_wait=0, seconds=3.0)  # nobody may wait: 503, Retry-After 3 s
    sent_posts = posts(phone)
    choose_photo(phone, live_server.url + "/", fixture_items[0].path)
    phone.click("#analyse")
    countdown = phone.locator("#retry-countdown")
    countdown.filter(has_text="Sending again in 3 s").wait_for()
    assert phone.locator("#progress-text").inner_text() == \
        "DermAI is busy with other photos. Your photo will be sent again by itself in 3 s."
    assert countdown.get_attribute("aria-hidden") == "true" and phone.locator("#cancel").is_visible()
    phone.clock.run_for(1000)
    countdown.filter(has_text="Sending again in 2 s").wait_for()
    waits.leave(waits.ahead)  # the other analysis ends: there is room
    phone.clock.run_for(2000)
    phone.wait_for_selector("#triage", timeout=60_000)
    assert len(sent_posts) == 2, sent_posts


def counting_down_30_s(phone, live_server, fixture_items, queue):
    """The page with its photo sent to a busy server, counting down a 30 s Retry-After (the page's clock the test's):
    the POSTs it sends."""
    phone.clock.install()
    queue(max_wait=0, seconds=30.0)
    sent_posts = posts(phone)
    choose_photo(phone, live_server.url + "/", fixture_items[0].path)
    phone.click("#analyse")
    phone.locator("#retry-countdown").filter(has_text="Sending again in 30 s").wait_for()
    return sent_posts


def test_cancel_stops_the_countdown_and_keeps_the_photo(phone, live_server, fixture_items, queue):
    sent_posts = counting_down_30_s(phone, live_server, fixture_items, queue)
    phone.click("#cancel")
    assert phone.locator("#send-error").inner_text() == \
        "Not sent. Your photo is still chosen: press Analyse to send it."
    assert phone.evaluate("document.activeElement.id") == "analyse" and phone.locator("#analyse").is_enabled()
    assert not phone.locator("#retry-countdown").is_visible() and not phone.locator("#cancel").is_visible()
    phone.clock.run_for(60_000)  # long past the Retry-After
    assert phone.eval_on_selector("#photo", "input => input.files.length") == 1 and len(sent_posts) == 1


def test_choosing_another_photo_during_the_countdown_stops_it(phone, live_server, fixture_items, queue):
    sent_posts = counting_down_30_s(phone, live_server, fixture_items, queue)
    phone.set_input_files("#photo", str(fixture_items[1].path))
    phone.wait_for_selector("#retry-countdown", state="hidden")
    assert phone.locator("#analyse").is_enabled() and not phone.locator("#cancel").is_visible()
    phone.clock.run_for(60_000)  # long past the Retry-After: the first photo is not sent again
    assert len(sent_posts) == 1


def test_cancel_while_waiting_in_line_gives_the_place_up(phone, live_server, fixture_items, queue):
    waits = queue()
    choose_photo(phone, live_server.url + "/", fixture_items[0].path)
    phone.click("#analyse")
    phone.locator("#progress-text").filter(has_text="Your place in line: 1").wait_for()
    assert waits.state()["waiting"] == 1
    phone.click("#cancel")
    assert "Not sent" in phone.locator("#send-error").inner_text()
    deadline = time.monotonic() + 30  # the server notices at its next place line (every PLACE_EVERY_S)
    while waits.state()["waiting"]:
        assert time.monotonic() < deadline, "the place was never given up"
        time.sleep(0.05)
