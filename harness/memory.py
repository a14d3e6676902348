"""Memory of a whole service (a process and its descendants): RSS/PSS sums sampled in a thread, and VmHWM; and the
CPU time it has used."""
import threading

import psutil

from Dermal.inference.memory import service_memory  # psutil only: no model, no Django


def vm_hwm_mb(pid):
    """A process's peak resident set (VmHWM) in MB, or None if it is gone."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def service_pids(root_pid):
    """The root process and all its descendants (the master first), or [] when it is gone."""
    try:
        root = psutil.Process(root_pid)
        return [root.pid, *(child.pid for child in root.children(recursive=True))]
    except psutil.NoSuchProcess:
        return []


def service_cpu_seconds(root_pid):
    """User + system CPU seconds used so far by the root process and its live descendants."""
    total = 0.0
    for pid in service_pids(root_pid):
        try:
            times = psutil.Process(pid).cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def process_breakdown(root_pid):
    """Each process of the service: pid, role, RSS, PSS and VmHWM in MB (the master first)."""
    rows = []
    for pid in service_pids(root_pid):
        try:
            full = psutil.Process(pid).memory_full_info()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        rows.append({"pid": pid, "role": "master" if pid == root_pid else "worker",
                     "rss_mb": round(full.rss / 2**20, 1), "pss_mb": round(getattr(full, "pss", full.rss) / 2**20, 1),
                     "hwm_mb": round(vm_hwm_mb(pid) or 0, 1)})
    return rows


class ServiceSampler(threading.Thread):
    """Samples the summed RSS/PSS of a process tree at `hz` and the summed VmHWM of its live processes.

    Peaks are kept per phase (set `phase` to switch) and overall; `sample_now()` takes one reading at once.
    """

    def __init__(self, root_pid, hz=20.0):
        super().__init__(name="memory-sampler", daemon=True)
        self.root_pid, self.interval = root_pid, 1.0 / hz
        self.phase = "start-up"
        self.peaks = {}          # phase -> {"rss_mb", "pss_mb", "hwm_sum_mb"}
        self.samples = 0
        self.error = None
        self._stop_event = threading.Event()
        self._lock = threading.Lock()

    def sample_now(self):
        memory = service_memory(self.root_pid)
        hwm = sum(filter(None, (vm_hwm_mb(pid) for pid in service_pids(self.root_pid))))
        reading = {"rss_mb": memory["rss_mb"], "pss_mb": memory["pss_mb"], "hwm_sum_mb": round(hwm, 1)}
        with self._lock:
            self.samples += 1
            peak = self.peaks.setdefault(self.phase, dict(reading))
            for key, value in reading.items():
                peak[key] = max(peak[key], value)
        return reading

    def run(self):
        while not self._stop_event.wait(self.interval):
            try:
                self.sample_now()
            except psutil.NoSuchProcess as exc:
                self.error = f"the server process is gone ({exc})"
                return
            except Exception as exc:  # keep sampling through a transient /proc race
                self.error = repr(exc)

    def stop(self):
        self._stop_event.set()
        self.join(timeout=5)

    def peak(self, key, phases=None):
        with self._lock:
            values = [p[key] for name, p in self.peaks.items() if phases is None or name in phases]
        return max(values) if values else None
