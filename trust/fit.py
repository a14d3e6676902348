"""One fitting run: read every photo set present, fit the scope gate and the referral thresholds, measure them."""
from dataclasses import dataclass, field

from Dermal.inference.bundle import scope_entry
from Dermal.inference.engines import get_engine

from . import photos, referral_fit, representations, scope_fit
from .bundle_write import update_backbone_entry, write_gate
from .fresh import fresh_photos
from .readings import read_labelled, read_photos


@dataclass
class Fit:
    gate: dict
    triage: dict                 # the bundle's triage entries per mode ({} without a source that can choose)
    lesion_levels: dict          # source -> level counts, each source judged by a gate fitted without it
    non_lesion_levels: dict      # level counts of the non-lesion photos, each left out of its gate
    non_lesion_verdicts: dict    # photo name -> level
    non_lesion_gate_alone: dict  # level counts of the non-lesion photos by the gate alone, quality not allowed for
    fresh_verdicts: dict         # photo name -> level of the photos made after the rules (fresh.fresh_photos)
    score_auc: dict = field(default_factory=dict)  # mode -> source -> triage score -> AUC and interval
    sources: dict = field(default_factory=dict)    # source -> number of photos
    representations: dict = field(default_factory=dict)  # representations.compare


def read_sets(engine=None, sources=None):
    """({source: Readings} of the labelled lesion sets present (or `sources`: {name: items}), non-lesion Readings,
    Readings of the non-lesion photos made after the rules)."""
    sources = sources or {name: photos.lesion_items(name) for name in photos.available_sources()}
    lesions = {name: read_labelled(items, name, engine) for name, items in sources.items()}
    return (lesions, read_photos(photos.non_lesion_photos(), "non-lesion photos", engine),
            read_photos(fresh_photos(), "fresh non-lesion photos", engine))


def fit_all(lesions, non_lesions, fresh, engine=None):
    """Fit on the lesion and non-lesion Readings; the `fresh` non-lesion Readings only measure the fitted gate."""
    engine = engine or get_engine()
    layout = scope_entry(engine.manifest, engine.precision)
    layers, sizes = layout["layers"], layout["sizes"]
    classes = engine.manifest["classes"]
    positive = {s: referral_fit.positives(r, classes) for s, r in lesions.items()}
    non_lesion_levels, verdicts, gate_alone = scope_fit.leave_one_picture_out(lesions, non_lesions, sizes, layers)
    gate = scope_fit.fit_gate(lesions, non_lesions, sizes, layers)
    return Fit(
        gate=gate,
        triage=referral_fit.fit_triage(lesions, classes),
        lesion_levels=scope_fit.leave_one_source_out(lesions, non_lesions, sizes, layers) if len(lesions) > 1 else {},
        non_lesion_levels=non_lesion_levels,
        non_lesion_verdicts=verdicts,
        non_lesion_gate_alone=gate_alone,
        fresh_verdicts=dict(zip(fresh.names, scope_fit.levels(gate, fresh))),
        score_auc={mode: referral_fit.score_comparison(
            {s: referral_fit.triage_scores(getattr(r, field), classes) for s, r in lesions.items()}, positive)
            for mode, field in referral_fit.MODES.items()},
        sources={s: len(r) for s, r in lesions.items()},
        representations=representations.compare(lesions, non_lesions, sizes) if len(lesions) > 1 else {},
    )


def gate_description(fit):
    return {"reference": " + ".join(fit.gate["reference"]), "fitted_on": fit.sources,
            "leave_one_source_out": fit.lesion_levels, "non_lesion_photos": fit.non_lesion_levels}


def write_fit(directory, engine, fit):
    """The fitted gate, and the referral thresholds if any source could choose them, into the bundle."""
    entry = {**(engine.manifest["backbones"][engine.precision].get("scope") or {}),
             **write_gate(directory, engine.precision, fit.gate, gate_description(fit))}
    update_backbone_entry(directory, engine.precision, scope=entry, **({"triage": fit.triage} if fit.triage else {}))
