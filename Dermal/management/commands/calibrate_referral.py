"""`manage.py calibrate_referral FOLDER`: a referral threshold chosen on this population's labelled photos."""
import io
import os
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from Dermal.inference.bundle import BundleError
from Dermal.inference.calibration import MODES, SETTING
from Dermal.measure import calibrate, labels as labelling, runs, table
from Dermal.measure.batch import Options
from Dermal.measure.pipeline import analyse_all


class Command(BaseCommand):
    help = ("Choose the referral threshold (summed malignant probability) reaching a target sensitivity on a "
            "labelled folder, for each mode (single pass, flip averaging), with bootstrap 95% intervals, and "
            f"write it to the override file the web app reads ({SETTING}). Refuses with fewer than "
            f"{calibrate.MIN_MALIGNANT} malignant or {calibrate.MIN_BENIGN} benign photos.")

    def add_arguments(self, parser):
        parser.add_argument("folder", type=Path, help="the labelled folder (labels.csv + images/)")
        parser.add_argument("--labels", type=Path, help="labels CSV (default FOLDER/labels.csv)")
        parser.add_argument("--name", help="the population's name shown on the result page (default: the "
                            "folder's name)")
        parser.add_argument("--target", type=float, default=0.9, help="target sensitivity (default 0.9)")
        parser.add_argument("--out", type=Path, default=os.environ.get(SETTING) or None,
                            help=f"the override file (default: ${SETTING})")
        parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES), help="modes to calibrate")
        parser.add_argument("--bootstrap", type=int, default=2000, help="bootstrap resamples (default 2000)")
        parser.add_argument("--workers", type=int, help="worker processes (default: what memory and cores allow)")

    def handle(self, *args, **options):
        if options["out"] is None:
            raise CommandError(f"say where to write the override: --out FILE, or set {SETTING}")
        if not 0 < options["target"] < 1:
            raise CommandError(f"--target must be a sensitivity between 0 and 1 (got {options['target']})")
        folder = options["folder"]
        try:
            _, precision, class_info = runs.serving_classes()
            found = labelling.labelled_photos(folder, [c.code for c in class_info], options["labels"])
            malignant = {c.code for c in class_info if c.malignant}
            calibrate.check_counts([label.dx in malignant for _, label in found])
        except (BundleError, labelling.LabelError, calibrate.TooFewCases) as exc:
            raise CommandError(exc) from exc
        items = [(runs.job_of(path, label), label) for path, label in found]
        workers = runs.workers(options["workers"], self.stderr.write)
        name = options["name"] or folder.resolve().name
        columns = table.fields([c.code for c in class_info])
        entries = {mode: self._calibrated(items, mode, workers, columns, malignant, name, precision, options)
                   for mode in options["modes"]}
        calibrate.write_override(options["out"], entries)
        self.stdout.write(f"wrote {options['out']}; the web app uses it when {SETTING}={options['out']}")

    def _calibrated(self, items, mode, workers, columns, malignant, name, precision, options):
        run = Options(flip_average=mode == "flip_average")
        rows, _ = analyse_all(items, table.StreamTable(columns, io.StringIO()), run, workers)
        failed = [r for r in rows if r["error"]]
        if failed:
            self.stderr.write(f"{len(failed)} photo(s) could not be analysed and are left out: "
                              + "; ".join(f"{r['path']}: {r['error']}" for r in failed[:5]))
        rows = [r for r in rows if not r["error"]]
        try:
            entry = calibrate.calibrate([float(r["malignant_probability"]) for r in rows],
                                        [r["dx"] in malignant for r in rows], target=options["target"],
                                        source=name, precision=precision, rounds=options["bootstrap"])
        except calibrate.TooFewCases as exc:
            raise CommandError(exc) from exc
        self.stdout.write(f"{mode}: threshold {entry['threshold']:.4f}; sensitivity {entry['sensitivity']:.3f} "
                          f"[{entry['sensitivity_ci'][0]:.2f}, {entry['sensitivity_ci'][1]:.2f}] on "
                          f"{entry['positives']} malignant, specificity {entry['specificity']:.3f} "
                          f"[{entry['specificity_ci'][0]:.2f}, {entry['specificity_ci'][1]:.2f}] on "
                          f"{entry['negatives']} benign")
        return entry
