"""Worker processes: each loads the engine once, results come back in input order and match one process, a
bad photo becomes its own row's error, and the default worker count follows memory and cores."""
import os

import pytest

from Dermal.measure import batch, runs


@pytest.fixture(scope="module")
def jobs(fixture_photos, tmp_path_factory):
    """Six committed photos with a damaged one (JPEG header, no image) in the middle."""
    damaged = tmp_path_factory.mktemp("bad") / "damaged.jpg"
    damaged.write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 100)
    chosen = [runs.job_of(path, label) for path, label in fixture_photos[:6]]
    return chosen[:3] + [batch.Job(damaged)] + chosen[3:]


@pytest.fixture(scope="module")
def pooled(jobs):
    return list(batch.run(jobs, batch.Options(), workers=2))


def test_two_workers_answer_in_input_order_in_processes_of_their_own(jobs, pooled):
    assert [o.job for o in pooled] == jobs
    pids = {o.pid for o in pooled}
    assert len(pids) <= 2 and os.getpid() not in pids


def test_each_worker_loads_the_engine_once(pooled):
    # Building the engine (reading and allocating the backbone) takes well over 20 ms; reusing it, microseconds.
    loads = [o for o in pooled if o.result is not None and o.result.timings["load"] > 0.02]
    assert len(loads) == len({o.pid for o in pooled if o.result is not None})


def test_workers_give_the_same_answers_as_one_process(jobs, pooled):
    alone = list(batch.run(jobs, batch.Options(), workers=1))
    for here, there in zip(alone, pooled):
        assert (here.error is None) == (there.error is None)
        if here.result is not None:
            assert here.result.probabilities == pytest.approx(there.result.probabilities, abs=1e-6)


def test_a_damaged_photo_is_its_rows_error_and_the_run_goes_on(pooled):
    failed = [o for o in pooled if o.error]
    assert [o.job.path.name for o in failed] == ["damaged.jpg"] and "image" in failed[0].error
    assert failed[0].sha256 and failed[0].result is None
    assert pooled[-1].result is not None  # the photos after it were analysed


def test_no_image_bytes_cross_between_processes_but_the_overlay_is_saved(jobs, tmp_path):
    outcome = batch.analyse_job(jobs[0], batch.Options(gradcam_dir=tmp_path))
    assert outcome.result.overlay_png is None and outcome.result.photo_jpeg == b""
    assert outcome.overlay == tmp_path / f"{jobs[0].path.stem}.png"
    assert outcome.overlay.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and outcome.result.gradcam


def test_default_workers_fit_the_cores_and_the_memory():
    count, why = batch.default_workers()
    memory = batch.available_memory_mb()
    assert 1 <= count <= (os.cpu_count() or 1) and count <= max(1, memory // batch.WORKER_PEAK_MB)
    assert f"{count} worker(s)" in why and f"{memory:,.0f} MB available" in why
