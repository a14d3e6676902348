"""The photo sets the trust layer is measured on: labelled lesion sources, and non-lesion photos made at run time.

Non-lesion photos are never committed: the sample images that scikit-image, scikit-learn and Matplotlib ship
(objects, animals, people, a flower, a temple, documents, microscopy, astronomy, textures) and, for each colour
photo, two crops; charts drawn with Matplotlib; and images drawn here (noise, gradients, flat colours, text
pages, shapes, stripes, a landscape). Each is JPEG-encoded as an upload would be.
A second set (fresh.py) was made after the gate's rules were last changed, and only ever measures them.
"""
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageFont

from Dermal.inference.datasets import ACRAL_DIR, EVAL_DIR, HELDOUT_DIR, PHONE_DIR, load_labelled

# name -> folder. derm_eval is HAM10000 (likely seen in training), derm_heldout ISIC (never seen), acral Derm7pt
# dermoscopy of palms and soles (CC BY-NC-ND: read in place only), phone PAD-UFES-20 smartphone photos.
LESION_SOURCES = {"derm_eval": EVAL_DIR, "derm_heldout": HELDOUT_DIR, "derm_acral_dev": ACRAL_DIR,
                  "derm_phone_dev": PHONE_DIR}
# scikit-image samples shipped inside the package (no download).
SKIMAGE_SAMPLES = ("astronaut", "brick", "camera", "cat", "cell", "checkerboard", "clock", "coffee", "coins",
                   "colorwheel", "grass", "gravel", "horse", "hubble_deep_field", "immunohistochemistry", "logo",
                   "microaneurysms", "moon", "page", "retina", "rocket", "shepp_logan_phantom", "text")


@dataclass(frozen=True)
class Photo:
    name: str
    family: str
    group: str    # photos made from the same picture share a group: cross-validation leaves them out together
    jpeg: bytes


def _colour_cast(gains):
    """A white balance gone wrong: each channel scaled by its gain, as a camera under a cold or warm light does."""
    return lambda image: Image.merge("RGB", [band.point(lambda value, gain=gain: value * gain)
                                             for band, gain in zip(image.split(), gains)])


# Lesion photos badly taken, as a phone in dim light, with a flash, out of focus or under a tinted light takes
# them: name -> (the quality warning the photo deserves, None for a cast no warning names; what is done to it at
# PHONE_WIDTH, the scale quality.py is set for).
SPOILS = {
    "darkened to 30%": ("too_dark", lambda image: ImageEnhance.Brightness(image).enhance(0.3)),
    "darkened to 15%": ("too_dark", lambda image: ImageEnhance.Brightness(image).enhance(0.15)),
    "brightened 2x": ("too_bright", lambda image: ImageEnhance.Brightness(image).enhance(2.0)),
    "blurred, 3 px": ("blurry", lambda image: image.filter(ImageFilter.GaussianBlur(3))),
    "blurred, 6 px": ("blurry", lambda image: image.filter(ImageFilter.GaussianBlur(6))),
    "blue cast": (None, _colour_cast((0.8, 1.0, 1.2))),
    "warm cast": (None, _colour_cast((1.1, 1.0, 0.85))),
}
PHONE_WIDTH = 600


def available_sources():
    """{name: folder} of the labelled lesion sources present on this machine."""
    return {name: folder for name, folder in LESION_SOURCES.items() if (folder / "images").is_dir()}


def lesion_items(name):
    return load_labelled(LESION_SOURCES[name])


def at_phone_width(path):
    """The photo at `path`, RGB, resized to PHONE_WIDTH pixels wide."""
    with Image.open(path) as image:
        return image.convert("RGB").resize((PHONE_WIDTH, round(PHONE_WIDTH * image.height / image.width)),
                                           Image.LANCZOS)


def spoiled_photo(item, spoil):
    """`item`'s photo at phone width spoiled as SPOILS[spoil] says, as JPEG bytes."""
    return jpeg(np.asarray(SPOILS[spoil][1](at_phone_width(item.path))))


def jpeg(array):
    array = np.asarray(array)
    if array.dtype != np.uint8:
        array = np.clip(array * (255 if array.max() <= 1 else 1), 0, 255).astype(np.uint8)
    image = Image.fromarray(array).convert("RGB")
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


