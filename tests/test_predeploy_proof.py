"""test_before_deploy.py, the command: its help, then real end-to-end runs (its pieces: tests/harness/)."""
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

import test_before_deploy as proof
from harness.cpu_cap import unavailable

pytestmark = pytest.mark.slow  # real Gunicorn

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "test_before_deploy.py"


def test_help_states_the_decision_matrix():
    text = proof.parser().format_help()
    for phrase in ("deploy and watch", "do not deploy", ">= 20%", "--engine", "--budget", "--json", "--images"):
        assert phrase in text


def test_a_capped_run_defaults_to_few_uploads_and_gunicorns_timeout(monkeypatch):
    monkeypatch.setattr(proof, "unavailable", lambda cpus: None)
    args = proof.with_defaults(proof.parser().parse_args(["--cpus", "0.1"]))
    assert (args.cpus, args.uploads, args.burst, args.cap_skipped) == (0.1, 3, 2, None)
    timeout = proof.gunicorn_settings(proof.local_argv(proof.start_command(), 0))["timeout"]
    assert args.start_timeout == args.request_timeout == timeout == 300  # render.yaml's --timeout
    args = proof.with_defaults(proof.parser().parse_args(["--cpus", "0.1", "--uploads", "5"]))
    assert args.uploads == 5
    uncapped = proof.with_defaults(proof.parser().parse_args([]))
    assert (uncapped.cpus, uncapped.uploads, uncapped.burst, uncapped.start_timeout, uncapped.request_timeout) == \
        (None, 20, 4, 90, 120)


def test_where_the_cpu_cannot_be_capped_the_proof_says_so_and_runs_uncapped(monkeypatch, capsys):
    monkeypatch.setattr(proof, "unavailable", lambda cpus: "no cgroup cpu controller here")
    args = proof.with_defaults(proof.parser().parse_args(["--cpus", "0.1"]))
    assert args.cpus is None and args.uploads == 20
    assert args.cap_skipped == {"cpus": 0.1, "skipped": "no cgroup cpu controller here"}
    assert "cannot cap the CPU at 0.1 here (no cgroup cpu controller here)" in capsys.readouterr().err


# --- end to end: the real Gunicorn from render.yaml, real uploads ---------------------------------------------

