"""`manage.py analyse --scheduler`: a real `dask scheduler` and two `dask worker` processes on 127.0.0.1, started
once for this module as an operator starts them; the table compared with the local command's, row for row."""
import os
import re
import signal
import socket
import subprocess
import sys
import time

import pytest
from django.core.management import CommandError, call_command

from bench.dask_cluster import local_cluster
from Dermal.inference.bundle import bundle_dir
from Dermal.inference.datasets import FIXTURES_DIR
from Dermal.measure import batch
from Dermal.measure.table import differences
from Dermal.models import Analysis

from .conftest import ROOT, command, environment, manage, read_csv, read_csv_text

pytestmark = pytest.mark.slow  # a Dask cluster of three processes, and manage.py in a process of its own

IMAGES = FIXTURES_DIR / "images"
PEAK = re.compile(r"peak (\d+) MB per worker")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    with local_cluster(tmp_path_factory.mktemp("dask"), workers=2) as running:
        yield running


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    """The committed photos with a damaged one among them."""
    folder = tmp_path_factory.mktemp("photos")
    for path in IMAGES.glob("*.jpg"):
        (folder / path.name).symlink_to(path)
    (folder / "ISIC_0015000_damaged.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a JPEG")
    return folder


def analyse(photos, out, *extra, **env):
    """The command on `photos` with the labels and overlays: (finished process, table rows)."""
    done = manage("analyse", photos, "--labels", FIXTURES_DIR / "labels.csv", "--gradcam", out / "gradcam",
                  "--csv", out / "table.csv", *extra, **env)
    return done, read_csv(out / "table.csv")


@pytest.fixture(scope="module")
def local_and_cluster(photos, cluster, tmp_path_factory):
    """The same photos analysed by one local worker and by the cluster: {"local"/"cluster": (done, rows, out)}."""
    runs = {}
    for name, where in (("local", ("--workers", 1)), ("cluster", ("--scheduler", cluster.address))):
        out = tmp_path_factory.mktemp(name)
        runs[name] = (*analyse(photos, out, *where), out)
    return runs


def test_the_cluster_gives_the_local_table_row_for_row(local_and_cluster):
    (local, local_rows, _), (remote, rows, _) = local_and_cluster["local"], local_and_cluster["cluster"]
    assert "2 worker(s) at tcp://127.0.0.1:" in remote.stderr and "restarting" not in remote.stderr
    assert len(rows) == 17 and differences(rows, local_rows) == []
    assert remote.returncode == local.returncode == 1  # the damaged photo, as locally
    assert [(r["path"], r["error"]) for r in rows if r["error"]] == \
        [(r["path"], r["error"]) for r in local_rows if r["error"]] != []
    assert "1 photo(s) could not be analysed" in remote.stderr and "ISIC_0015000_damaged.jpg" in remote.stderr
    assert int(PEAK.search(remote.stderr).group(1)) < 250  # MB per worker process, as locally


def test_overlays_come_back_to_the_command_and_match_the_local_ones(local_and_cluster):
    (_, local_rows, here), (_, rows, there) = local_and_cluster["local"], local_and_cluster["cluster"]
    written = sorted(p.name for p in (there / "gradcam").iterdir())
    assert written == sorted(p.name for p in (here / "gradcam").iterdir()) and len(written) == 16
    assert all((there / "gradcam" / name).read_bytes() == (here / "gradcam" / name).read_bytes() for name in written)
    assert {r["gradcam_png"] for r in rows if r["gradcam_png"]} == {str(there / "gradcam" / n) for n in written}


def test_the_workers_load_the_model_once_each_and_never_tensorflow(cluster, local_and_cluster):
    from distributed import Client

    with Client(cluster.address, set_as_default=False) as client:
        loaded = client.run(lambda: [name in sys.modules for name in ("tensorflow", "Dermal.inference.engines")])
    assert sorted(loaded.values()) == [[False, True], [False, True]]
    _, rows, _ = local_and_cluster["cluster"]
    assert all(float(r["seconds_load"]) < 0.02 for r in rows if not r["error"])  # loaded before the first photo


def test_photos_by_file_url_are_read_by_the_workers(cluster, local_and_cluster, tmp_path):
    _, local_rows, _ = local_and_cluster["local"]
    url = (IMAGES.absolute().as_uri() + "/ISIC_00126*.jpg")
    done = manage("analyse", url, "--labels", FIXTURES_DIR / "labels.csv", "--scheduler", cluster.address,
                  "--csv", tmp_path / "t.csv")
    assert done.returncode == 0, done.stderr
    rows = read_csv(tmp_path / "t.csv")
    assert [r["path"] for r in rows] == [p.absolute().as_uri() for p in sorted(IMAGES.glob("ISIC_00126*.jpg"))]
    same_photos = {r["image_id"]: r for r in local_rows}
    assert differences(rows, [{**same_photos[r["image_id"]], "path": r["path"]} for r in rows]) == []


