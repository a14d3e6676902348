"""harness.memory: the sampler sums a real process tree's RSS, PSS and VmHWM; the CPU time of a tree."""
import subprocess
import sys
import time

import psutil

from harness.memory import ServiceSampler, process_breakdown, service_cpu_seconds

ALLOCATOR = """
import subprocess, sys, time
block = bytearray(60 * 1024 * 1024)
for i in range(0, len(block), 4096):
    block[i] = 1
if sys.argv[1] == "parent":
    child = subprocess.Popen([sys.executable, "-c", sys.argv[2], "child", sys.argv[2]])
    time.sleep(30)
    child.kill()
else:
    time.sleep(30)
"""


def test_sampler_sums_a_process_and_its_descendants():
    parent = subprocess.Popen([sys.executable, "-c", ALLOCATOR, "parent", ALLOCATOR])
    try:
        sampler = ServiceSampler(parent.pid, hz=20)
        sampler.start()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and (sampler.peak("rss_mb") or 0) < 120:
            time.sleep(0.1)
        sampler.stop()
        assert sampler.peak("rss_mb") >= 120          # 2 x 60 MB, summed
        assert sampler.peak("hwm_sum_mb") >= 120
        assert sampler.peak("pss_mb") >= 110
        assert sampler.samples >= 3
        rows = process_breakdown(parent.pid)
        assert [r["role"] for r in rows] == ["master", "worker"]
    finally:
        for process in psutil.Process(parent.pid).children(recursive=True):
            process.kill()
        parent.kill()
        parent.wait(timeout=10)


BUSY_CHILD = """
import subprocess, sys, time
if sys.argv[1] == "parent":
    child = subprocess.Popen([sys.executable, "-c", sys.argv[2], "child", sys.argv[2]])
    time.sleep(30)
    child.kill()
else:
    end = time.process_time() + 0.5
    while time.process_time() < end:
        pass
    time.sleep(30)
"""


def test_cpu_seconds_count_the_descendants_work():
    parent = subprocess.Popen([sys.executable, "-c", BUSY_CHILD, "parent", BUSY_CHILD])
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and service_cpu_seconds(parent.pid) < 0.5:
            time.sleep(0.1)
        assert service_cpu_seconds(parent.pid) >= 0.5, "the child's busy half second is not counted"
    finally:
        for process in psutil.Process(parent.pid).children(recursive=True):
            process.kill()
        parent.kill()
        parent.wait()
