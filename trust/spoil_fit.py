"""Lesion photos badly taken: how often the gate alone, and the level as served, call them not a lesion.

Every lesion photo present is spoiled at phone width as photos.SPOILS says (darkened, washed out, blurred, tinted),
read as the app reads it and judged by the fitted gate. Their originals helped fit the gate; no spoiled photo did.
This measures the allowances of scope.allowing_for_quality: a second look at the photo (brightened if dim, colour-
balanced otherwise), a too-bright or blurry one with colour at most `unusual`, and how near spoiled lesion photos
come to the bars past which no warning excuses a photo.
"""
from tqdm import tqdm

from .photos import SPOILS, spoiled_photo
from .readings import read_scope_inputs
from .scope_fit import gate_reading, served_level


def read_spoiled(items, engine):
    """{spoil: [read_scope_inputs of each item so spoiled]} for labelled lesion photos (datasets.LabelledImage)."""
    return {spoil: [read_scope_inputs(engine, spoiled_photo(item, spoil))
                    for item in tqdm(items, desc=spoil, unit="photo", disable=None)]
            for spoil in SPOILS}


def spoil_figures(gate, readings):
    """{spoil: photos, with the warning the spoil deserves (None: it deserves none), not_a_lesion by the gate alone,
    not_a_lesion as served, the highest vividly green-blue-purple share, the least detail beyond a plane, the
    least neighbour correlation and the highest ruled-line share (how far they stay from the bars of
    ScopeReading.unexplained_by_quality), and the highest natural-image distance (how far from its threshold,
    which no exposure warning excuses)}."""
    return {spoil: _figures(gate, spoil, rows) for spoil, rows in readings.items()}


def _figures(gate, spoil, rows):
    first = [gate_reading(gate, *row[:3]) for row in rows]
    return {"photos": len(rows),
            "warned": sum(SPOILS[spoil][0] in row[3].split() for row in rows) if SPOILS[spoil][0] else None,
            "gate_alone": sum(reading.level == "not_a_lesion" for reading in first),
            "served": sum(served_level(gate, *row) == "not_a_lesion" for row in rows),
            "most_unlike_skin": max(float(row[1][7]) for row in rows),
            "least_detail": min(float(row[1][8]) for row in rows),
            "least_structure": min(float(row[1][10]) for row in rows),
            "most_ruled": max(float(row[1][11]) for row in rows),
            "farthest_natural": max(reading.natural for reading in first)}
