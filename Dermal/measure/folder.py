"""A labelled folder measured: every photo analysed into <out>/analyses.csv (resuming an interrupted run),
then scored. What `manage.py evaluate` reports and bench/evaluate.py writes into docs/EVALUATION.md."""
from pathlib import Path

from Dermal.AI_detection import bundle_version, triage_for

from . import labels as labelling, runs, scoring, table
from .batch import Options
from .pipeline import analyse_all


def measure_folder(folder, out, *, labels=None, flip_average=False, workers=None, rounds=2000, name=None,
                   say=print):
    """(figures, context, {path: Job}) of a labelled folder; raises BundleError, LabelError, or ValueError when
    no photo could be analysed. `say` receives the progress notes (resuming, worker count)."""
    manifest, precision, class_info = runs.serving_classes()
    found = labelling.labelled_photos(folder, [c.code for c in class_info], labels)
    Path(out).mkdir(parents=True, exist_ok=True)
    run = Options(flip_average=flip_average)
    items = [(runs.job_of(path, label), label) for path, label in found]
    rows_out = table.ResumableTable(Path(out) / "analyses.csv", table.fields([c.code for c in class_info]),
                                    flip_average)
    if rows_out.done:
        say(f"resuming: {len(rows_out.done)} photo(s) already analysed in {rows_out.partial}")
    rows, _ = analyse_all(items, rows_out, run, runs.workers(workers, say))
    figures = scoring.evaluate(rows, class_info, rounds)
    triage = triage_for(manifest, precision, flip_average) or {}
    context = {"name": name or Path(folder).resolve().name, "folder": str(folder),
               "bundle_version": bundle_version(manifest, precision), **runs.provenance(),
               "threshold_source": f"{triage.get('threshold', float('nan')):.4f}, chosen on "
                                   f"{triage.get('images', 'nothing: the bundle has no threshold')}"}
    return figures, context, {str(job.path): job for job, _ in items}
