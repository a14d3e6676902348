"""`manage.py analyse PHOTOS...`: every photo through the serving model, one CSV row each."""
import contextlib
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from Dermal.inference.bundle import BundleError
from Dermal.measure import labels as labelling, photos, runs, table
from Dermal.measure.batch import Options
from Dermal.measure.pipeline import analyse_all


class Command(BaseCommand):
    help = ("Analyse photos (files, folders, globs) with the serving model: one CSV row per photo with every "
            "class probability, the top class, malignant probability, referral, scope, warnings, timings and "
            "the error of a photo that failed. Exit status 1 if any photo failed.")

    def add_arguments(self, parser):
        parser.add_argument("inputs", nargs="+", help="photo files, folders (searched recursively) or globs")
        parser.add_argument("--labels", type=Path, help="CSV with image_id,dx (+ age, sex, site): image_id is "
                            "the photo's file name without its extension")
        parser.add_argument("--gradcam", type=Path, metavar="DIR", help="write each Grad-CAM overlay there (PNG)")
        parser.add_argument("--csv", type=Path, metavar="OUT", help="the table (default: standard output); an "
                            "interrupted run resumes from OUT.partial")
        parser.add_argument("--record", action="store_true", help="also record each analysis in the history "
                            "(the database of DATABASE_URL), as the web app does")
        runs.add_run_arguments(parser)
        parser.add_argument("--scheduler", metavar="tcp://HOST:PORT", help="send the photos to the workers of this "
                            "running Dask scheduler instead of --workers processes here (README, 'On a Dask "
                            "cluster'): the workers read the photos, this process writes the table, the overlays "
                            "and the records")

    def handle(self, *args, **options):
        if options["scheduler"] and options["workers"] is not None:
            raise CommandError("--workers is for this machine; with --scheduler the cluster's workers analyse")
        try:
            _, _, class_info = runs.serving_classes()
            paths = photos.expand(options["inputs"])
            labels = labelling.read_labels(options["labels"], [c.code for c in class_info]) \
                if options["labels"] else {}
        except (BundleError, photos.InputError, labelling.LabelError) as exc:
            raise CommandError(exc) from exc
        self._check_labels(paths, labels)
        items = [(runs.job_of(p, labels.get(p.stem)), labels.get(p.stem)) for p in paths]
        if options["gradcam"]:
            options["gradcam"].mkdir(parents=True, exist_ok=True)
        run = Options(flip_average=options["flip_average"], gradcam_dir=options["gradcam"])
        columns = table.fields([c.code for c in class_info])
        out = table.ResumableTable(options["csv"], columns, run.flip_average) if options["csv"] \
            else table.StreamTable(columns, self.stdout)
        if out.done:
            self.stderr.write(f"resuming: {len(out.done)} photo(s) already analysed in {out.partial}")
        started, fresh = time.perf_counter(), len(items) - len(out.done)
        try:
            with self._where(options) as (workers, cluster):
                rows, peak = analyse_all(items, out, run, workers, self._recorder() if options["record"] else None,
                                         cluster)
        except KeyboardInterrupt:
            raise CommandError(f"interrupted: the finished rows are kept in {out.partial}; the same command "
                               "again analyses the rest" if options["csv"] else "interrupted") from None
        except BundleError as exc:  # a worker's, the message naming it
            raise CommandError(exc) from exc
        rate = fresh / (time.perf_counter() - started)
        self._finish(rows, f"{fresh} analysed at {rate:.2f} photos/s" + (f", peak {peak:.0f} MB per worker"
                                                                         if peak else ""), options["csv"])

    @contextlib.contextmanager
    def _where(self, options):
        """(local worker count, None), or (None, the Dask cluster's run) with --scheduler."""
        if options["scheduler"] is None:
            yield runs.workers(options["workers"], self.stderr.write), None
            return
        from Dermal.measure import cluster  # Dask only when asked for

        try:
            with cluster.session(options["scheduler"], self.stderr.write) as run_on_cluster:
                yield None, run_on_cluster
        except cluster.ClusterError as exc:
            raise CommandError(exc) from exc

    def _check_labels(self, paths, labels):
        if not labels:
            return
        stems = {p.stem for p in paths}
        unlabelled = len(stems - set(labels))
        absent = len(set(labels) - stems)
        if unlabelled:
            self.stderr.write(f"{unlabelled} photo(s) have no label: their dx column stays empty")
        if absent:
            self.stderr.write(f"{absent} labelled image(s) are not among the photos given")

    @staticmethod
    def _recorder():
        from Dermal.services import record_analysis  # only with --record: the history's models and database

        def record(outcome, label):
            if outcome.result is not None:
                job = outcome.job
                record_analysis(outcome.result, outcome.sha256, age=job.age and round(float(job.age)),
                                sex=job.sex, site=job.site)
        return record

    def _finish(self, rows, speed, csv_path):
        failed = [r for r in rows if r["error"]]
        self.stderr.write(f"{len(rows) - len(failed)} of {len(rows)} photo(s) succeeded ({speed})"
                          + (f"; table in {csv_path}" if csv_path else ""))
        if failed:
            listed = "; ".join(f"{r['path']}: {r['error']}" for r in failed[:5])
            raise CommandError(f"{len(failed)} photo(s) could not be analysed: {listed}"
                               + (" ..." if len(failed) > 5 else ""))
