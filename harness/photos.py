"""The real photos the harness uploads: a labelled folder (images/ + labels.csv) or a plain folder of photos,
and the one fixed photo that measures the model's own cost whatever folder is uploaded."""
import io
from pathlib import Path

from PIL import Image as PILImage

from Dermal.inference.datasets import EVAL_DIR, FIXTURES_DIR, load_labelled
from harness import ProofError

# The 56 labelled HAM10000 photos beside the repository, else the committed CC-0 fixtures (a plain clone).
DEFAULT_IMAGES = EVAL_DIR if EVAL_DIR.is_dir() else FIXTURES_DIR
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png"}
# The photo that loads the model: the first committed melanoma at HAM10000's 600x450, the scale the model was
# trained at, so "model loaded" holds the model and one small photo on every clone, whatever is uploaded next.
MODEL_PHOTO_SIZE = (600, 450)
# What the upload page sends of a larger photo: Dermal.views.SEND_LONG_SIDE and SEND_JPEG_QUALITY (a test holds them
# equal; the harness does not import the web app).
PAGE_LONG_SIDE, PAGE_QUALITY = 1280, 92


class Image:
    def __init__(self, path, dx=None, age=None, sex=None, site=None, data=None):
        self.path, self.dx, self.age, self.sex, self.site = Path(path), dx, age, sex, site
        self.data = data  # the bytes to send, when they are not the file's

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
        return self.path.name, self.path.read_bytes() if self.data is None else self.data, mime

    def size(self):
        """(width, height) in pixels, from the header."""
        with PILImage.open(io.BytesIO(self.data) if self.data is not None else self.path) as photo:
            return photo.size

    def bytes(self):
        return len(self.data) if self.data is not None else self.path.stat().st_size


def model_photo():
    """The fixed photo of the first (model-loading) upload: see MODEL_PHOTO_SIZE."""
    item = load_labelled(FIXTURES_DIR)[0]
    with PILImage.open(item.path) as photo:
        out = io.BytesIO()
        photo.convert("RGB").resize(MODEL_PHOTO_SIZE, PILImage.LANCZOS).save(out, "JPEG", quality=92)
    return Image(item.path, item.dx, item.age, item.sex, item.site, data=out.getvalue())


def scaled_photos(folder, pixels, count=4):
    """The first `count` committed photos, each scaled to `pixels` pixels (its shape kept), as JPEGs in `folder`
    labelled as before: at the service's pixel limit, the costliest photos it accepts (a 40 MP one is ~4 MB, under
    the 10 MB upload limit, so the pixels are the limit that binds); at HAM10000's 600x450, photos alike in cost."""
    folder = Path(folder)
    (folder / "images").mkdir(parents=True, exist_ok=True)
    header, *rows = (FIXTURES_DIR / "labels.csv").read_text().splitlines(keepends=True)
    for item in load_labelled(FIXTURES_DIR)[:count]:
        with PILImage.open(item.path) as photo:
            scale = (pixels / (photo.width * photo.height)) ** 0.5
            size = int(photo.width * scale), int(photo.height * scale)
            photo.convert("RGB").resize(size, PILImage.BICUBIC).save(folder / "images" / item.path.name, quality=90)
    (folder / "labels.csv").write_text(header + "".join(rows[:count]))
    return folder


# A 12 MP phone photo: 4032x3024, JPEG quality 92. An upscaled photo is smoother than a phone sensor's, so grain
# of this standard deviation (8-bit levels) is added, which brings the file to the ~3 MB a phone's weighs.
PHONE_SIZE, PHONE_QUALITY, PHONE_GRAIN = (4032, 3024), 92, 6


def largest_committed():
    """The committed photo (CC-0) with the most pixels."""
    def pixels(item):
        with PILImage.open(item.path) as photo:
            return photo.width * photo.height

    return max(load_labelled(FIXTURES_DIR), key=pixels)


def phone_photo(path):
    """A phone-sized JPEG of the largest committed photo written to `path`, the same bytes on every run."""
    import numpy as np

    source = largest_committed()
    with PILImage.open(source.path) as photo:
        pixels = np.asarray(photo.convert("RGB").resize(PHONE_SIZE, PILImage.LANCZOS), dtype=np.float32)
    grain = np.random.default_rng(0).normal(0, PHONE_GRAIN, pixels.shape)
    PILImage.fromarray(np.clip(pixels + grain, 0, 255).round().astype(np.uint8)).save(path, "JPEG",
                                                                                       quality=PHONE_QUALITY)
    return Image(path, source.dx, source.age, source.sex, source.site)


def page_photo(path):
    """phone_photo as the upload page sends it (upload.js scales it in the browser), written to `path`."""
    phone = phone_photo(Path(path).with_name(f"phone-{Path(path).name}"))
    with PILImage.open(phone.path) as photo:
        scale = PAGE_LONG_SIDE / max(photo.size)
        photo.resize((round(photo.width * scale), round(photo.height * scale)), PILImage.LANCZOS).save(
            path, "JPEG", quality=PAGE_QUALITY)
    return Image(path, phone.dx, phone.age, phone.sex, phone.site)


def describe(images):
    """What a run uploaded: how many photos, the smallest and largest in pixels, the largest file."""
    sizes = sorted((image.size() for image in images), key=lambda wh: wh[0] * wh[1])
    return {"count": len(images), "smallest_px": list(sizes[0]), "largest_px": list(sizes[-1]),
            "largest_megapixels": round(sizes[-1][0] * sizes[-1][1] / 1e6, 1),
            "largest_mb": round(max(image.bytes() for image in images) / 2**20, 2)}


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
