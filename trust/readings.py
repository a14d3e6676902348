"""What the serving engine reads from each photo of a set: backbone statistics, photo statistics, probabilities.

One backbone run gives the scope statistics and the single-pass probabilities; flip averaging runs the engine's
own four-image path. Photos are decoded and resized exactly as the web app does (imaging.py).
"""
from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from Dermal.inference import imaging
from Dermal.inference.bundle import encode_metadata
from Dermal.inference.engines import get_engine
from Dermal.inference.quality import photo_warnings
from Dermal.inference.scope import exposure_warned, photo_statistics


@dataclass
class Readings:
    """Per-photo arrays of one set, in the set's order."""
    names: np.ndarray        # (n,) image ids or photo names
    groups: np.ndarray       # (n,) photos of one group are left out together in cross-validation
    statistics: np.ndarray   # (n, d) the backbone's scope statistics
    photo: np.ndarray        # (n, 6) scope.photo_statistics
    exposure: np.ndarray     # (n,) True with a too-dark or too-bright warning (scope.served_level)
    single: np.ndarray       # (n, classes) probabilities, one pass
    flip: np.ndarray         # (n, classes) probabilities, flip averaging
    dx: np.ndarray           # (n,) labels ("" for non-lesion photos)

    def __len__(self):
        return len(self.names)


def read_photo(engine, jpeg, age=None, sex=None, site=None):
    manifest = engine.manifest
    height, width = manifest["input"]["height"], manifest["input"]["width"]
    meta = encode_metadata(manifest, age, sex, site)
    pixels, size = imaging.open_photo(jpeg, min(height, width))
    batch = imaging.model_input(pixels, height, width)
    exposure = exposure_warned(warning.code for warning in photo_warnings(batch, size))
    fmap, statistics = engine.run_backbone(batch)
    single = engine.probabilities(fmap, meta)[0][0]
    flip = engine.analyse(batch, meta, gradcam=False, flip_average=True).probabilities
    return statistics, photo_statistics(batch), exposure, single, flip


def _readings(rows, names, groups, dx):
    statistics, photo, exposure, single, flip = (np.array(column) for column in zip(*rows))
    return Readings(np.array(names), np.array(groups), statistics, photo, exposure, single, flip, np.array(dx))


def read_labelled(items, label, engine=None):
    """Readings of labelled lesion photos (datasets.LabelledImage); each photo is its own group."""
    engine = engine or get_engine()
    rows = [read_photo(engine, item.read(), item.age, item.sex, item.site)
            for item in tqdm(items, desc=label, unit="photo", disable=None)]
    names = [item.path.stem for item in items]
    return _readings(rows, names, names, [item.dx for item in items])


def read_photos(photos, label, engine=None):
    """Readings of unlabelled photos (photos.Photo), grouped by the picture they were made from."""
    engine = engine or get_engine()
    rows = [read_photo(engine, photo.jpeg) for photo in tqdm(photos, desc=label, unit="photo", disable=None)]
    return _readings(rows, [p.name for p in photos], [p.group for p in photos], [""] * len(photos))
