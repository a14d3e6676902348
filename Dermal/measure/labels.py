"""Labels for the photos (`image_id,dx` plus optional age, sex and body site: the layout of
../shared/derm_heldout/labels.csv), checked before any photo is analysed so a typo cannot waste a long run."""
import csv
from dataclasses import dataclass
from pathlib import Path

from Dermal.inference.datasets import site_from_localization

from .photos import PHOTO_SUFFIXES

SEXES = ("female", "male", "unknown")
SITES = ("arm", "head-or-neck", "leg-or-genital", "trunk", "unknown")
MISSING = {"", "unknown", "na", "n/a", "nan", "none"}
MAX_AGE = 120


class LabelError(ValueError):
    """Labels that cannot be used; the message names the file, rows and values."""


@dataclass(frozen=True)
class Label:
    image_id: str
    dx: str
    age: str | None = None
    sex: str | None = None
    site: str | None = None


def _age(text, where):
    text = (text or "").strip()
    if text.lower() in MISSING:
        return None
    try:
        years = float(text)
    except ValueError:
        raise LabelError(f"{where}: age {text!r} is not a number of years") from None
    if not 0 <= years <= MAX_AGE:
        raise LabelError(f"{where}: age {text!r} is not between 0 and {MAX_AGE}")
    return text


def _choice(text, allowed, field, where):
    value = (text or "").strip().lower()
    if value in MISSING:
        return None
    if value not in allowed:
        raise LabelError(f"{where}: {field} {text!r} is not one of {', '.join(allowed)}")
    return value


def _label(row, where):
    site = row.get("site")
    if not (site or "").strip() and row.get("localization"):
        site = site_from_localization(row["localization"])  # HAM10000's own column, grouped as the model was
    return Label(row["image_id"].strip(), row["dx"].strip(), _age(row.get("age"), where),
                 _choice(row.get("sex"), SEXES, "sex", where), _choice(site, SITES, "site", where))


def read_labels(path, classes):
    """{image_id: Label} of a labels CSV, in file order. Raises LabelError for a missing column, a duplicate
    image, an unknown class code (all of them listed) or an unusable age, sex or site."""
    path = Path(path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            missing = {"image_id", "dx"} - set(reader.fieldnames or ())
            if missing:
                raise LabelError(f"{path} has no {' or '.join(sorted(missing))} column (needs image_id,dx)")
            labels, unknown = {}, []
            for number, row in enumerate(reader, start=2):
                label = _label(row, f"{path} line {number}")
                if label.image_id in labels:
                    raise LabelError(f"{path} line {number}: {label.image_id} is labelled twice")
                if label.dx not in classes:
                    unknown.append(f"line {number} {label.dx!r}")
                labels[label.image_id] = label
    except OSError as exc:
        raise LabelError(f"cannot read the labels {path}: {exc.strerror or exc}") from exc
    if unknown:
        raise LabelError(f"{path}: unknown class code at {', '.join(unknown[:10])}"
                         f"{' ...' if len(unknown) > 10 else ''} (the classes are {', '.join(classes)})")
    if not labels:
        raise LabelError(f"{path} labels no photo")
    return labels


def photo_of(folder, image_id):
    """The photo of `image_id` in a labelled folder: images/<id>.<ext> (the ISIC layout) or <id>.<ext>."""
    for place in (folder / "images", folder):
        for suffix in sorted(PHOTO_SUFFIXES):
            for name in (image_id + suffix, image_id + suffix.upper()):
                if (place / name).is_file():
                    return place / name
    return None


def labelled_photos(folder, classes, labels_path=None):
    """[(photo path, Label)] of a labelled folder, in labels order. Raises LabelError when a label names a
    photo that is not there: an evaluation silently run on fewer photos than labelled would mislead."""
    folder = Path(folder)
    labels = read_labels(labels_path or folder / "labels.csv", classes)
    found = [(photo_of(folder, image_id), label) for image_id, label in labels.items()]
    missing = [label.image_id for path, label in found if path is None]
    if missing:
        raise LabelError(f"{len(missing)} labelled photo(s) not found in {folder} or {folder / 'images'}: "
                         f"{', '.join(missing[:10])}{' ...' if len(missing) > 10 else ''}")
    return found
