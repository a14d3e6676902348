"""Labelled image folders (HAM10000/ISIC style: images/<image_id>.jpg + labels.csv) for checks and tests."""
import csv
from dataclasses import dataclass
from pathlib import Path

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
EVAL_DIR, HELDOUT_DIR = SHARED / "derm_eval", SHARED / "derm_heldout"

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
