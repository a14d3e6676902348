"""The real photos the harness uploads: a labelled folder (images/ + labels.csv) or a plain folder of photos."""
from pathlib import Path

from Dermal.inference.datasets import EVAL_DIR, FIXTURES_DIR, load_labelled
from harness import ProofError

# The 56 labelled HAM10000 photos beside the repository, else the committed CC-0 fixtures (a plain clone).
DEFAULT_IMAGES = EVAL_DIR if EVAL_DIR.is_dir() else FIXTURES_DIR
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png"}


class Image:
    def __init__(self, path, dx=None, age=None, sex=None, site=None):
        self.path, self.dx, self.age, self.sex, self.site = Path(path), dx, age, sex, site

    def fields(self, gradcam):
        """The form fields sent along: gradcam, and the age/sex/site known."""
        fields = {"gradcam": "true" if gradcam else "false"}
        for name in ("age", "sex", "site"):
            if getattr(self, name):
                fields[name] = str(getattr(self, name))
        return fields

    def upload_file(self):
        """(filename, bytes, content type) of the photo, as a multipart file."""
        mime = "image/png" if self.path.suffix.lower() == ".png" else "image/jpeg"
        return self.path.name, self.path.read_bytes(), mime


def load_images(folder):
    """Images of a folder: HAM10000 style (images/ + labels.csv, with age/sex/site sent along) or plain files."""
    folder = Path(folder)
    if (folder / "images").is_dir() and (folder / "labels.csv").is_file():
        items = [Image(item.path, item.dx, item.age, item.sex, item.site) for item in load_labelled(folder)]
    else:
        directory = folder / "images" if (folder / "images").is_dir() else folder
        items = [Image(p) for p in sorted(directory.iterdir()) if p.suffix.lower() in IMAGE_SUFFIXES] \
            if directory.is_dir() else []
    if not items:
        raise ProofError(f"no images found in {folder} (expected *.jpg/*.png, or images/ with labels.csv)")
    return items


def spread(items, count):
    """`count` items spread evenly over the list (so every class of a sorted label file is visited)."""
    if count <= 0:
        return []
    return [items[(i * len(items)) // count % len(items)] for i in range(count)] if count <= len(items) \
        else [items[i % len(items)] for i in range(count)]
