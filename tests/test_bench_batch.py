"""bench/batch.py: the batch throughput section of docs/BENCHMARKS.md, measured with the real command, here and
through a Dask scheduler on this machine."""
import re
import subprocess
import sys
from pathlib import Path

import pytest

from Dermal.inference.datasets import FIXTURES_DIR

pytestmark = pytest.mark.slow  # bench/batch.py in a process of its own

ROOT = Path(__file__).resolve().parents[1]


def test_batch_section_has_a_row_per_setting_and_replaces_itself_only(tmp_path):
    document, photos = tmp_path / "BENCHMARKS.md", tmp_path / "photos"
    document.write_text("# Benchmarks\n\nthe engine's figures\n")
    photos.mkdir()
    for path in sorted((FIXTURES_DIR / "images").iterdir())[:4]:  # four real photos make every row
        (photos / path.name).symlink_to(path)
    command = [sys.executable, "bench/batch.py", "--images", str(photos), "--markdown", str(document)]
    for cluster in (["--no-cluster"], []):  # the second time with the cluster rows (a scheduler, 1 to 3 workers)
        subprocess.run(command + cluster, check=True, cwd=ROOT, timeout=600, capture_output=True)
    text = document.read_text()
    assert text.startswith("# Benchmarks\n\nthe engine's figures\n") and text.count("<!-- batch-view") == 1
    rows = re.findall(r"^\| (\d+)( \(its own choice\))? \| (on|off) \| 4 \| ([\d.]+) \|", text, re.M)
    assert [(workers, bool(own), gradcam) for workers, own, gradcam, _ in rows][:2] == [("1", False, "off"),
                                                                                      ("2", False, "off")]
    assert len(rows) == 4 and all(float(rate) > 0 for *_, rate in rows)
    assert re.search(r"peak per worker \|\n\|.*\n\| 1 \| off \| 4 \| [\d.]+ \| [\d.]+ \| \d+ s \| \d+ MB \|", text)
    assert "With no --workers the command said: `using " in text
    clustered = re.findall(r"^\| (1|2|3, one killed holding [1-9]\d* photo\(s\)) \| 4 \| ([\d.]+) \| .* \| (\d+) MB \| "
                           r"(n/a|[+-]\d+ ms) \| same, 4 rows \|$", text, re.M)
    assert [workers[0] for workers, *_ in clustered] == ["1", "2", "3"], text
