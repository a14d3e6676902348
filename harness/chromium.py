"""Debian's headless Chromium as the browser tests and bench/phone.py launch it (Playwright)."""
import os
from pathlib import Path

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
# Closed network here: without these Chromium keeps trying to reach Google's services.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
                 "--disable-background-networking", "--disable-component-update"]


def launch(playwright):
    """A headless Chromium from a started Playwright (playwright.sync_api.sync_playwright())."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)


def wait_for_scripts(page, timeout_ms=30_000):
    """Wait until the page's deferred scripts have run. A result upload.js writes in is a new document, not a
    navigation, so Playwright's load state does not follow it: the document's readyState does."""
    page.wait_for_function("document.readyState === 'complete'", timeout=timeout_ms)
