"""The labelled folders: the committed CC-0 photos the tests carry, and where the larger sets are looked for."""
import csv
import subprocess
import sys

from Dermal.inference.datasets import FIXTURES_DIR, ROOT, load_labelled

FIXTURES_BUDGET = 5_000_000  # bytes: a clone stays light


def test_every_committed_photo_is_a_listed_cc0_isic_image():
    with open(FIXTURES_DIR / "labels.csv", newline="") as handle:
        rows = {row["image_id"]: row for row in csv.DictReader(handle)}
    photos = sorted(path.stem for path in (FIXTURES_DIR / "images").iterdir())
    assert photos == sorted(rows), "tests/data/images and labels.csv list different photos"
    assert all(image_id.startswith("ISIC_") for image_id in photos)
    assert {image_id: row["licence"] for image_id, row in rows.items() if row["licence"] != "CC-0"} == {}
    assert sum(path.stat().st_size for path in (FIXTURES_DIR / "images").iterdir()) < FIXTURES_BUDGET


def test_committed_photos_load_with_their_metadata_and_both_kinds_of_lesion():
    items = load_labelled(FIXTURES_DIR)
    assert len(items) == 16 and {item.dx for item in items} == {"mel", "akiec", "bkl", "nv"}
    assert {item.site for item in items} > {"unknown"} and any(item.age is None for item in items)


def test_the_data_root_follows_dermai_data_root(tmp_path):
    probe = "from Dermal.inference import datasets as d; print(d.EVAL_DIR); print(d.FIXTURES_DIR)"
    shown = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env={"DERMAI_DATA_ROOT": str(tmp_path)},
                           capture_output=True, text=True, check=True).stdout.split()
    assert shown == [str(tmp_path / "derm_eval"), str(ROOT / "tests" / "data")]
