"""What the three commands share: the serving bundle's classes, the jobs of labelled photos, the worker count."""
import argparse
import datetime
import shlex
import sys

from Dermal.inference.bundle import check_bundle, class_infos
from Dermal.inference.switches import flip_average_enabled

from .batch import Job, default_workers


def serving_classes():
    """(manifest, precision, [ClassInfo]) of the serving bundle, checked but not loaded (raises BundleError)."""
    manifest, precision, _ = check_bundle()
    return manifest, precision, class_infos(manifest)


def job_of(path, label):
    return Job(path, label.age, label.sex, label.site) if label else Job(path)


def add_run_arguments(parser):
    parser.add_argument("--flip-average", action=argparse.BooleanOptionalAction, default=flip_average_enabled(),
                        help="average each photo with its mirror images (~3x the time; default: DERMAI_FLIP_AVERAGE, "
                        "on unless set otherwise, as the web app)")
    parser.add_argument("--workers", type=int, help="worker processes (default: what memory and cores allow)")


def workers(requested, say):
    """The worker count: `requested`, or the default for this machine, announced through `say`."""
    if requested is not None:
        return max(1, requested)
    count, why = default_workers()
    say(f"using {why}")
    return count


def provenance():
    """When and by what command, for a report."""
    return {"generated": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "command": shlex.join(["python", "manage.py", *sys.argv[1:]] if "manage.py" in sys.argv[0]
                                  else sys.argv)}
