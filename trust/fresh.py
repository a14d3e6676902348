"""Non-lesion photos made after the gate's rules were last changed (2026-11-29, after the ruled-line rule), never used
to fit, choose or design anything: they only measure the bundle's gate.

New draws, with their own seed, of the random families photos.py draws, and kinds drawn nowhere else: noise and
colour fields, a sticky note, binary blobs, an MRI slice and a shaded relief (Matplotlib's sample data), a
histogram, a heat map, a chart on a dark screen, a table, colour tiles and ink strokes on paper.
"""
import gzip

import matplotlib.style
import numpy as np
from matplotlib import cm
from matplotlib.colors import LightSource
from PIL import Image, ImageDraw, ImageFont

from .photos import Photo, chart_photos, drawn_figure, generated_photos, jpeg, matplotlib_samples

# The families generated_photos and chart_photos draw at random, drawn again with fresh_photos' seed.
REDRAWN = ("uniform noise", "gaussian noise", "grey noise", "text page", "text page 2", "shapes", "shapes 2",
           "shapes 3", "line chart", "bar chart", "pie chart", "scatter plot")


def fresh_photos(seed=8):
    rng = np.random.default_rng(seed)
    redrawn = [p for p in generated_photos(seed) + chart_photos(seed) if p.name in REDRAWN]
    return ([Photo(f"{p.name} (seed {seed})", "fresh", f"{p.name} (seed {seed})", p.jpeg) for p in redrawn]
            + [Photo(name, "fresh", name, jpeg(np.asarray(image))) for name, image in _new_kinds(rng, seed)])


def _new_kinds(rng, seed):
    import skimage.data

    dots = rng.random((512, 512, 1))
    return [("salt and pepper noise", np.where(dots < 0.1, 0, np.where(dots > 0.9, 255, 128)).repeat(3, axis=2)),
            ("colour clouds", _resized(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8), Image.BICUBIC)),
            ("sticky note", _sticky_note(rng)),
            ("binary blobs", skimage.data.binary_blobs(512, rng=seed).astype(np.uint8) * 255),
            ("MRI slice", _mri_slice()),
            ("shaded relief", _shaded_relief()),
            ("histogram", drawn_figure(lambda ax: ax.hist(rng.normal(size=500), bins=30))),
            ("heat map", drawn_figure(lambda ax: ax.figure.colorbar(ax.imshow(rng.random((12, 16))), ax=ax))),
            ("chart on a dark screen", _dark_chart(rng)),
            ("table", _table(rng)),
            ("colour tiles", _resized(rng.integers(0, 256, (6, 6, 3), dtype=np.uint8), Image.NEAREST)),
            ("ink strokes on paper", _ink_strokes(rng))]


def _resized(cells, resample, size=512):
    return Image.fromarray(cells).resize((size, size), resample)


def _sticky_note(rng, size=400):
    image = Image.new("RGB", (size, size), (250, 230, 90))
    draw, font = ImageDraw.Draw(image), ImageFont.load_default(size=28)
    for y in range(40, size - 60, 50):
        draw.text((30, y), " ".join(rng.choice(["call", "clinic", "at", "9", "buy", "milk", "Monday"], 3)),
                  fill=(30, 30, 120), font=font)
    return image


def _mri_slice():
    with gzip.open(matplotlib_samples() / "s1045.ima.gz") as raw:
        slice_ = np.frombuffer(raw.read(), np.uint16).reshape(256, 256).astype(np.float64)
    return np.repeat((255 * slice_ / slice_.max())[..., None], 3, axis=2)


def _shaded_relief():
    elevation = np.load(matplotlib_samples() / "jacksboro_fault_dem.npz")["elevation"].astype(np.float64)
    return LightSource(azdeg=315, altdeg=45).shade(elevation, cmap=cm.gist_earth, blend_mode="overlay")[..., :3]


def _dark_chart(rng):
    with matplotlib.style.context("dark_background"):
        return drawn_figure(lambda ax: ax.plot(rng.normal(size=(60, 2)).cumsum(axis=0)))


def _table(rng, rows=12, columns=5, cell=(110, 36)):
    image = Image.new("RGB", (columns * cell[0] + 1, rows * cell[1] + 1), "white")
    draw, font = ImageDraw.Draw(image), ImageFont.load_default(size=16)
    for row in range(rows):
        for column in range(columns):
            box = (column * cell[0], row * cell[1], (column + 1) * cell[0], (row + 1) * cell[1])
            draw.rectangle(box, outline=(90, 90, 90), fill=(220, 230, 245) if row == 0 else None)
            draw.text((box[0] + 8, box[1] + 9), f"{rng.random() * 100:.1f}", fill="black", font=font)
    return image


def _ink_strokes(rng, size=512, strokes=6):
    image = Image.new("RGB", (size, size), (245, 243, 235))
    draw = ImageDraw.Draw(image)
    for _ in range(strokes):
        path = np.cumsum(rng.normal(0, 6, (80, 2)), axis=0) + rng.uniform(100, size - 100, 2)
        draw.line([tuple(point) for point in path], fill=(20, 40, 140), width=4, joint="curve")
    return image
