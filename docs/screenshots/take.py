"""The first screen of the result page on a 375 x 812 phone, in English and Vietnamese, for a referred melanoma, an
unusual photo and a photo that is not a skin lesion, from a running DermAI (committed CC-0 and synthetic photos only).

    .venv/bin/python docs/screenshots/take.py http://127.0.0.1:8000 docs/screenshots/after

The "before" shots of issue 36 were taken the same way from main at 7ca6514, run in a temporary git worktree.
"""
import io
import sys
import tempfile
from pathlib import Path

from PIL import Image
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from harness.chromium import launch  # noqa: E402

PHONE = {"viewport": {"width": 375, "height": 812}, "device_scale_factor": 1, "is_mobile": True, "has_touch": True}
MELANOMA = ROOT / "tests" / "data" / "images" / "ISIC_0012633.jpg"  # CC-0 (tests/data/README.md)


def photos(folder):
    """{kind: path}: the melanoma; the same darkened to 30% (the trust tool's spoil), which the model finds unusual;
    scikit-image's astronaut portrait (public domain), not a skin lesion."""
    from skimage import data

    from trust.photos import SPOILS, at_phone_width

    made = {"unusual.jpg": SPOILS["darkened to 30%"][1](at_phone_width(MELANOMA)),
            "not-a-lesion.jpg": Image.fromarray(data.astronaut())}
    for name, image in made.items():
        image.save(folder / name, "JPEG", quality=92)
    return {"referred-melanoma": MELANOMA, "unusual": folder / "unusual.jpg", "not-a-lesion": folder / "not-a-lesion.jpg"}


def take(base_url, out):
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder, sync_playwright() as playwright:
        browser = launch(playwright)
        for language in ("en", "vi"):
            context = browser.new_context(**PHONE, locale=language, extra_http_headers={"Accept-Language": language})
            page = context.new_page()
            for kind, photo in photos(Path(folder)).items():
                page.goto(base_url + "/")
                page.set_input_files("#photo", str(photo))
                page.click("#analyse")
                page.wait_for_selector("#triage", state="attached", timeout=60_000)
                page.evaluate("window.scrollTo(0, 0)")
                png = page.screenshot()
                with Image.open(io.BytesIO(png)) as shot:
                    shot.convert("RGB").save(out / f"{kind}-{language}.jpg", "JPEG", quality=70, optimize=True)
            context.close()
        browser.close()


if __name__ == "__main__":
    take(sys.argv[1].rstrip("/"), Path(sys.argv[2]))
