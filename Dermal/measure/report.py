"""The evaluation report: one self-contained HTML page (figures as base64 PNG), the same figures as JSON, and
the Markdown section docs/EVALUATION.md shows for the held-out photos."""
import base64
import json
import os
from pathlib import Path

from django.template.loader import render_to_string

from . import figures as pictures


def _atomic_write(path, text):
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def write(out, figures, context):
    """Write <out>/report.html and <out>/report.json; `context` says what was measured (folder, bundle, when,
    the threshold in use). Returns the two paths."""
    out = Path(out)
    pngs = {name: base64.b64encode(png).decode("ascii") for name, png in pictures.all_figures(figures).items()}
    rows = [{"code": code, **figures["per_class"][code]} for code in figures["counts"]]
    html = render_to_string("measure/report.html", {"f": figures, "c": context, "png": pngs, "rows": rows,
                                                    "headline": headline(figures)})
    data = {**context, **{k: v for k, v in figures.items() if k != "most_wrong"},
            "most_wrong": [{k: v for k, v in e.items() if k not in ("photo", "gradcam")}
                           for e in figures["most_wrong"]]}
    _atomic_write(out / "report.html", html)
    _atomic_write(out / "report.json", json.dumps(data, indent=1) + "\n")
    return out / "report.html", out / "report.json"


def _interval(pair, spec=".2f"):
    return "n/a" if pair is None else f"[{pair[0]:{spec}}, {pair[1]:{spec}}]"


def _value(value, spec=".3f"):
    return "n/a" if value is None else format(value, spec)


def headline(figures):
    """One line: the figures a reader asks for first."""
    accuracy, auc, ref = figures["accuracy"], figures["melanoma_vs_nevus"], figures["referral"]
    parts = [f"{figures['photos']} photos: accuracy {accuracy['value']:.3f} {_interval(accuracy['interval'])}",
             f"balanced accuracy {figures['balanced_accuracy']:.3f}"]
    if auc:
        parts.append(f"melanoma-vs-nevus AUC {auc['auc']:.3f} {_interval(auc['interval'])}")
    parts.append(f"referral sensitivity {_value(ref['sensitivity'])} {_interval(ref['sensitivity_interval'])}, "
                 f"specificity {_value(ref['specificity'])} {_interval(ref['specificity_interval'])}")
    flagged = 1 - figures["scope"].get("lesion", {}).get("share", 0)
    parts.append(f"{flagged:.1%} judged unusual or not a lesion")
    return "; ".join(parts)


def _share_cell(share):
    if share["value"] is None:
        return "n/a"
    warning = " (too few)" if share["wide"] else ""
    return f"{share['value']:.2f} ({share['hits']}/{share['count']}) {_interval(share['interval'])}{warning}"


def markdown(figures, context):
    """The evaluation as Markdown lines (tables, no pictures), for docs/EVALUATION.md."""
    classes, present = figures["classes"], list(figures["counts"])
    ref = figures["referral"]
    lines = [headline(figures) + ".", "",
             f"Measured {context['generated']} by `{context['command']}` on `{context['folder']}` with "
             f"{context['bundle_version']}{', flip averaging' if figures['flip_average'] else ''}. "
             "Intervals are 95%: Wilson for shares, stratified bootstrap for the AUC, bootstrap for the referral.",
             "", "| class | photos | recall (hits/photos) [95%] | precision (hits/predicted) [95%] |",
             "|---|---|---|---|"]
    lines += [f"| {c} | {figures['counts'][c]} | {_share_cell(figures['per_class'][c]['recall'])} | "
              f"{_share_cell(figures['per_class'][c]['precision'])} |" for c in present]
    lines += ["", "Confusion matrix (rows: true class, columns: predicted):", "",
              "| true \\ predicted | " + " | ".join(classes) + " |", "|---|" + "---|" * len(classes)]
    lines += [f"| {c} | " + " | ".join(map(str, figures["confusion"][classes.index(c)])) + " |" for c in present]
    lines += ["", f"Referral at the threshold in use ({context['threshold_source']}): sensitivity "
              f"{_value(ref['sensitivity'])} {_interval(ref['sensitivity_interval'])} on {ref['malignant']} malignant "
              f"photos, specificity {_value(ref['specificity'])} {_interval(ref['specificity_interval'])} on "
              f"{ref['benign']} benign. Scope: " + ", ".join(f"{v} {s['count']} ({s['share']:.1%})"
                                                            for v, s in figures["scope"].items()) +
              f". Expected calibration error {figures['expected_calibration_error']:.3f}."]
    if figures["small_classes"]:
        lines += ["", f"Too few photos for the recall to mean much (95% interval wider than 0.4): "
                  f"{', '.join(figures['small_classes'])}."]
    return lines
