#!/usr/bin/env python
"""The history's size on PostgreSQL per 10,000 analyses: rows written as the service writes them
(services.record_analysis of real analyses), measured as the table with its TOAST and indexes
(pg_total_relation_size), after VACUUM as autovacuum would leave it.

    DATABASE_URL=postgres://dermai:dermai@127.0.0.1:5432/dermai .venv/bin/python bench/history.py
    DATABASE_URL=postgres://... .venv/bin/python bench/history.py --rows 2000    # quicker, same figure

The rows go to a scratch database made beside DATABASE_URL's (dermai_bench_history, by Django's test database
machinery) and dropped after: the deployment's own history is never touched. Their answers are the real analyses
(flip averaging as DERMAI_FLIP_AVERAGE says) of the committed photos (tests/data) as they are, the same spoiled as
phone photos are (quality warnings) and the images trust/photos.py draws that are no lesion (scope reasons),
cycled through, each row with its own SHA-256 and the photo's age, sex and site.
"""
import argparse
import hashlib
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dermai.settings")
os.environ.setdefault("DEBUG", "true")  # the development settings: a measurement needs no SECRET_KEY

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402

from bench.report import command_line, machine, table  # noqa: E402
from Dermal.AI_detection import predict_skin_simple  # noqa: E402
from Dermal.inference.datasets import FIXTURES_DIR, load_labelled  # noqa: E402
from Dermal.models import Analysis  # noqa: E402
from Dermal.services import record_analysis  # noqa: E402
from trust.photos import SPOILS, generated_photos, spoiled_photo  # noqa: E402

SCRATCH_DATABASE = "dermai_bench_history"
PER = 10_000


def answers():
    """[(PredictionResult, age, sex, site)] of every photo of the mix described above."""
    items = load_labelled(FIXTURES_DIR)
    warned = [name for name, (code, _) in SPOILS.items() if code]
    photos = [(item.read(), item) for item in items]
    photos += [(spoiled_photo(item, warned[i % len(warned)]), item) for i, item in enumerate(items)]
    photos += [(photo.jpeg, None) for photo in generated_photos()]
    found = []
    for data, item in photos:
        age, sex, site = (item.age and int(item.age), item.sex, item.site) if item else (None, None, None)
        found.append((predict_skin_simple(data, age=age, sex=sex, site=site, gradcam=False), age, sex, site))
    return found


def write_rows(count, mix):
    """`count` history rows, one committed INSERT each as the service does, cycling through `mix`."""
    for number in range(count):
        result, age, sex, site = mix[number % len(mix)]
        row = record_analysis(result, hashlib.sha256(b"%d" % number).hexdigest(), age=age, sex=sex, site=site)
        if row is None:
            raise SystemExit("a history row could not be written: see the log above")


def sizes():
    """{total, table, indexes} bytes of the history table (table: heap + TOAST + their maps)."""
    name = Analysis._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM ANALYZE {connection.ops.quote_name(name)}")
        cursor.execute("SELECT pg_total_relation_size(%s::regclass), pg_table_size(%s::regclass), "
                       "pg_indexes_size(%s::regclass)", [connection.ops.quote_name(name)] * 3)
        return dict(zip(("total", "table", "indexes"), cursor.fetchone()))


def report(rows, mix, empty, full):
    grown = {key: full[key] - empty[key] for key in full}
    reasons = sum(bool(result.scope_reasons) for result, *_ in mix)
    warned = sum(bool(result.warnings) for result, *_ in mix)
    return "\n".join([
        "## The history's size on PostgreSQL", "",
        f"Measured on {machine()}, PostgreSQL {connection.pg_version // 10000} (DATABASE_URL's server), by:", "",
        "```", command_line(), "```", "",
        f"{rows} rows written by services.record_analysis, cycling through {len(mix)} real analyses "
        f"({warned} with quality warnings, {reasons} not a lesion with scope reasons); sizes after VACUUM.", "",
        *table(["", f"per {PER:,} analyses", "per analysis"],
               [[part, f"{grown[part] * PER / rows / 2**20:.2f} MB", f"{grown[part] / rows:.0f} bytes"]
                for part in ("total", "table", "indexes")]), ""])


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=PER, help="rows to write (default %(default)s)")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if connection.vendor != "postgresql":
        raise SystemExit("bench/history.py measures PostgreSQL: set DATABASE_URL=postgres://...")
    mix = answers()
    connection.settings_dict["TEST"]["NAME"] = SCRATCH_DATABASE
    settings.DERMAI_HISTORY_DAYS = 0  # a fresh table has nothing to prune: no pruning thread beside the writes
    deployment_database = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        empty = sizes()
        write_rows(args.rows, mix)
        print(report(args.rows, mix, empty, sizes()))
    finally:
        connection.creation.destroy_test_db(deployment_database, verbosity=0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
