"""`manage.py analyse --scheduler ADDRESS`: the photos analysed by the workers of a running Dask cluster.

Dask does the distributing: one task per photo (client.map), results taken as they finish (as_completed), the
tasks of a worker that dies rescheduled on the others by the scheduler. A task is pure (a photo's path and the
run's options in, its Outcome and overlay PNG out, nothing written on the worker), so running it again on another
worker changes nothing, and the pipeline keys each answer by its photo's path, so none is written twice.

Where things happen:
- the photos are read by the workers (a shared file system, or object storage through fsspec by URL);
- each worker process loads the model once (ServingModel, a WorkerPlugin: for the workers there now and for
  those that join later), after getting this command's engine settings (Dask's Environ nanny plugin);
- overlays come back as PNG bytes and are written into --gradcam DIR on this machine; --record writes into this
  process's DATABASE_URL, as locally.
"""
import contextlib
import dataclasses
import hashlib
import json
import os
from functools import partial
from pathlib import Path

from distributed import Client, KilledWorker, WorkerPlugin, as_completed, get_worker
from distributed.diagnostics.plugin import Environ

from Dermal.inference.bundle import BundleError, checked_bundle

from . import batch

# The scheduler should answer at once; an address that does not should fail the command as quickly.
CONNECT_TIMEOUT_S = 5
# The settings of how the inference layer analyses a photo: the workers get this command's, so that they answer
# as this machine would. Where the bundle is (DERMAL_BUNDLE_DIR, DERMAL_KERAS_MODEL) is each machine's own: that
# it is the same model is checked (ServingModel). DERMAI_REFERRAL_OVERRIDE must name the same file on the workers.
ENGINE_SETTINGS = ("DERMAL_ENGINE", "DERMAL_PRECISION", "DERMAL_THREADS", "DERMAI_MAX_PIXELS",
                   "DERMAI_DISPLAY_MAX_SIDE", "DERMAI_REFERRAL_OVERRIDE")


class ClusterError(RuntimeError):
    """The cluster cannot run the analysis: unreachable, or its workers cannot run DermAI."""


def engine_environ():
    """This process's engine settings (run on each worker too, to compare)."""
    return {name: os.environ[name] for name in ENGINE_SETTINGS if name in os.environ}


def bundle_digest():
    """The serving bundle's precision and manifest digest (the manifest holds every file's SHA-256): the same on
    two machines, they give the same probabilities."""
    manifest, precision, _ = checked_bundle()
    return f"{precision} {hashlib.sha256(json.dumps(manifest, sort_keys=True).encode()).hexdigest()[:12]}"


def _named(worker, exc):
    return BundleError(f"worker {worker.name} ({worker.address}): {exc}")


class ServingModel(WorkerPlugin):
    """Loads the serving model in each worker process once, and refuses a worker whose bundle is missing a file
    or is not this command's (a checkout at another commit)."""

    name = "dermai-serving-model"

    def __init__(self, digest):
        self.digest = digest

    def setup(self, worker):
        from Dermal.inference.engines import get_engine  # the worker's own import: LiteRT, never TensorFlow

        try:
            theirs = bundle_digest()
            if theirs != self.digest:
                raise BundleError(f"its bundle is {theirs}, this command's is {self.digest}: run the "
                                  "workers on the same commit as the command")
            get_engine()
        except BundleError as exc:
            raise _named(worker, exc) from exc


def analyse_remotely(job, options):
    """One photo on a worker: (Outcome, overlay PNG or None), to be written by the client."""
    try:
        return batch.analyse_photo(job, options)
    except BundleError as exc:
        raise _named(get_worker(), exc) from exc


def connect(address):
    try:
        return Client(address, timeout=CONNECT_TIMEOUT_S, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ClusterError(f"cannot reach the Dask scheduler at {address}: {reason}") from exc


class EngineEnviron(Environ):
    """Dask's Environ nanny plugin (restarting each worker with these settings, and reaching later workers),
    replacing the engine settings an earlier command gave rather than adding to them."""

    async def setup(self, nanny):
        for name in ENGINE_SETTINGS:
            nanny.env.pop(name, None)
        await super().setup(nanny)


def _differing(client, wanted):
    """{worker address: its engine settings} of the workers whose settings are not `wanted`."""
    return {address: theirs for address, theirs in client.run(engine_environ).items() if theirs != wanted}


def _give_environ(client, say):
    """Give the workers this command's engine settings where theirs differ; one that keeps others (set where it
    was started, or a worker without a nanny) would not answer as this machine does: ClusterError."""
    wanted = engine_environ()
    if not _differing(client, wanted):
        return
    say(f"restarting the workers with this command's engine settings ({', '.join(sorted(wanted)) or 'none set'})")
    client.register_plugin(EngineEnviron(wanted), name="dermai-engine-settings")
    stuck = _differing(client, wanted)
    if stuck:
        address, theirs = next(iter(stuck.items()))
        raise ClusterError(f"the worker at {address} runs with {theirs or 'no engine settings'}, this command "
                           f"with {wanted or 'none'}: set the same where the worker is started")


def prepare(client, say):
    """Get every worker ready to analyse: engine settings given, model loaded (raises ClusterError, BundleError)."""
    try:
        _give_environ(client, say)
        client.register_plugin(ServingModel(bundle_digest()))
    except ImportError as exc:
        raise ClusterError(f"a worker cannot import DermAI ({exc}): start the workers in a checkout of this "
                           "commit with PYTHONPATH set to it (README, 'On a Dask cluster')") from exc
    workers = client.scheduler_info(n_workers=-1)["workers"]
    say(f"{len(workers)} worker(s) at {client.scheduler.address}, each with the model loaded"
        + ("" if workers else ": the photos wait for workers to join"))


def _reachable(job):
    """The job as a worker must see it: a local path made absolute (the workers' working folder is not ours)."""
    return job if not isinstance(job.path, Path) else dataclasses.replace(job, path=job.path.absolute())


def _outcome(future, result, job, options):
    if future.status != "error":
        outcome, png = result
        return batch.save_overlay(dataclasses.replace(outcome, job=job), png, options.gradcam_dir)
    _, exc, traceback = result
    if isinstance(exc, KilledWorker):  # this photo took down every worker that tried it (memory?): its row says so
        return batch.Outcome(job, result=None, error=f"{exc.allowed_failures + 1} workers died analysing it",
                             sha256=None, overlay=None, peak_mb=0.0, pid=0)
    raise exc.with_traceback(traceback)


def run(client, jobs, options):
    """Outcomes of `jobs` as the workers finish them (not in input order), each with its job as given and its
    overlay written here into options.gradcam_dir."""
    futures = client.map(analyse_remotely, [_reachable(job) for job in jobs], options=options)
    given = dict(zip((future.key for future in futures), jobs))
    finished = as_completed(futures, loop=client.loop, with_results=True, raise_errors=False)
    del futures  # as_completed alone holds them: each is released (its result freed) once its row is out
    for future, result in finished:
        yield _outcome(future, result, given.pop(future.key), options)


@contextlib.contextmanager
def session(address, say):
    """A connected, prepared cluster: yields run(jobs, options) for pipeline.analyse_all; disconnects after."""
    client = connect(address)
    try:
        prepare(client, say)
        yield partial(run, client)
    finally:
        client.close()
