"""Photos -> table rows: the batch run, the resumable table and the progress bar put together."""
from tqdm import tqdm

from . import batch, table


def analyse_all(items, rows_out, options, workers, on_outcome=None, cluster=None):
    """Analyse [(Job, Label or None)] into `rows_out` (a ResumableTable or StreamTable), skipping the photos it
    already holds; returns (rows in input order, the workers' peak resident memory in MB or None).

    The photos go to `workers` processes here, or, given `cluster` (cluster.session's run: jobs, options ->
    Outcomes in the order they finish), to a Dask cluster's workers. Each row is written as its photo is done.
    `on_outcome(outcome, label)` runs in this process for each new analysis (e.g. to record it in the history).
    The bar shows rate and time left on a terminal and stays quiet otherwise (disable=None).
    """
    todo = {str(job.path): (job, label) for job, label in items if str(job.path) not in rows_out.done}
    peak = None
    try:
        with tqdm(total=len(items), initial=len(items) - len(todo), unit="photo", disable=None) as bar:
            jobs = [job for job, _ in todo.values()]
            outcomes = cluster(jobs, options) if cluster else batch.run(jobs, options, workers)
            for outcome in outcomes:
                # Keyed by path, whichever worker answered: a second answer for a photo would be a KeyError
                # here, never a second row.
                _, label = todo.pop(str(outcome.job.path))
                rows_out.add(table.row(outcome, label, options))
                if on_outcome is not None:
                    on_outcome(outcome, label)
                peak = max(peak or 0, outcome.peak_mb)
                bar.update()
    finally:
        rows_out.close()
    return rows_out.finish([job.path for job, _ in items]), peak
