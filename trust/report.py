"""The trust figures as a Markdown section of docs/EVALUATION.md (between its trust markers)."""
import re
from pathlib import Path

from Dermal.inference.evaluation import wilson_interval
from Dermal.inference.scope import FEATURELESS_DETAIL, LEVELS, NOISE_STRUCTURE, RULED, UNLIKE_SKIN_SHARE

from . import scope_fit
from .referral_fit import BOOTSTRAP_ROUNDS

BEGIN, END = "<!-- trust:begin -->", "<!-- trust:end -->"
SOURCE_NOTES = {"derm_eval": "HAM10000 dermoscopy, likely seen in training",
                "derm_heldout": "ISIC dermoscopy, never seen", "derm_acral_dev": "Derm7pt dermoscopy of palms and soles",
                "derm_phone_dev": "PAD-UFES-20 smartphone photos"}


def share(count, total):
    low, high = wilson_interval(count, total) or (0, 0)
    return f"{count}/{total} = {count / total:.1%} [{low:.1%}, {high:.1%}]" if total else "-"


def _rate(figures, name):
    value, ci, boot = figures.get(name), figures.get(f"{name}_ci"), figures.get(f"{name}_bootstrap_ci")
    if value is None:
        return "-"
    return f"{value:.0%} [{ci[0]:.0%}, {ci[1]:.0%}]" + (f"; bootstrap [{boot[0]:.0%}, {boot[1]:.0%}]" if boot else "")


def scope_rows(counts_by_set):
    rows = ["| photos | n | lesion | unusual | not_a_lesion |", "|---|---|---|---|---|"]
    for name, counts in counts_by_set.items():
        total = sum(counts.values())
        cells = [share(counts[level], total) for level in LEVELS]
        rows.append(f"| {name} | {total} | " + " | ".join(cells) + " |")
    return rows


def referral_rows(entry):
    rows = ["| source | malignant / benign | referred (sensitivity) | cleared (specificity) | cross-validated "
            "sensitivity | cross-validated specificity |", "|---|---|---|---|---|---|"]
    for source, figures in entry["per_source"].items():
        held = entry["cross_validated"].get(source, {})
        rows.append(f"| {source} | {figures['positives']} / {figures['negatives']} | {_rate(figures, 'sensitivity')} | "
                    f"{_rate(figures, 'specificity')} | {_rate(held, 'sensitivity')} | {_rate(held, 'specificity')} |")
    return rows


def auc_rows(score_auc):
    rows = ["| mode | source | AUC, summed malignant probability | AUC, P(mel) alone |", "|---|---|---|---|"]
    for mode, by_source in score_auc.items():
        for source, scores in by_source.items():
            cells = [f"{scores[n]['auc']:.3f} [{scores[n]['ci'][0]:.2f}, {scores[n]['ci'][1]:.2f}]"
                     for n in ("malignant", "melanoma")]
            rows.append(f"| {mode} | {source} | " + " | ".join(cells) + " |")
    return rows


def spoil_rows(spoiled):
    rows = ["| lesion photos, every source | n | with the warning it deserves | `not_a_lesion`, gate alone | "
            f"`not_a_lesion` as served | most vividly green-blue-purple (bar {UNLIKE_SKIN_SHARE:.0%}) | "
            f"least detail beyond a plane (bar {FEATURELESS_DETAIL:g}) | least neighbour correlation (bar "
            f"{NOISE_STRUCTURE:g}) | most ruled (bar {RULED:g}) | farthest natural-image distance |",
            "|---|---|---|---|---|---|---|---|---|---|"]
    for name, counts in spoiled.items():
        total = counts["photos"]
        warned = "none deserved" if counts["warned"] is None else share(counts["warned"], total)
        rows.append(f"| {name} | {total} | {warned} | {share(counts['gate_alone'], total)} | "
                    f"{share(counts['served'], total)} | {counts['most_unlike_skin']:.1%} | "
                    f"{counts['least_detail']:.1f} | {counts['least_structure']:.2f} | {counts['most_ruled']:.2f} | "
                    f"{counts['farthest_natural']:.3f} |")
    return rows


