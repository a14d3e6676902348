"""A Dask cluster on this machine, started as an operator starts one: `dask scheduler` and each `dask worker` a
process of its own, on 127.0.0.1 only (for the cluster tests and bench/batch.py)."""
import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DASK = Path(sys.executable).with_name("dask")
STARTUP_S = 120  # two cores shared with other work: a worker's start takes seconds, rarely more than 20


def _environment(extra):
    """What the README gives a worker: the checkout on PYTHONPATH, the settings module, one thread per process."""
    return {**os.environ, "PYTHONPATH": str(ROOT), "DJANGO_SETTINGS_MODULE": "dermai.settings", **extra}


class LocalCluster:
    """A scheduler process and worker processes; `address` once started."""

    def __init__(self, folder):
        self.folder = Path(folder)
        self.scheduler_file = self.folder / "scheduler.json"
        self.processes, self.address = [], None

    def _start(self, argv, log, env):
        with open(self.folder / log, "ab") as out:
            process = subprocess.Popen([str(DASK), *argv], cwd=ROOT, env=_environment(env), stdout=out,
                                       stderr=subprocess.STDOUT, start_new_session=True)
        self.processes.append(process)
        return process

    def start_scheduler(self):
        process = self._start(["scheduler", "--host", "127.0.0.1", "--port", "0", "--dashboard-address", ":0",
                               "--no-show", "--scheduler-file", str(self.scheduler_file)], "scheduler.log", {})
        self._until(self.scheduler_file.exists, process, "the scheduler to write its file")
        with self._client() as client:
            self.address = client.scheduler.address
        return self.address

    def start_worker(self, name, nanny=True, **env):
        """One `dask worker` process (with its nanny unless nanny=False) running one single-threaded worker."""
        argv = ["worker", "--scheduler-file", str(self.scheduler_file), "--nworkers", "1", "--nthreads", "1",
                "--host", "127.0.0.1", "--dashboard-address", ":0", "--name", name,
                "--local-directory", str(self.folder / name), *([] if nanny else ["--no-nanny"])]
        return self._start(argv, f"{name}.log", env)

    def wait_for_workers(self, count):
        with self._client() as client:
            client.wait_for_workers(count, timeout=STARTUP_S)

    def worker_pids(self):
        """{worker name: pid of the process that runs its tasks}."""
        with self._client() as client:
            names = {address: info["name"] for address, info in client.scheduler_info(n_workers=-1)["workers"].items()}
            return {names[address]: pid for address, pid in client.run(os.getpid).items()}

    def wait_until_busy(self, name):
        """Wait until the worker `name` holds tasks (sent to it, running or queued there); returns how many."""
        with self._client() as client:
            address = next(a for a, w in client.scheduler_info(n_workers=-1)["workers"].items() if w["name"] == name)
            deadline = time.monotonic() + STARTUP_S
            while not client.processing([address])[address] and time.monotonic() < deadline:
                time.sleep(0.01)
            return len(client.processing([address])[address])

    def _client(self):
        from distributed import Client

        return Client(scheduler_file=str(self.scheduler_file), timeout=STARTUP_S, set_as_default=False)

    def _until(self, condition, process, what):
        deadline = time.monotonic() + STARTUP_S
        while not condition():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"waiting for {what}: {self.logs()}")
            time.sleep(0.05)

    def stop(self, process):
        """End a process and everything it started (a nanny's worker), at once."""
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(30)

    def logs(self):
        return "\n".join(f"== {log.name}\n{log.read_text()[-3000:]}" for log in sorted(self.folder.glob("*.log")))


@contextmanager
def local_cluster(folder, workers):
    """A scheduler and `workers` worker processes (named w1, w2, ...), all running; stopped on leaving."""
    cluster = LocalCluster(folder)
    try:
        cluster.start_scheduler()
        for number in range(1, workers + 1):
            cluster.start_worker(f"w{number}")
        cluster.wait_for_workers(workers)
        yield cluster
    finally:
        for process in reversed(cluster.processes):
            cluster.stop(process)
