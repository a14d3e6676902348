"""Smoke runs of the endurance commands against the real Gunicorn service (render.yaml's line): every check of
the full runs, at a size the suite can afford. The full runs stay commands, their figures in docs/BENCHMARKS.md.

Soak: 100 uploads with Grad-CAM, --max-requests 50 --max-requests-jitter 0, so that the worker recycles once and
each generation has a drift figure: baseline after 16 uploads, windows of 16 (each holds every photo once). Its
photos are the committed ones at HAM10000's 600x450, alike in cost as derm_eval's, so that a drift is memory
kept, not a large photo's first decode: the committed photos as they are (up to 7 MP) moved windows of 10 by up
to 6 MB. The full run: `python endurance/soak.py`, 1,000 uploads across render.yaml's 500 +- 50. Overload: 8
clients for 15 s (the full run, 60 s: `python endurance/overload.py`). The figures are printed; the targets
asserted.
"""
import pytest

from endurance import overload, soak
from endurance.service import generations
from harness.photos import scaled_photos

pytestmark = pytest.mark.slow  # real Gunicorn, hundreds of uploads


@pytest.fixture
def shown(capsys):
    """Print past pytest's capture, so that CI's log carries the measured figures."""
    def show(text):
        with capsys.disabled():
            print("\n" + text)
    return show


def test_soak_across_a_worker_recycle(shown, tmp_path):
    photos = scaled_photos(tmp_path, 600 * 450, count=16)
    report = soak.soak(soak.parser().parse_args(
        ["--images", str(photos), "--requests", "100", "--max-requests", "50", "--max-requests-jitter", "0",
         "--warmup", "16", "--window", "16"]))
    shown(soak.summary(report))
    assert report["failures"] == []
    assert report["answered_200"] == 100 and not report["server_errors"] and not report["lost"]
    assert report["recycles"] >= 1 and len(report["generations"]) >= 2
    measured = [row for row in report["generations"] if "drift_mb" in row]
    assert len(measured) >= 2, "both worker generations are long enough to measure"
    assert all(row["drift_mb"] < 5 for row in measured)


def test_overload_8_clients_for_15_seconds(shown):
    report = overload.overload(overload.parser().parse_args(["--seconds", "15"]))
    shown(overload.summary(report))
    assert report["failures"] == []
    assert report["ok_200"] > 0 and not report["other"] and not report["connection_errors"]
    assert not report["worker_deaths"] and report["peak_mb"] < 512


def test_drift_is_measured_per_worker_generation():
    """Readings while two workers coexist are left out; a short generation has no drift figure."""
    series = [(done, (1,), 200.0 + (done >= 150)) for done in range(200)]
    series += [(200, (1, 2), 400.0)] + [(done, (2,), 190.0) for done in range(200, 240)]
    first, second = generations(series, warmup=50, window=50)
    assert first["worker_pid"] == 1 and first["baseline_rss_mb"] == 200.0 and first["end_rss_mb"] == 201.0
    assert first["drift_mb"] == 1.0 and first["peak_rss_mb"] == 201.0 and first["trend_mb"] == [200.0, 200.5]
    assert second["worker_pid"] == 2 and second["uploads"] == 39 and "drift_mb" not in second