def _with_crops(name, family, array):
    """The photo, and for a colour photo big enough, its centre and top-left quarter as closer shots of it."""
    photos = [Photo(name, family, name, jpeg(array))]
    if array.ndim == 3 and min(array.shape[:2]) >= 256:
        h, w = array.shape[:2]
        photos.append(Photo(f"{name} centre crop", f"{family} crop", name,
                            jpeg(array[h // 4: 3 * h // 4, w // 4: 3 * w // 4])))
        photos.append(Photo(f"{name} corner crop", f"{family} crop", name, jpeg(array[: h // 2, : w // 2])))
    return photos


def skimage_photos():
    import skimage.data

    samples = [(name, getattr(skimage.data, name)()) for name in SKIMAGE_SAMPLES]
    samples.append(("motorcycle", skimage.data.stereo_motorcycle()[0]))
    return [photo for name, array in samples for photo in _with_crops(name, "scikit-image sample", array)]


def matplotlib_samples():
    import matplotlib

    return Path(matplotlib.get_data_path()) / "sample_data"


def library_photos():
    """The photographs scikit-learn and Matplotlib ship: a temple, a flower, a portrait, a parcel, a logo."""
    import sklearn.datasets

    scikit_learn = Path(sklearn.datasets.__file__).parent / "images"
    files = [("scikit-learn sample", scikit_learn / "china.jpg"), ("scikit-learn sample", scikit_learn / "flower.jpg"),
             *(("matplotlib sample", matplotlib_samples() / name)
               for name in ("grace_hopper.jpg", "Minduka_Present_Blue_Pack.png", "logo2.png"))]
    return [photo for family, path in files
            for photo in _with_crops(path.name, family, np.asarray(Image.open(path).convert("RGB")))]


def chart_photos(seed=1):
    """Screenshots of charts and a map, drawn by Matplotlib as a user might photograph a screen."""
    rng = np.random.default_rng(seed)
    relief = np.load(matplotlib_samples() / "topobathy.npz")["topo"]
    draw = {"line chart": lambda ax: ax.plot(rng.normal(size=(50, 3)).cumsum(axis=0)),
            "bar chart": lambda ax: ax.bar(range(8), rng.random(8), color="tab:orange"),
            "pie chart": lambda ax: ax.pie(rng.random(5)),
            "scatter plot": lambda ax: ax.scatter(*rng.normal(size=(2, 200)), c=rng.random(200)),
            "relief map": lambda ax: ax.imshow(relief, cmap="terrain")}
    return [Photo(name, "chart", name, jpeg(drawn_figure(plot))) for name, plot in draw.items()]


def drawn_figure(plot):
    """The RGB pixels of a 600x450 Matplotlib figure whose axes `plot` (a function of them) fills."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6, 4.5), dpi=100)
    canvas = FigureCanvasAgg(figure)
    plot(figure.subplots())
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3]


def _text_page(rng, size=(600, 800)):
    image = Image.new("RGB", size, (250, 250, 245))
    draw, font = ImageDraw.Draw(image), ImageFont.load_default(size=18)
    words = ["patient", "report", "skin", "the", "of", "clinic", "date", "result", "and", "lesion", "follow-up"]
    for y in range(40, size[1] - 40, 28):
        draw.text((40, y), " ".join(rng.choice(words, 8)), fill=(20, 20, 20), font=font)
    return image


def _shapes(rng, size=512):
    image = Image.new("RGB", (size, size), tuple(int(v) for v in rng.integers(0, 256, 3)))
    draw = ImageDraw.Draw(image)
    for _ in range(12):
        box = sorted(rng.integers(0, size, 2)), sorted(rng.integers(0, size, 2))
        xy = [box[0][0], box[1][0], box[0][1] + 20, box[1][1] + 20]
        shape = draw.ellipse if rng.random() < 0.5 else draw.rectangle
        shape(xy, fill=tuple(int(v) for v in rng.integers(0, 256, 3)))
    return image


def _landscape(size=512):
    y = np.linspace(0, 1, size)[:, None, None]
    sky = np.array([110, 160, 230]) * (1 - y) + np.array([200, 220, 250]) * y
    ground = np.array([60, 120, 40]) * np.ones_like(y)
    return np.where(y < 0.6, sky, ground).repeat(size, axis=1)


def generated_photos(seed=0):
    """Images drawn here: each family a few times with a fixed seed, so every run sees the same photos."""
    rng = np.random.default_rng(seed)
    grid = np.indices((512, 512)).sum(axis=0)
    drawn = [
        ("uniform noise", rng.integers(0, 256, (512, 512, 3))),
        ("gaussian noise", rng.normal(128, 40, (512, 512, 3))),
        ("grey noise", rng.integers(0, 256, (512, 512, 1)).repeat(3, axis=2)),
        ("horizontal gradient", np.linspace(0, 255, 512)[None, :, None].repeat(512, 0).repeat(3, 2)),
        ("colour gradient", np.stack([*np.meshgrid(np.linspace(0, 255, 512), np.linspace(255, 0, 512)),
                                     np.full((512, 512), 128.0)], axis=2)),
        ("black", np.zeros((256, 256, 3))),
        ("white", np.full((256, 256, 3), 255)),
        ("mid grey", np.full((256, 256, 3), 128)),
        ("red", np.full((256, 256, 3), (200, 30, 30))),
        ("blue", np.full((256, 256, 3), (30, 60, 200))),
        ("stripes", ((grid // 16) % 2 * 255)[..., None].repeat(3, axis=2)),
        ("colour checkerboard", np.where(((np.indices((512, 512)) // 64).sum(0) % 2)[..., None] == 1,
                                         (240, 200, 40), (30, 90, 160))),
        ("landscape", _landscape()),
        ("text page", _text_page(rng)),
        ("text page 2", _text_page(rng, (800, 600))),
        ("shapes", _shapes(rng)),
        ("shapes 2", _shapes(rng)),
        ("shapes 3", _shapes(rng)),
    ]
    return [Photo(name, "generated", name, jpeg(np.asarray(image))) for name, image in drawn]


def non_lesion_photos():
    return skimage_photos() + library_photos() + chart_photos() + generated_photos()
