"""Smoke runs of the endurance commands against the real Gunicorn service (render.yaml's line): every check of
the full runs, at a size the suite can afford. The full runs stay commands, their figures in docs/BENCHMARKS.md.

Soak: 80 uploads with Grad-CAM, --max-requests 40 --max-requests-jitter 0, so that the worker recycles once and
each generation has a drift figure: its baseline after 16 uploads (every committed photo once), windows of 10
(render.yaml's 500 +- 50: `python endurance/soak.py`, 1,000 uploads). Overload: 8 clients for 15 s (the full
run, 60 s: `python endurance/overload.py`). The figures are printed; the targets asserted.
"""
import pytest

from endurance import overload, soak
from endurance.service import generations

pytestmark = pytest.mark.slow  # real Gunicorn, hundreds of uploads


@pytest.fixture
def shown(capsys):
    """Print past pytest's capture, so that CI's log carries the measured figures."""
    def show(text):
        with capsys.disabled():
            print("\n" + text)
    return show


def test_soak_across_a_worker_recycle(shown):
    report = soak.soak(soak.parser().parse_args(
        ["--requests", "80", "--max-requests", "40", "--max-requests-jitter", "0", "--warmup", "16", "--window", "10"]))
    shown(soak.summary(report))
    assert report["failures"] == []
    assert report["answered_200"] == 80 and not report["server_errors"] and not report["lost"]
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
