"""What the upload page sends for a photo, read in real headless Chromium (Debian's) at phone size.

The page's own upload.js prepares the photo; a script added before the page's captures the FormData it hands to
XMLHttpRequest, and the request itself is aborted, so the service analyses nothing for it.
"""
import base64
import contextlib

from bench.phone_browser import PHONE
from harness.chromium import launch

CAPTURE = """(() => {
  const send = XMLHttpRequest.prototype.send;
  XMLHttpRequest.prototype.send = function (body) {
    if (body instanceof FormData) window.sentPhoto = body.get("image");
    return send.call(this, body);
  };
})();"""
SENT = """async () => {
  const photo = window.sentPhoto, bytes = new Uint8Array(await photo.arrayBuffer());
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return [photo.name, btoa(text)];
}"""


@contextlib.contextmanager
def phone_page():
    """A Playwright page in headless Chromium with a phone's viewport, capturing what upload.js sends."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            # Render's TLS proxy header, so production settings do not redirect to https (the POST never leaves).
            page = browser.new_context(**PHONE, extra_http_headers={"X-Forwarded-Proto": "https"}).new_page()
            page.add_init_script(CAPTURE)
            page.route("**/*", lambda route: route.abort() if route.request.method == "POST" else route.continue_())
            yield page
        finally:
            browser.close()


def sent(page):
    """(file name, bytes) of the photo upload.js last handed to XMLHttpRequest on `page` (with CAPTURE added)."""
    name, data = page.evaluate(SENT)
    return name, base64.b64decode(data)


def sent_photo(page, url, path, send_side=None):
    """(file name, bytes) that the upload page at `url` sends for the photo at `path`; `send_side` overrides the
    page's long side for scaled photos."""
    page.goto(url)
    if send_side:
        page.eval_on_selector("#upload-form", "(form, side) => { form.dataset.sendSide = side; }", send_side)
    page.set_input_files("#photo", str(path))
    page.click("#analyse")
    page.wait_for_selector("#send-error:not([hidden]), #photo-error:not([hidden])")
    return sent(page)
