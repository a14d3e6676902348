"""The commands as a user runs them: `python manage.py ...` in a process of its own, exit status and all."""
import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from Dermal.inference.datasets import HELDOUT_DIR

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


@pytest.fixture(scope="session")
def heldout_dir():
    if not (HELDOUT_DIR / "images").is_dir():
        pytest.skip(f"{HELDOUT_DIR} is absent: the held-out runs need DERMAI_DATA_ROOT (../shared)")
    return HELDOUT_DIR


@pytest.fixture(scope="session")
def heldout_evaluation(heldout_dir, tmp_path_factory):
    """`manage.py evaluate` on derm_heldout, single pass: (the finished command, its output folder)."""
    out = tmp_path_factory.mktemp("heldout")
    return manage("evaluate", heldout_dir, "--out", out, "--no-flip-average", "--workers", 2, "--bootstrap", 500), out