def run_proof(tmp_path, *args, env_extra=None, timeout=240):
    env = {**os.environ, **(env_extra or {})}
    env.pop("DEBUG", None)  # the proof must apply render.yaml's DEBUG=false itself
    out = tmp_path / "proof.json"
    done = subprocess.run([sys.executable, str(SCRIPT), "--json", str(out), "--server-log", str(tmp_path / "g.log"),
                           *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)
    report = json.loads(out.read_text()) if out.exists() else None
    return done, report


def assert_server_gone(report):
    for row in report.get("processes_at_end", []):
        assert not psutil.pid_exists(row["pid"]) or psutil.Process(row["pid"]).status() == psutil.STATUS_ZOMBIE
    port = int(report["meta"]["local_argv"][report["meta"]["local_argv"].index("--bind") + 1].rsplit(":", 1)[1])
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0


def test_end_to_end_real_server_passes_and_retries_slot_503s(tmp_path):
    # DERMAI_MAX_WAIT=0: nobody waits in the analysis queue, a busy one answers 503 + Retry-After at once, so the
    # burst meets the limiter.
    done, report = run_proof(tmp_path, "--uploads", "4", "--burst", "4", "--markdown", str(tmp_path / "proof.md"),
                             env_extra={"DERMAI_MAX_WAIT": "0"})
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    assert report["verdict"] in ("deploy", "deploy and watch")
    assert "VERDICT: DEPLOY" in done.stdout
    f = report["figures"]
    assert f["model_loaded_at_startup"] is False
    assert 0 < f["startup_rss_mb"] < f["loaded_rss_mb"] <= f["peak_mb"]
    assert f["server_errors"] == 0 and f["failed_uploads"] == 0
    assert f["cpu_per_analysis_ms"] > 50, "two backbone runs cannot cost less"
    assert set(f["statuses"]) <= {"200", "503"} and f["statuses"]["200"] == 1 + 4 + 4
    assert f["slot_503s"] == f["statuses"].get("503", 0) and f["burst_slot_503s"] >= 1  # the limiter was met
    assert f["home_status"] == 200
    assert f["samples"] >= 5
    assert report["meta"]["engine"] == "litert" and report["meta"]["gunicorn"]["workers"] == 1
    assert [r["role"] for r in report["processes_at_startup"]] == ["master", "worker"]
    assert report["meta"]["start_command"] == proof.start_command()
    assert all(c["passed"] for c in report["checks"])
    table = (tmp_path / "proof.md").read_text()
    assert "| peak memory within the budget |" in table and f"**Verdict: {report['verdict']}**" in table
    assert_server_gone(report)


def test_end_to_end_a_failing_budget_fails(tmp_path):
    done, report = run_proof(tmp_path, "--uploads", "2", "--burst", "2", "--budget", "150")
    assert done.returncode == 1
    assert "VERDICT: DO NOT DEPLOY" in done.stdout
    assert report["verdict"] == "do not deploy" and report["exit_code"] == 1
    failed = [c["name"] for c in report["checks"] if not c["passed"]]
    assert failed == ["peak memory within the budget"]
    assert_server_gone(report)


def test_the_largest_photos_the_service_accepts_still_fit(tmp_path):
    """40 MP photos (the pixel limit): the model's figure is the same as with any photos; the peak rises, under
    the budget with a fifth of it to spare."""
    done, report = run_proof(tmp_path, "--largest", "--uploads", "4", "--burst", "2")
    assert done.returncode == 0 and report["verdict"] == "deploy", done.stdout + done.stderr[-3000:]
    photos = report["meta"]["photos"]
    assert photos["count"] == 4 and 39.9 < photos["largest_megapixels"] <= 40.0
    assert report["meta"]["model_photo"]["px"] == [600, 450]
    assert report["figures"]["photos_delta_mb"] > 100  # 40 MP decoded at 3 bytes a pixel
    assert "the model loaded on 600x450 px" in done.stdout and "(40.0 MP)" in done.stdout


def test_at_render_free_cpu_it_reports_boot_first_and_warm_analysis(tmp_path):
    """--cpus 0.1: the same proof with master and worker in a cgroup at 0.1 CPU, and the figures users meet."""
    if reason := unavailable(0.1):
        pytest.skip(f"this machine cannot cap the CPU: {reason}")
    done, report = run_proof(tmp_path, "--cpus", "0.1", "--uploads", "2", "--burst", "1", timeout=600)
    assert done.returncode in (0, 1), done.stdout + done.stderr[-3000:]  # the verdict is the proof's to give
    capped, figures = report["capped"], report["figures"]
    assert capped["cpus"] == 0.1 and capped["cgroup"].endswith("cpu quota 10000 us per 100000 us")
    assert capped["boot_s"] == figures["startup_seconds"] > 0
    assert capped["first_analysis_s"] == figures["first_request_s"] > 0
    assert capped["warm_median_s"] == figures["warm_median_s"] > 0 and capped["warm_uploads"] == 2
    assert capped["flip_average"] == "true"  # render.yaml's
    assert 0 < capped["throttled_periods"] <= capped["periods"]  # the quota held the service back
    assert figures["server_errors"] == 0 and figures["failed_uploads"] == 0 and figures["statuses"]["200"] == 4
    assert report["meta"]["cpus"] == 0.1 and report["meta"]["uploads"] == 2
    assert "At 0.1 CPU (cgroup v" in done.stdout and "warm analysis" in done.stdout
    assert not Path(capped["path"]).exists()  # removed afterwards
    assert_server_gone(report)


def test_proof_that_cannot_run_says_do_not_deploy(tmp_path):
    done, report = run_proof(tmp_path, "--images", str(tmp_path / "none"), timeout=60)
    assert done.returncode == 2
    assert "VERDICT: DO NOT DEPLOY" in done.stdout and "no images found" in done.stderr
    assert report["verdict"] == "do not deploy"


@pytest.mark.skipif(os.environ.get("DERMAI_TEST_KERAS_PROOF") != "1",
                    reason="~1 GB and ~40 s: set DERMAI_TEST_KERAS_PROOF=1 (needs requirements-offline.txt + sklesion)")
def test_end_to_end_keras_engine_does_not_fit(tmp_path):
    done, report = run_proof(tmp_path, "--engine", "keras", "--uploads", "3", "--burst", "2", timeout=400)
    assert done.returncode == 1
    assert report["meta"]["engine"] == "keras" and report["figures"]["peak_mb"] > 512
