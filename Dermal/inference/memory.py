"""Memory reporting for this process and for a whole service (a Gunicorn master and its workers).

psutil is imported on first use: it costs 40 ms of CPU, 0.4 s of a cold start at Render free's 0.1 CPU, and only
/memory/ and the tools need it."""
import os

MB = 1024 * 1024


def budget_mb():
    return float(os.environ.get("MEMORY_BUDGET_MB", 512))


def peak_rss_mb():
    """This process's high-water mark (VmHWM), which catches spikes between samples."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def process_memory():
    """RSS, VMS, percent of the machine and peak RSS of this process, in MB."""
    import psutil

    process = psutil.Process()
    info = process.memory_info()
    return {
        "rss_mb": round(info.rss / MB, 1),
        "vms_mb": round(info.vms / MB, 1),
        "percent": round(process.memory_percent(), 2),
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }


def service_memory(root_pid):
    """Summed RSS and PSS (MB) of a process and all its descendants, e.g. Gunicorn master + workers."""
    import psutil

    root = psutil.Process(root_pid)
    rss = pss = 0
    for process in [root, *root.children(recursive=True)]:
        try:
            full = process.memory_full_info()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        rss += full.rss
        pss += getattr(full, "pss", full.rss)
    return {"rss_mb": round(rss / MB, 1), "pss_mb": round(pss / MB, 1)}
