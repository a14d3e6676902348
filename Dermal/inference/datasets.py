"""Labelled image folders (HAM10000/ISIC style: images/<image_id>.jpg + labels.csv) for checks and tests."""
import csv
import os
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# The labelled sets live beside the repository (../shared); DERMAI_DATA_ROOT points elsewhere (CI hides them
# this way to prove the suite runs on a clone that has none). The committed CC-0 fixtures are always there.
DATA_ROOT = Path(os.environ.get("DERMAI_DATA_ROOT") or ROOT.parent / "shared")
EVAL_DIR, HELDOUT_DIR = DATA_ROOT / "derm_eval", DATA_ROOT / "derm_heldout"
ACRAL_DIR, PHONE_DIR = DATA_ROOT / "derm_acral_dev", DATA_ROOT / "derm_phone_dev"
FIXTURES_DIR = ROOT / "tests" / "data"

# HAM10000 `localization` -> the model's body-site groups (see shared/DESIGN.md); anything else is unknown.
SITE_GROUPS = {
    "upper extremity": "arm", "hand": "arm",
    "face": "head-or-neck", "ear": "head-or-neck", "scalp": "head-or-neck", "neck": "head-or-neck",
    "lower extremity": "leg-or-genital", "foot": "leg-or-genital", "genital": "leg-or-genital",
    "back": "trunk", "chest": "trunk", "abdomen": "trunk", "trunk": "trunk",
}


def site_from_localization(localization):
    return SITE_GROUPS.get((localization or "").strip().lower(), "unknown")


@dataclass(frozen=True)
class LabelledImage:
    path: Path
    dx: str
    age: str | None
    sex: str | None
    site: str

    def read(self):
        return self.path.read_bytes()


def load_labelled(directory, labels=None):
    """The labelled images of a folder, in labels.csv order; images missing from disk are skipped."""
    directory = Path(directory)
    with open(labels or directory / "labels.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    items = []
    for row in rows:
        path = directory / "images" / f"{row['image_id']}.jpg"
        if path.is_file():
            sex = (row.get("sex") or "").strip().lower()
            items.append(LabelledImage(
                path=path, dx=row["dx"], age=(row.get("age") or "").strip() or None,
                sex=sex if sex in ("female", "male") else None,
                site=row.get("site") or site_from_localization(row.get("localization"))))
    return items
