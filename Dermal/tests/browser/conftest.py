"""A real headless Chromium (Debian's /usr/bin/chromium) driven by Playwright against Django's live server."""
import os
from pathlib import Path

import pytest

from harness.chromium import CHROMIUM, launch, wait_for_result

SCREENSHOTS = Path(__file__).resolve().parents[3] / "artifacts" / "screenshots"


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="needs requirements-dev.txt")
    if not CHROMIUM.is_file():
        pytest.skip(f"{CHROMIUM} is absent: apt-get install chromium (scripts/test.sh does)")
    # Playwright's sync API runs an event loop in this thread; Django's database teardown is still synchronous.
    # Only for these tests: other tests' subprocesses (manage.py check --deploy) must not inherit it.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_api.sync_playwright() as playwright:
            browser = launch(playwright)
            yield browser
            browser.close()
    finally:
        del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]


@pytest.fixture
def screenshot_path():
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return lambda name: SCREENSHOTS / f"{name}.png"


def saved(folder, name, data):
    """`data` written to folder/name: a file the page's file chooser can take."""
    path = folder / name
    path.write_bytes(data)
    return path


def choose_photo(page, url, photo, preview=True, **boxes):
    """The upload page at `url` with `photo` (a path) chosen, and each of `boxes` (gradcam, flip_average) ticked
    or not, the analysis options unfolded to reach them; waits for the preview unless the browser cannot show the
    file."""
    page.goto(url)
    page.set_input_files("#photo", str(photo))
    if preview:
        page.wait_for_selector("#preview:not([hidden])")
    if boxes:
        page.click("#options summary")  # the options are folded away
    for box, ticked in boxes.items():
        page.set_checked(f"#{box}", ticked)


def analyse(page):
    """Press Analyse and wait for the result, or for the form again with its reason, its scripts run."""
    page.click("#analyse")
    wait_for_result(page)


def result_variants(fixture_items, folder):
    """{name: (photo path, boxes)}: photos whose results, together, show every part a result page can have
    (heatmap or not, referral or not, a quality warning, not a skin lesion); the unusual verdict needs
    web.conftest.judge_scope."""
    from Dermal.tests.web.conftest import astronaut_photo, first_of, spoiled

    return {
        "a melanoma with its heatmap and a referral": (first_of(fixture_items, "mel").path, {"gradcam": True}),
        "a naevus without the heatmap": (first_of(fixture_items, "nv").path, {"gradcam": False}),
        "a blurred photo with a warning": (saved(folder, "blurry.jpg",
                                                 spoiled(first_of(fixture_items, "mel"), "blurry")), {}),
        "not a skin lesion": (saved(folder, "astronaut.jpg", astronaut_photo()), {"gradcam": True}),
    }


# What result_variants must show between them.
RESULT_PARTS = ("#overlay", "#no-overlay", "#referral", "#no-referral", "#warnings", "#out-of-scope")


def log_in_as_staff(page, django_user_model):
    """A staff member made and logged in through the admin's login form, which `page` shows."""
    staff = {"username": "lead", "password": "a long passphrase"}
    django_user_model.objects.create_user(**staff, is_staff=True, is_superuser=True)
    page.fill("#id_username", staff["username"])
    page.fill("#id_password", staff["password"])
    page.click("input[type=submit]")
