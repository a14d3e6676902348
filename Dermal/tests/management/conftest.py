"""The commands as a user runs them: `python manage.py ...` in a process of its own, exit status and all."""
import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


def command(*args):
    """The argv of `python manage.py *args`."""
    return [sys.executable, str(ROOT / "manage.py"), *map(str, args)]


def environment(**extra):
    return {**os.environ, "DEBUG": "true", "DATABASE_URL": "", **extra}


def manage(*args, timeout=600, **env):
    """Run a command to its end: the CompletedProcess (returncode, stdout, stderr as text)."""
    return subprocess.run(command(*args), cwd=ROOT, env=environment(**env), capture_output=True, text=True,
                          timeout=timeout)


def read_csv(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def read_csv_text(text):
    return list(csv.DictReader(io.StringIO(text)))


@pytest.fixture
def heldout_evaluation(heldout_dir, tmp_path):
    """`manage.py evaluate` on derm_heldout, single pass: (the finished command, its output folder)."""
    return manage("evaluate", heldout_dir, "--out", tmp_path, "--no-flip-average", "--workers", 2,
                  "--bootstrap", 500), tmp_path