def representation_rows(fit):
    """Each plain distance's `not_a_lesion` counts (representations.py) beside the gate's own."""
    sources = list(fit.sources)
    rows = ["| representation | " + " | ".join(sources) + " | non-lesion photos |", "|---" * (len(sources) + 2) + "|"]
    total = len(fit.non_lesion_verdicts)
    for name, counts in fit.representations.items():
        cells = [share(counts["lesions"][s], fit.sources[s]) for s in sources]
        rows.append(f"| {name} | " + " | ".join(cells) + f" | {share(counts['non_lesions'], total)} |")
    gate = [share(fit.lesion_levels[s]["not_a_lesion"], fit.sources[s]) for s in sources]
    alone = share(fit.non_lesion_gate_alone["not_a_lesion"], total)
    rows.append("| the gate: the regression over the mid-level distance and six photo statistics, and the "
                "natural-image distance with its step (lesion photos as served; non-lesion photos by the gate alone) | "
                + " | ".join(gate) + f" | {alone} |")
    return rows


def representation_lines(fit):
    if not fit.representations:
        return []
    return ["### Other representations, measured the same way", "",
            "Each distance alone, under the gate's `not_a_lesion` rule without a step (trust/representations.py): "
            "the reference is the dermoscopic sources, a photo is not a lesion above the highest distance of any "
            "lesion photo that chose the threshold, each lesion source is judged without itself, the non-lesion "
            "photos by all of them. Photos called `not_a_lesion`; Wilson 95% intervals.", "",
            *representation_rows(fit), ""]


def spoil_lines(spoiled):
    if not spoiled:
        return []
    return ["### Badly taken lesion photos", "",
            "Every lesion photo above, at phone width (600 px), darkened, washed out, blurred (a Gaussian of 3 or "
            "6 px) or tinted by a white balance gone wrong (red 0.8x and blue 1.2x; red 1.1x and blue 0.85x), and "
            "read as the app reads it, judged by the bundle's gate (their originals helped fit it; no "
            "spoiled photo did): by the gate alone, and as served, photo quality allowed for. Wilson 95% "
            "intervals.", "", *spoil_rows(spoiled), ""]


def _missed(verdicts):
    return ", ".join(sorted(name for name, level in verdicts.items() if level != "not_a_lesion")) or "none"


