"""Lesion photos badly exposed: how often the gate alone, and the level as served, call them not a lesion.

Every lesion photo present is relit at phone width (photos.RELIGHTINGS), read as the app reads it and judged by
the fitted gate. Their originals helped fit the gate; no relit photo did. This measures the exposure rule of
scope.allowing_for_exposure: a badly exposed photo that keeps some colour is at most `unusual`, unless a too-dark
one, brightened, is still not a lesion and no nearer one.
"""
from tqdm import tqdm

from Dermal.inference.scope import read_scope

from .photos import RELIGHTINGS, relit
from .readings import read_scope_inputs
from .scope_fit import served_level


def read_relit(items, engine):
    """{relighting: [read_scope_inputs of each item relit]} for labelled lesion photos (datasets.LabelledImage)."""
    return {name: [read_scope_inputs(engine, relit(item, factor))
                   for item in tqdm(items, desc=name, unit="photo", disable=None)]
            for name, factor in RELIGHTINGS.items()}


def relit_figures(gate, readings):
    """{relighting: photos, exposure-warned, not_a_lesion by the gate alone, not_a_lesion as served}."""
    return {name: {"photos": len(rows),
                   "warned": sum(bool(row[2]) for row in rows),
                   "gate_alone": sum(read_scope(row[0], row[1], gate).level == "not_a_lesion" for row in rows),
                   "served": sum(served_level(gate, *row) == "not_a_lesion" for row in rows)}
            for name, rows in readings.items()}
