"""bench/phone.py's pure parts: the page's weight from what the network delivered, the section it writes, the
phone photo and the throttling it asks for (the measurement itself: run the command, docs/BENCHMARKS.md)."""
from PIL import Image as PILImage

from bench.phone import PHONE_END, PHONE_START, section
from bench.phone_browser import NETWORK, page_weight
from bench.report import with_marked_block
from harness.photos import PHONE_SIZE, phone_photo


def test_the_page_weighs_its_html_and_images_as_transferred():
    transfers = {
        "1": {"type": "Document", "mime": "text/html", "bytes": 600_000},
        "2": {"type": "Image", "mime": "image/png", "bytes": 40_000},
        "3": {"type": "Fetch", "mime": "text/html; charset=utf-8", "bytes": 1_000},  # a script fetching the page
        "4": {"type": "Script", "mime": "text/javascript", "bytes": 2_000},
        "5": {"type": "Fetch", "mime": "application/json", "bytes": 300},
        "6": {"type": "Image", "mime": "image/png"},  # never finished
    }
    assert page_weight(transfers) == {"html_bytes": 601_000, "image_bytes": 40_000, "other_bytes": 2_300,
                                      "page_bytes": 641_000}


def test_the_network_is_lighthouses_mobile_throttling():
    assert NETWORK == {"offline": False, "latency": 150, "downloadThroughput": 200_000, "uploadThroughput": 93_750}


def run(engine, **changes):
    return {"engine": engine, "cgroup": "cgroup v1 cpu quota 10000 us per 100000 us", "boot_s": 3.6,
            "first_tap_s": 43.9, "cold_s": 47.5, "warm_s": [42.9, 42.7, 43.0], "warm_median_s": 42.9,
            "html_bytes": 662_460, "image_bytes": 0, "page_bytes": 662_460, **changes}


def test_the_section_has_a_row_per_engine_and_replaces_only_itself():
    report = {"date": "2026-12-03 03:45 UTC", "machine": "2 cores", "command": ".venv/bin/python bench/phone.py",
              "cpus": 0.1, "network": NETWORK, "photo": {"px": [4032, 3024], "bytes": 3_247_559,
                                                         "source": "ISIC_0021714.jpg"},
              "runs": [run("litert"), run("keras", first_tap_s=150.2, cold_s=153.5, warm_median_s=80.1)]}
    text = section(report)
    assert text.startswith(PHONE_START) and text.endswith(PHONE_END)
    assert "| litert | 3.6 | 43.9 | **47.5** | **42.9** (42.9, 42.7, 43.0) | 647 | 0 | **647** |" in text
    assert "| keras | 3.6 | 150.2 | **153.5** | **80.1** " in text
    assert "4032x3024 JPEG of 3.1 MB" in text and "its upload alone takes 35 s" in text
    assert "(150 ms, 1.6 Mbit/s down, 750 kbit/s up" in text and ".venv/bin/python bench/phone.py" in text
    document = with_marked_block("# Benchmarks\n\nthe engine's figures\n", PHONE_START, PHONE_END, text)
    again = with_marked_block(document, PHONE_START, PHONE_END, text.replace("42.9", "41.0"))
    assert again.startswith("# Benchmarks\n\nthe engine's figures\n") and again.count(PHONE_START) == 1
    assert "41.0" in again and "**42.9**" not in again


def test_the_phone_photo_is_a_12_megapixel_jpeg_of_about_3_mb(tmp_path):
    photo = phone_photo(tmp_path / "phone.jpg")
    with PILImage.open(photo.path) as image:
        assert image.format == "JPEG" and image.size == PHONE_SIZE == (4032, 3024)
    assert 2.5e6 < photo.bytes() < 4e6
    assert photo.path.read_bytes() == phone_photo(tmp_path / "again.jpg").path.read_bytes()  # the same every run
