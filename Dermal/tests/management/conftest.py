"""The commands as a user runs them: `python manage.py ...` in a process of its own, exit status and all."""
import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.once import built_once

ROOT = Path(__file__).resolve().parents[3]
FINISHED = "command.json"  # heldout_evaluation's command: its status and output, for every worker


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
def heldout_evaluation(heldout_dir, tmp_path_factory, worker_id):
    """`manage.py evaluate` on derm_heldout, single pass, run once a session: (the finished command, its output
    folder). Read it; never write into it (other tests, on other workers, read it too)."""
    def evaluate(out):
        done = manage("evaluate", heldout_dir, "--out", out, "--no-flip-average", "--workers", 2, "--bootstrap", 500)
        (out / FINISHED).write_text(json.dumps({"args": done.args, "returncode": done.returncode,
                                                 "stdout": done.stdout, "stderr": done.stderr}))

    out = built_once(tmp_path_factory, worker_id, "heldout-evaluation", evaluate)
    return subprocess.CompletedProcess(**json.loads((out / FINISHED).read_text())), out
