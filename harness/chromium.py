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


def wait_for_result(page, timeout_ms=60_000):
    """Wait for the result page with its script run (its print button shows only then), or for the form again with
    its reason (#error). A page upload.js writes in is a new document, not a navigation: its readyState is already
    'complete' before its deferred scripts arrive, so neither it nor Playwright's load state says they have run."""
    page.wait_for_selector("#print-report, #error", state="visible", timeout=timeout_ms)
