"""`manage.py evaluate FOLDER`: how good is DermAI on these labelled photos? An HTML report and its JSON."""
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from Dermal.inference.bundle import BundleError
from Dermal.measure import report, runs, thumbnails
from Dermal.measure.folder import measure_folder
from Dermal.measure.labels import LabelError


class Command(BaseCommand):
    help = ("Evaluate the serving model on a labelled folder (labels.csv with image_id,dx + images/<id>.jpg, or "
            "--labels): writes OUT/report.html (self-contained) and OUT/report.json, with the analyses in "
            "OUT/analyses.csv (an interrupted run resumes from it).")

    def add_arguments(self, parser):
        parser.add_argument("folder", type=Path, help="the labelled folder")
        parser.add_argument("--labels", type=Path, help="labels CSV (default FOLDER/labels.csv)")
        parser.add_argument("--out", type=Path, help="report folder (default: evaluation-<folder name>)")
        parser.add_argument("--name", help="the population's name in the report (default: the folder's name)")
        parser.add_argument("--bootstrap", type=int, default=2000, help="bootstrap resamples (default 2000)")
        runs.add_run_arguments(parser)

    def handle(self, *args, **options):
        folder = options["folder"]
        out = options["out"] or Path(f"evaluation-{folder.resolve().name}")
        try:
            figures, context, jobs = measure_folder(
                folder, out, labels=options["labels"], flip_average=options["flip_average"],
                workers=options["workers"], rounds=options["bootstrap"], name=options["name"], say=self.stderr.write)
        except (BundleError, LabelError, ValueError) as exc:
            raise CommandError(exc) from exc
        except KeyboardInterrupt:
            raise CommandError(f"interrupted: the finished analyses are kept in {out / 'analyses.csv.partial'}; "
                               "the same command again resumes") from None
        figures["most_wrong"] = thumbnails.with_thumbnails(figures["most_wrong"], jobs, figures["flip_average"])
        paths = report.write(out, figures, context)
        self.stdout.write(report.headline(figures))
        self.stdout.write(f"wrote {paths[0]} and {paths[1]}")
        if figures["failed"]:
            raise CommandError(f"{len(figures['failed'])} photo(s) could not be analysed (listed in the report)")
