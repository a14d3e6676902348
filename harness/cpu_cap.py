"""A CPU cap for the service, as Render's free tier gives it 0.1 CPU: a cgroup whose CFS quota lets its processes
run `cpus` CPU-seconds per second of wall time, made for the block of a `with` and removed afterwards.

cgroup v1's cpu controller (/sys/fs/cgroup/cpu: cpu.cfs_period_us, cpu.cfs_quota_us) or cgroup v2's cpu.max,
whichever the machine has. A command enters the cgroup through `command(argv)`: a shell writes its own pid into
cgroup.procs and then execs the command in that same process, so Gunicorn is capped before it imports anything
and its worker, forked from it, inherits the cap. Making a cgroup needs root and a writable cgroup file system:
where the machine does not allow it, CapUnavailable says why.
"""
import errno
import os
import secrets
import time
from pathlib import Path

from harness import ProofError

PERIOD_US = 100_000
V1_ROOT = Path("/sys/fs/cgroup/cpu")
V2_ROOT = Path("/sys/fs/cgroup")
# $0 is cgroup.procs, "$@" the command: the pid written is the shell's, which exec hands to the command.
ENTER = 'echo $$ > "$0" && exec "$@"'


class CapUnavailable(ProofError):
    """This machine cannot cap a process's CPU (no cpu controller, not root, a read-only cgroup file system)."""


def find_controller(v1_root=V1_ROOT, v2_root=V2_ROOT):
    """(cgroup version, the folder a capped cgroup is made in); CapUnavailable without a cpu controller."""
    if (v1_root / "cpu.cfs_quota_us").is_file():
        return 1, v1_root
    controllers = v2_root / "cgroup.controllers"
    if controllers.is_file() and "cpu" in controllers.read_text().split():
        return 2, v2_root
    raise CapUnavailable(f"no cgroup cpu controller here (neither {v1_root}/cpu.cfs_quota_us nor a v2 'cpu' "
                         f"in {controllers})")


class CpuCap:
    """A cgroup allowing `cpus` CPUs (0.1: 10 ms of every 100 ms period), for the block of a `with`."""

    def __init__(self, cpus, v1_root=V1_ROOT, v2_root=V2_ROOT):
        if cpus <= 0:
            raise ValueError(f"a CPU cap must be above 0, not {cpus}")
        self.cpus, self.quota_us = cpus, max(1000, round(cpus * PERIOD_US))  # the kernel's smallest quota: 1 ms
        self.version, self.parent = find_controller(v1_root, v2_root)
        self.path = self.parent / f"dermai-cap-{os.getpid()}-{secrets.token_hex(3)}"

    def describe(self):
        return f"cgroup v{self.version} cpu quota {self.quota_us} us per {PERIOD_US} us"

    def __enter__(self):
        try:
            if self.version == 2:  # a v2 child gets the cpu files only once its parent delegates the controller
                control = self.parent / "cgroup.subtree_control"
                if "cpu" not in control.read_text().split():
                    control.write_text("+cpu")
            self.path.mkdir()
            if self.version == 1:
                (self.path / "cpu.cfs_period_us").write_text(str(PERIOD_US))
                (self.path / "cpu.cfs_quota_us").write_text(str(self.quota_us))
            else:
                (self.path / "cpu.max").write_text(f"{self.quota_us} {PERIOD_US}")
        except OSError as exc:
            self.remove()
            raise CapUnavailable(f"cannot make a capped cgroup at {self.path}: {exc.strerror or exc}") from exc
        return self

    def __exit__(self, *exc):
        self.remove()
        return False

    def command(self, argv):
        """argv run inside the cap, from its very first instruction (same pid: exec)."""
        return ["/bin/sh", "-c", ENTER, str(self.path / "cgroup.procs"), *argv]

    def throttling(self):
        """{periods, throttled_periods, throttled_s} so far: how often the quota actually held the processes back."""
        stat = dict(line.split() for line in (self.path / "cpu.stat").read_text().splitlines() if " " in line)
        throttled_s = int(stat["throttled_time"]) / 1e9 if self.version == 1 else int(stat["throttled_usec"]) / 1e6
        return {"periods": int(stat["nr_periods"]), "throttled_periods": int(stat["nr_throttled"]),
                "throttled_s": round(throttled_s, 1)}

    def remove(self, attempts=50):
        """The cgroup removed; processes still in it (stragglers of a killed group) go back to the parent first."""
        for _ in range(attempts):
            try:
                self.path.rmdir()
                return
            except FileNotFoundError:
                return
            except OSError as exc:
                if exc.errno != errno.EBUSY:
                    raise
            for pid in (self.path / "cgroup.procs").read_text().split():
                try:
                    (self.parent / "cgroup.procs").write_text(pid)
                except OSError:  # gone meanwhile
                    pass
            time.sleep(0.1)
        raise CapUnavailable(f"could not remove {self.path}: processes are still in it")


def unavailable(cpus):
    """Why this machine cannot cap processes at `cpus` CPUs, or None when it can (a cgroup made and removed)."""
    try:
        with CpuCap(cpus):
            return None
    except CapUnavailable as exc:
        return str(exc)
