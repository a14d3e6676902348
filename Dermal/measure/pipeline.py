"""Photos -> table rows: the batch run, the resumable table and the progress bar put together."""
from tqdm import tqdm

from . import batch, table


def analyse_all(items, rows_out, options, workers, on_outcome=None):
    """Analyse [(Job, Label or None)] into `rows_out` (a ResumableTable or StreamTable), skipping the photos it
    already holds; returns (rows in input order, the workers' peak resident memory in MB or None).

    `on_outcome(outcome, label)` runs in this process for each new analysis (e.g. to record it in the history).
    The bar shows rate and time left on a terminal and stays quiet otherwise (disable=None).
    """
    todo = [(job, label) for job, label in items if str(job.path) not in rows_out.done]
    peak = None
    try:
        with tqdm(total=len(items), initial=len(items) - len(todo), unit="photo", disable=None) as bar:
            outcomes = batch.run([job for job, _ in todo], options, workers)
            for outcome, (_, label) in zip(outcomes, todo):
                rows_out.add(table.row(outcome, label, options))
                if on_outcome is not None:
                    on_outcome(outcome, label)
                peak = max(peak or 0, outcome.peak_mb)
                bar.update()
    finally:
        rows_out.close()
    return rows_out.finish([job.path for job, _ in items]), peak
