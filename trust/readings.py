"""What the serving engine reads from each photo of a set: backbone statistics, photo statistics, probabilities,
pooled features.

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
from Dermal.inference.scope import photo_statistics, second_look


@dataclass
class Readings:
    """Per-photo arrays of one set, in the set's order."""
    names: np.ndarray        # (n,) image ids or photo names
    groups: np.ndarray       # (n,) photos of one group are left out together in cross-validation
    statistics: np.ndarray   # (n, d) the backbone's scope statistics
    photo: np.ndarray        # (n, 11) scope.photo_statistics
    natural: np.ndarray      # (n, c) the natural-image model's features ((n, 0) without that model)
    warnings: np.ndarray     # (n,) the photo's quality warning codes, space-separated (scope.allowing_for_quality)
    second_statistics: np.ndarray  # (n, d) of the photo at its second look (scope.second_look)
    second_photo: np.ndarray       # (n, 11) likewise
    second_natural: np.ndarray     # (n, c) likewise
    single: np.ndarray       # (n, classes) probabilities, one pass
    flip: np.ndarray         # (n, classes) probabilities, flip averaging
    pooled: np.ndarray       # (n, channels) the backbone's pooled final features (representations.py)
    dx: np.ndarray           # (n,) labels ("" for non-lesion photos)

    def __len__(self):
        return len(self.names)


def _model_input(engine, jpeg):
    """(model input batch, size as uploaded) of a photo, decoded and resized as the web app does."""
    height, width = engine.manifest["input"]["height"], engine.manifest["input"]["width"]
    pixels, size = imaging.open_photo(jpeg, min(height, width))
    return imaging.model_input(pixels, height, width), size


def _natural_features(engine, batch):
    found = engine.natural_features(batch)
    return np.empty(0, np.float32) if found is None else found


def _scope_readings(engine, batch, size, statistics):
    """(statistics, photo statistics, natural-image features, quality warning codes space-separated, and the
    same three readings of its second look): what the scope level as served needs, whichever gate judges it."""
    again = second_look(batch)
    warnings = " ".join(warning.code for warning in photo_warnings(batch, size))
    return (statistics, photo_statistics(batch), _natural_features(engine, batch), warnings,
            engine.run_backbone(again)[1], photo_statistics(again), _natural_features(engine, again))


def read_scope_inputs(engine, jpeg):
    """The _scope_readings of a photo (two backbone runs, and two of the natural-image model)."""
    batch, size = _model_input(engine, jpeg)
    return _scope_readings(engine, batch, size, engine.run_backbone(batch)[1])


def read_photo(engine, jpeg, age=None, sex=None, site=None):
    meta = encode_metadata(engine.manifest, age, sex, site)
    batch, size = _model_input(engine, jpeg)
    fmap, statistics = engine.run_backbone(batch)
    single = engine.probabilities(fmap, meta)[0]
    flip = engine.flip_averaged(batch, single, meta)[0]  # as analyse() flip-averages, without a second run of `batch`
    return *_scope_readings(engine, batch, size, statistics), single[0], flip, fmap.mean(axis=(0, 1))


def _readings(rows, names, groups, dx):
    columns = (np.array(column) for column in zip(*rows))
    return Readings(np.array(names), np.array(groups), *columns, np.array(dx))


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
