"""bench/history.py: the history's size per 10,000 analyses on PostgreSQL, measured in a scratch database that is
dropped after."""
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from Dermal.tests.web.test_history_retention import POSTGRESQL_ONLY

pytestmark = pytest.mark.slow  # bench/history.py in a process of its own, analysing 50 photos

ROOT = Path(__file__).resolve().parents[1]


def test_it_reports_the_size_per_ten_thousand_and_leaves_no_database_behind(db):
    if connection.vendor != "postgresql":
        pytest.skip(POSTGRESQL_ONLY)
    done = subprocess.run([sys.executable, "bench/history.py", "--rows", "500"], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)  # on DATABASE_URL's server, as the test database
    assert done.returncode == 0, done.stderr[-3000:]
    assert "500 rows written by services.record_analysis, cycling through 50 real analyses" in done.stdout
    parts = {part: (float(mb), int(per_row)) for part, mb, per_row in
             re.findall(r"^\| (total|table|indexes) \| ([\d.]+) MB \| (\d+) bytes \|$", done.stdout, re.M)}
    assert set(parts) == {"total", "table", "indexes"}, done.stdout
    assert 300 < parts["total"][1] < 5000  # a row of probabilities, verdicts and a hash: hundreds of bytes
    assert parts["total"][0] == pytest.approx(parts["table"][0] + parts["indexes"][0], abs=0.02)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_database WHERE datname = 'dermai_bench_history'")
        assert cursor.fetchone() == (0,)
