"""bench/batch.py: the batch throughput section of docs/BENCHMARKS.md, measured with the real command."""
import re
import subprocess
import sys
from pathlib import Path

from Dermal.inference.datasets import FIXTURES_DIR

ROOT = Path(__file__).resolve().parents[1]


def test_batch_section_has_a_row_per_setting_and_replaces_itself_only(tmp_path):
    document = tmp_path / "BENCHMARKS.md"
    document.write_text("# Benchmarks\n\nthe engine's figures\n")
    command = [sys.executable, "bench/batch.py", "--images", str(FIXTURES_DIR / "images"), "--markdown", str(document)]
    for _ in range(2):
        subprocess.run(command, check=True, cwd=ROOT, timeout=600, capture_output=True)
    text = document.read_text()
    assert text.startswith("# Benchmarks\n\nthe engine's figures\n") and text.count("<!-- batch-view") == 1
    rows = re.findall(r"^\| (\d+)( \(its own choice\))? \| (on|off) \| 16 \| ([\d.]+) \|", text, re.M)
    assert [(workers, bool(own), gradcam) for workers, own, gradcam, _ in rows][:2] == [("1", False, "off"),
                                                                                      ("2", False, "off")]
    assert len(rows) == 4 and all(float(rate) > 0 for *_, rate in rows)
    assert re.search(r"peak per worker \|\n\|.*\n\| 1 \| off \| 16 \| [\d.]+ \| [\d.]+ \| \d+ s \| \d+ MB \|", text)
    assert "With no --workers the command said: `using " in text
