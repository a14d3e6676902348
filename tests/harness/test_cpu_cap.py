"""harness.cpu_cap: a process started through the cap gets about its share of a CPU; where the machine cannot
cap, it says why."""
import subprocess
import sys
import time

import psutil
import pytest

from harness.cpu_cap import CapUnavailable, CpuCap, unavailable

CAP = 0.1


def cpu_share(pid, seconds):
    """CPU seconds the process used per second of wall time, over `seconds`."""
    process = psutil.Process(pid)
    cpu, wall = sum(process.cpu_times()[:2]), time.monotonic()
    time.sleep(seconds)
    return (sum(process.cpu_times()[:2]) - cpu) / (time.monotonic() - wall)


@pytest.mark.slow  # a busy child process
def test_a_busy_process_in_the_cap_gets_about_its_share_and_the_cgroup_goes_afterwards():
    if reason := unavailable(CAP):
        pytest.skip(f"this machine cannot cap the CPU: {reason}")
    with CpuCap(CAP) as cap:
        busy = subprocess.Popen(cap.command([sys.executable, "-c", "while True: pass"]))
        try:
            time.sleep(0.3)  # past the interpreter's start
            share = cpu_share(busy.pid, 2.0)
            throttling = cap.throttling()
        finally:
            busy.kill()
            busy.wait()
    assert share < 2 * CAP  # uncapped it would take a whole CPU
    assert throttling["throttled_periods"] > 0
    assert not cap.path.exists()


def test_the_command_enters_the_cgroup_as_the_same_process_before_it_runs(tmp_path):
    (tmp_path / "cpu.cfs_quota_us").write_text("-1")  # looks like cgroup v1's cpu controller
    cap = CpuCap(CAP, v1_root=tmp_path)
    cap.path.mkdir()
    done = subprocess.run(cap.command(["sh", "-c", 'echo $$; cat "$0"', str(cap.path / "cgroup.procs")]),
                          capture_output=True, text=True, check=True)
    pid, written = done.stdout.split()
    assert pid == written  # exec: the pid in cgroup.procs is the command's own, from its first instruction
    assert cap.quota_us == 10_000 and cap.describe() == "cgroup v1 cpu quota 10000 us per 100000 us"


def test_without_a_cpu_controller_it_says_why(tmp_path):
    with pytest.raises(CapUnavailable, match="no cgroup cpu controller"):
        CpuCap(CAP, v1_root=tmp_path / "cpu", v2_root=tmp_path)
    (tmp_path / "cgroup.controllers").write_text("memory pids\n")  # cgroup v2 without cpu delegated
    with pytest.raises(CapUnavailable, match="no cgroup cpu controller"):
        CpuCap(CAP, v1_root=tmp_path / "cpu", v2_root=tmp_path)


def test_a_cap_must_be_above_zero():
    with pytest.raises(ValueError):
        CpuCap(0)