def section(fit, command, measured_on, spoiled=None):
    gate = fit.gate
    fresh = scope_fit.level_counts(list(fit.fresh_verdicts.values()))
    thresholds = gate["thresholds"]
    lines = [
        BEGIN, "## Scope and referral", "",
        f"Made by `{command}` ({measured_on}). Sources: "
        + "; ".join(f"{s} ({n} photos, {SOURCE_NOTES.get(s, 'other')})" for s, n in fit.sources.items()) + ".", "",
        "### Scope: lesion, unusual, not a lesion", "",
        "Which photos chose what: the reference of the backbone statistics is the dermoscopic sources (derm_eval + "
        "derm_heldout); the regression over that distance and six photo statistics (colour, green-blue-purple share, "
        "sharp edges) is fitted on every lesion source against the non-lesion photos (the sample photos "
        "scikit-image, scikit-learn and Matplotlib ship and crops of them, charts, and images drawn at run time: "
        "trust/photos.py); `not_a_lesion` is above the highest score of any training lesion photo, "
        "scored both by the final regression and by one fitted without the photo's source (never below even "
        f"odds), or a photo without colour, mostly vividly green, blue or purple (over {UNLIKE_SKIN_SHARE:.0%} of "
        f"its pixels) or noise (neighbouring pixels' grey levels correlating under {NOISE_STRUCTURE:g}), as no "
        "lesion photo, however badly taken, is (see below); `unusual` above the 95th percentile of the dermoscopic "
        "photos' scores. "
        "A photo is also `not_a_lesion` when, in the pooled features of a model that knows natural images "
        "(ImageNet EfficientNet-Lite0), its mean cosine distance from its 5 nearest dermoscopic lesion photos "
        "exceeds that of every training lesion photo (a reference photo's taken without itself) plus the largest "
        "step a source took beyond the others' threshold when left out.",
        "",
        "Measured on photos that chose nothing: each lesion source by a gate fitted without that source "
        "(leave-one-source-out), each non-lesion picture (with the crops made from it) by a gate fitted without it. "
        "Levels as served, photo quality allowed for (badly taken lesion photos otherwise score as not lesions: "
        "see below): a photo with some colour darker than any lesion photo seen (mean grey under 80) is "
        "`not_a_lesion` only if, brightened to a normal exposure and read again, it still is and scores no nearer "
        "a lesion, and any other only if it still is with its channels scaled to the lesion photos' mean colour "
        "(which undoes a white-balance cast); a too-bright or blurry one with some colour is at most `unusual`, "
        "its quality warning saying why (white charts near enough the lesion photos in the natural-image model "
        "are counted `unusual` by this rule), except that no too-dark or too-bright warning excuses a photo beyond "
        "the natural-image bar (no darkened or washed-out lesion photo goes there; blurred ones do, so blur still "
        f"excuses); no warning excuses one with under {FEATURELESS_DETAIL:g} grey level of detail beyond a smooth "
        "plane (flat colours, gradients), nor one ruled with thin lines straight to the pixel across over "
        f"{RULED:.0%} of a row and of a column (a chart's axes, a table), as no lesion photo, however badly taken, "
        "has (see below). Wilson 95% intervals.", "",
        *scope_rows({**fit.lesion_levels, "non-lesion photos": fit.non_lesion_levels,
                     "non-lesion photos made after the rules (fresh)": fresh}), "",
        "The fresh photos (trust/fresh.py) were made after the gate's rules were last changed and "
        "chose nothing, neither the regression nor the rules, which were designed with the first non-lesion photos "
        "in view; they are judged by the bundle's gate.", "",
        f"Non-lesion photos not called `not_a_lesion`: {_missed(fit.non_lesion_verdicts)}; fresh ones: "
        f"{_missed(fit.fresh_verdicts)}. The gate alone, before "
        "photo quality is allowed for, calls "
        f"{share(fit.non_lesion_gate_alone['not_a_lesion'], sum(fit.non_lesion_gate_alone.values()))} of them "
        "not a lesion.", "",
        f"The bundle's gate (fitted on all of them): `unusual` above {thresholds['unusual']:.3f}, `not_a_lesion` "
        f"above {thresholds['not_a_lesion']:.3f} (log-odds that the photo is not a skin-lesion close-up), or a mean "
        f"saturation under {gate['colourless_saturation']} on the pixels not clipped white, over "
        f"{UNLIKE_SKIN_SHARE:.0%} vividly green-blue-purple pixels, a neighbour correlation under {NOISE_STRUCTURE:g}"
        + (f", or a natural-image distance above {thresholds['natural']:.3f}" if "natural" in thresholds else "")
        + ". No level hides the probabilities or the referral.", "",
        *representation_lines(fit),
        *spoil_lines(spoiled),
    ]
    for mode, entry in fit.triage.items():
        lines += [f"### Referral, {mode.replace('_', ' ')}", "",
                  f"Threshold {entry['threshold']:.4f} on the summed malignant probability: the lowest of the "
                  f"thresholds that refer {entry['target_sensitivity']:.0%} of each choosing source's malignant "
                  f"lesions ({entry['images']}). Cross-validated: five folds within each choosing source, each fold "
                  "referred by the threshold the other folds chose, with Wilson 95% intervals and out-of-bag bootstrap "
                  f"ones (the threshold chosen again on each of {BOOTSTRAP_ROUNDS:,} resamples within each source, "
                  "measured on the photos it left out: the threshold's own uncertainty). Other sources, and the "
                  "columns at the threshold, are measured at it, with Wilson intervals.", "",
                  *referral_rows(entry), ""]
    lines += ["### Triage score: summed malignant probability or P(mel)?", "",
              "Malignant (akiec, bcc, mel) against benign, per source; bootstrap 95% intervals.", "",
              *auc_rows(fit.score_auc), "", END]
    return "\n".join(lines)


def write_section(path, text):
    """Replace the trust section of `path` (or append it): the rest of the file is another command's."""
    path = Path(path)
    current = path.read_text() if path.is_file() else ""
    pattern = re.compile(re.escape(BEGIN) + ".*?" + re.escape(END), re.S)
    updated = pattern.sub(lambda _: text, current) if pattern.search(current) else current.rstrip() + "\n\n" + text
    path.write_text(updated.rstrip() + "\n")