def test_a_worker_killed_mid_run_loses_no_photo_and_answers_none_twice(cluster, local_and_cluster, tmp_path):
    _, local_rows, _ = local_and_cluster["local"]
    folder = tmp_path / "photos"
    folder.mkdir()
    for path in IMAGES.glob("*.jpg"):
        (folder / path.name).symlink_to(path)
    victim = cluster.start_worker("victim", nanny=False)  # no nanny: killed, it is gone for good, as a lost machine
    try:
        cluster.wait_for_workers(3)
        run = subprocess.Popen(command("analyse", folder, "--labels", FIXTURES_DIR / "labels.csv", "--scheduler",
                                       cluster.address), cwd=ROOT, env=environment(), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
        held = cluster.wait_until_busy("victim")
        os.killpg(victim.pid, signal.SIGKILL)
        streamed, errors = run.communicate(timeout=300)
    finally:
        cluster.stop(victim)
    assert run.returncode == 0 and held, errors
    rows = sorted(read_csv_text(streamed), key=lambda r: r["path"])  # on standard output as they came: each once
    by_photo = {r["image_id"]: r for r in local_rows}
    assert differences(rows, [{**by_photo[r["image_id"]], "path": r["path"]} for r in rows]) == []
    assert [r["path"] for r in rows] == [str(folder / p.name) for p in sorted(IMAGES.glob("*.jpg"))]


def test_a_worker_without_the_bundle_stops_the_run_naming_itself_and_the_file(cluster, tmp_path):
    broken = tmp_path / "bundle"
    broken.mkdir()
    for path in bundle_dir().iterdir():
        if path.name != "backbone_int8.tflite":
            (broken / path.name).symlink_to(path)
    worker = cluster.start_worker("bundleless", nanny=False, DERMAL_BUNDLE_DIR=str(broken))
    try:
        cluster.wait_for_workers(3)
        done = manage("analyse", IMAGES / "ISIC_0012633.jpg", "--scheduler", cluster.address,
                      "--csv", tmp_path / "out.csv")
    finally:
        cluster.stop(worker)
    assert done.returncode == 1
    message = done.stderr.strip().splitlines()[-1]
    assert re.fullmatch(r"CommandError: worker bundleless \(tcp://127\.0\.0\.1:\d+\): DERMAL_BUNDLE_DIR/"
                        r"backbone_int8\.tflite is missing: restore it or run quantize_model\.py", message), message
    assert not (tmp_path / "out.csv").exists()


def test_an_unreachable_scheduler_is_one_line_naming_it_at_once():
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        address = f"tcp://127.0.0.1:{free.getsockname()[1]}"  # nobody listens there once it is closed
    started = time.monotonic()
    with pytest.raises(CommandError, match=rf"^cannot reach the Dask scheduler at {address}: [^\n]+$"):
        call_command("analyse", str(IMAGES / "ISIC_0012633.jpg"), "--scheduler", address)
    assert time.monotonic() - started < 15


def test_a_photo_the_workers_cannot_reach_is_its_rows_error_as_locally(cluster, tmp_path, capsys):
    import fsspec

    # memory:// lives in this process: listed here, it is absent on the workers, as a path only this machine has.
    with fsspec.open("memory://dermai-test/ISIC_0012633.jpg", "wb") as handle:
        handle.write((IMAGES / "ISIC_0012633.jpg").read_bytes())
    with pytest.raises(CommandError, match="1 photo.s. could not be analysed"):
        call_command("analyse", "memory://dermai-test/", "--scheduler", cluster.address)
    rows = read_csv_text(capsys.readouterr().out)
    locally = batch.analyse_job(batch.Job(tmp_path / "gone.jpg"), batch.Options())  # listed, then not there
    assert rows[0]["path"] == "memory:///dermai-test/ISIC_0012633.jpg"
    assert rows[0]["error"] == locally.error == "cannot read the file: No such file or directory"


@pytest.mark.django_db
def test_record_writes_the_clusters_analyses_into_this_processes_history(cluster, tmp_path):
    photos = sorted(IMAGES.glob("*.jpg"))[:2]
    call_command("analyse", *map(str, photos), "--record", "--scheduler", cluster.address, "--csv",
                 str(tmp_path / "o.csv"))
    rows = read_csv(tmp_path / "o.csv")
    assert {(a.image_sha256, a.top_class) for a in Analysis.objects.all()} == \
        {(r["sha256"], r["top_class"]) for r in rows}


def test_the_commands_engine_settings_reach_the_workers_through_dask(cluster, tmp_path):
    photo = IMAGES / "ISIC_0012633.jpg"
    done = manage("analyse", photo, "--scheduler", cluster.address, "--csv", tmp_path / "small.csv",
                  DERMAI_MAX_PIXELS="1000")
    assert "restarting the workers with this command's engine settings (DERMAI_MAX_PIXELS)" in done.stderr
    assert "megapixels" in read_csv(tmp_path / "small.csv")[0]["error"]  # the workers' limit was this command's
    again = manage("analyse", photo, "--scheduler", cluster.address, "--csv", tmp_path / "usual.csv")
    assert again.returncode == 0 and "restarting the workers" in again.stderr  # the setting taken back
