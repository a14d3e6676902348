#!/usr/bin/env python
"""Rebuild tests/data/ (the photos the tests carry) from ../shared/derm_heldout: CC-0 images only.

    .venv/bin/python scripts/make_fixtures.py [--source ../shared/derm_heldout]

A photo of at most MAX_PIXELS is copied byte for byte; a larger one is downscaled (Lanczos) to MAX_SIDE on
its long side and re-encoded as JPEG at quality 90, which keeps the set under 5 MB.
"""
import argparse
import csv
import sys
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from Dermal.inference.datasets import FIXTURES_DIR, HELDOUT_DIR  # noqa: E402

LICENCE = "CC-0"
MAX_PIXELS, MAX_SIDE, QUALITY = 8_000_000, 2400, 90
# Every class the CC-0 held-out photos hold (mel, akiec, bkl, nv), sizes from 1024x768 to 3072x2304 and three
# larger originals downscaled, with and without age/sex/site. Tests pick the first photo of a class: the first
# melanoma is one the model names with a referral, the first nevus one under the referral threshold.
IMAGE_IDS = (
    "ISIC_0012633", "ISIC_0015518", "ISIC_0023371", "ISIC_0023755", "ISIC_0036281",  # mel
    "ISIC_0021037", "ISIC_0021714",  # akiec
    "ISIC_0020999", "ISIC_0021041",  # bkl
    "ISIC_0036328", "ISIC_0012576", "ISIC_0012585", "ISIC_0015294", "ISIC_0021202", "ISIC_0023831",
    "ISIC_0020953",  # nv
)


def copy_photo(source, target):
    with Image.open(source) as image:
        width, height = image.size
        if width * height <= MAX_PIXELS:
            target.write_bytes(source.read_bytes())
            return f"{width}x{height}, original bytes"
        image.thumbnail((MAX_SIDE, MAX_SIDE), Image.LANCZOS)
        image.convert("RGB").save(target, "JPEG", quality=QUALITY)
        return f"{image.width}x{image.height}, downscaled from {width}x{height}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", type=Path, default=HELDOUT_DIR)
    parser.add_argument("--out", type=Path, default=FIXTURES_DIR)
    args = parser.parse_args(argv)
    with open(args.source / "labels.csv", newline="") as handle:
        reader = csv.DictReader(handle)
        fields, rows = reader.fieldnames, {row["image_id"]: row for row in reader}
    chosen = [rows[image_id] for image_id in IMAGE_IDS]
    refused = [row["image_id"] for row in chosen if row["licence"] != LICENCE]
    if refused:
        sys.exit(f"not {LICENCE}: {', '.join(refused)}")
    (args.out / "images").mkdir(parents=True, exist_ok=True)
    for row in chosen:
        name = f"{row['image_id']}.jpg"
        print(name, row["dx"], copy_photo(args.source / "images" / name, args.out / "images" / name))
    with open(args.out / "labels.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(chosen)


if __name__ == "__main__":
    main()
