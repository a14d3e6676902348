"""Analysing many photos: one engine per worker process, results in input order, a bad photo never stopping
the run.

Workers are started with forkserver (spawn where there is none), never forked from a process that may
already hold a loaded model, so each loads the engine once by itself and holds what a web worker holds.
"""
import dataclasses
import hashlib
import multiprocessing
import os
import resource
import signal
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from Dermal.AI_detection import BundleError, predict_skin_simple

from . import photos

# Peak resident memory of one analysing worker: ~150 MB for the model and a small photo, 240 MB measured on
# derm_heldout, whose largest photo (30 MP) is decoded at 3 bytes a pixel (docs/BENCHMARKS.md, "Batch analysis").
WORKER_PEAK_MB = 240


@dataclass(frozen=True)
class Job:
    path: Path  # or a photos.PhotoURL, read where the photo is analysed
    age: str | None = None
    sex: str | None = None
    site: str | None = None


@dataclass(frozen=True)
class Options:
    flip_average: bool = False
    gradcam_dir: Path | None = None  # write each Grad-CAM overlay there as <photo name>.png


@dataclass
class Outcome:
    job: Job
    result: object | None   # the PredictionResult without its image bytes, or None when the photo failed
    error: str | None
    sha256: str | None
    overlay: Path | None    # the Grad-CAM PNG written, if any
    peak_mb: float          # the worker's peak resident memory so far
    pid: int                # the process that analysed it


def analyse_photo(job, options):
    """One photo in, (Outcome, its Grad-CAM PNG or None) out, the overlay not yet written anywhere; only a broken
    bundle (which no photo can get past) raises."""
    result = error = sha256 = png = None
    try:
        data = photos.read_bytes(job.path)
        sha256 = hashlib.sha256(data).hexdigest()
        result = predict_skin_simple(data, age=job.age, sex=job.sex, site=job.site,
                                     gradcam=options.gradcam_dir is not None, flip_average=options.flip_average)
        png = result.overlay_png
        result = dataclasses.replace(result, overlay_image=None, photo_jpeg=b"")  # what crosses between processes
    except BundleError:
        raise
    except OSError as exc:
        error = f"cannot read the file: {exc.strerror or exc}"
    except Exception as exc:  # noqa: BLE001 - any failure is this photo's, reported in its row
        error = str(exc) or type(exc).__name__
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return Outcome(job, result, error, sha256, None, round(peak, 1), os.getpid()), png


def save_overlay(outcome, png, folder):
    """The Outcome with its overlay written into `folder` as <photo name>.png (unchanged without one)."""
    if png is None or folder is None:
        return outcome
    path = Path(folder) / f"{outcome.job.path.stem}.png"
    path.write_bytes(png)
    return dataclasses.replace(outcome, overlay=path)


def analyse_job(job, options):
    """One photo in, one Outcome out, its overlay written by this process."""
    return save_overlay(*analyse_photo(job, options), options.gradcam_dir)


def _ignore_interrupts():
    """A worker leaves Ctrl-C to the parent, which stops the pool cleanly."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _context():
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")


def run(jobs, options, workers):
    """Outcomes of `jobs`, lazily and in their order. One worker analyses in this process."""
    if workers <= 1:
        yield from (analyse_job(job, options) for job in jobs)
        return
    pool = ProcessPoolExecutor(workers, mp_context=_context(), initializer=_ignore_interrupts)
    try:
        yield from pool.map(partial(analyse_job, options=options), jobs)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def available_memory_mb():
    """Memory this process may still use: MemAvailable, or less when a cgroup (container) limit is tighter."""
    with open("/proc/meminfo") as handle:
        fields = dict(line.split(":", 1) for line in handle)
    available = int(fields["MemAvailable"].split()[0]) / 1024
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        used = int(Path("/sys/fs/cgroup/memory.current").read_text())
        if limit != "max":
            available = min(available, (int(limit) - used) / 2**20)
    except (OSError, ValueError):
        pass  # no cgroup v2 limit visible: the machine's figure stands
    return available


def default_workers():
    """(workers, why): as many as both the cores and the available memory allow at WORKER_PEAK_MB each."""
    cores, memory = os.cpu_count() or 1, available_memory_mb()
    workers = max(1, min(cores, int(memory // WORKER_PEAK_MB)))
    return workers, (f"{workers} worker(s): {cores} core(s), {memory:,.0f} MB available, "
                     f"~{WORKER_PEAK_MB} MB per worker (--workers to choose)")
