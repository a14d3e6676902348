"""Faults against the real Gunicorn service (render.yaml's line): a damaged serving bundle, the database
stopped mid-run or unreachable from start-up, and damaged photos over HTTP. Each must give a clear answer, never
a 500 or a dead worker; /health/ fails (503) only for what a restart or redeploy can fix, the bundle.
"""
import contextlib
import hashlib
import io
import json
import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest
from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st
from PIL import Image as PILImage

from Dermal.tests.web.conftest import disclosed_internals, encoded
from Dermal.tests.web.test_bad_inputs import png_declaring
from Dermal.tests.web.test_fuzz import damaged, damages, jpeg_declaring
from harness.blueprint import gunicorn_settings, local_argv, start_command
from harness.client import Client, check_prediction
from harness.photos import Image
from harness.server import Server, free_port, server_env
from harness.service import Service, running_service, snapshot_bundle

pytestmark = pytest.mark.slow  # real Gunicorn and PostgreSQL, one start per fault

HINT = "quantize_model.py"
BACKBONE, HEAD_WEIGHTS, MANIFEST = "backbone_int8.tflite", "head.npz", "manifest.json"


@pytest.fixture(scope="module")
def photo(fixture_items):
    return Image(fixture_items[0].path)


def assert_worker_unharmed(service, workers):
    assert service.worker_pids() == workers, "the worker was replaced"
    assert not service.worker_deaths(), service.log()[-3000:]


def assert_analysed(service, photo):
    response = service.client.upload(photo)
    assert response.status == 200, response.body[:300]
    assert check_prediction(response, photo, True) is None
    return response.json()


# --- the serving bundle ----------------------------------------------------------------------------------------

def truncate(name):
    def damage(bundle):
        path = bundle / name
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    return damage


def flip_bytes(name):
    """Same size, other bytes: only the SHA-256 can tell."""
    def damage(bundle):
        data = bytearray((bundle / name).read_bytes())
        for at in range(len(data) // 3, len(data) // 3 + 64):
            data[at] ^= 0xFF
        (bundle / name).write_bytes(bytes(data))
    return damage


def remove(name):
    return lambda bundle: (bundle / name).unlink()


def edit_manifest(change):
    def damage(bundle):
        manifest = json.loads((bundle / MANIFEST).read_text())
        change(manifest)
        (bundle / MANIFEST).write_text(json.dumps(manifest))
    return damage


def backbone_entry(manifest):
    return manifest["backbones"][manifest["default_precision"]]


def resigned_garbage(bundle):
    """The backbone replaced by random bytes and the manifest updated to match: the hashes all agree."""
    data = os.urandom((bundle / BACKBONE).stat().st_size)
    (bundle / BACKBONE).write_bytes(data)
    edit_manifest(lambda m: backbone_entry(m).update(sha256=hashlib.sha256(data).hexdigest()))(bundle)


@dataclass
class Fault:
    damage: Callable
    named: str | None  # what /health/ names; None when only loading the model can find the fault


BUNDLE_FAULTS = {
    "backbone missing": Fault(remove(BACKBONE), BACKBONE),
    "backbone truncated": Fault(truncate(BACKBONE), BACKBONE),
    "backbone corrupt, same size": Fault(flip_bytes(BACKBONE), BACKBONE),
    "head weights truncated": Fault(truncate(HEAD_WEIGHTS), HEAD_WEIGHTS),
    "head weights corrupt, same size": Fault(flip_bytes(HEAD_WEIGHTS), HEAD_WEIGHTS),
    "manifest missing": Fault(remove(MANIFEST), "no serving bundle"),
    "manifest not JSON": Fault(lambda b: (b / MANIFEST).write_text("{not json"), MANIFEST),
    "manifest sha256 not the backbone's": Fault(
        edit_manifest(lambda m: backbone_entry(m).update(sha256="0" * 64)), BACKBONE),
    "manifest size not the backbone's": Fault(
        edit_manifest(lambda m: backbone_entry(m).update(bytes=backbone_entry(m)["bytes"] + 1)), BACKBONE),
    "manifest without backbones": Fault(edit_manifest(lambda m: m.pop("backbones")), "backbones"),
    # /health/ checks files, not what LiteRT makes of them: these three are caught when the model loads.
    "backbone garbage, manifest re-signed to match": Fault(resigned_garbage, None),
    "manifest input size not the backbone's": Fault(
        edit_manifest(lambda m: m["input"].update(height=300, width=300)), None),
    "manifest class list not the head's": Fault(edit_manifest(lambda m: m.update(classes=m["classes"][:6])), None),
}


@pytest.fixture(scope="module")
def intact_bundle(tmp_path_factory):
    return snapshot_bundle(tmp_path_factory.mktemp("intact") / "bundle")


def fresh_bundle(bundle, intact):
    """`bundle` as a copy of the intact serving bundle (replacing whatever is there)."""
    shutil.rmtree(bundle, ignore_errors=True)
    shutil.copytree(intact, bundle)
    return bundle


@pytest.mark.parametrize("fault", BUNDLE_FAULTS.values(), ids=BUNDLE_FAULTS.keys())
def test_a_damaged_bundle_is_named_refused_and_survived(tmp_path, intact_bundle, photo, fault):
    """Damaged before the first analysis (as after a bad deploy), then repaired without a restart."""
    bundle = fresh_bundle(tmp_path / "bundle", intact_bundle)
    with running_service(env={"DERMAL_BUNDLE_DIR": str(bundle)}, collect_static=True) as service:
        workers = service.worker_pids()
        fault.damage(bundle)
        health = service.client.get("/health/")
        if fault.named:
            assert health.status == 503
            assert "serving bundle" in health.body.decode() and fault.named in health.body.decode()
            assert HINT in health.body.decode()
            ready = service.client.get("/health/ready/")
            assert ready.status == 503 and ready.json()["dependencies"][0]["state"] == "down", ready.body[:300]
        analysis = service.client.upload(photo)
        assert analysis.status == 503 and "retry-after" not in analysis.headers, analysis.body[:300]
        assert "the model is unavailable" in analysis.json()["error"] and HINT in analysis.json()["error"]
        page = service.client.get("/")
        assert page.status in (200, 503) and b"</html>" in page.body  # the page renders; a 503 says why
        assert page.status == 200 or b"the model is unavailable" in page.body
        for public in (health, service.client.get("/health/ready/"), analysis, page, service.client.get("/memory/")):
            assert disclosed_internals(public.body) == [], public.body[:600]
        assert HINT in service.log(), "the log does not say what to do"
        assert_worker_unharmed(service, workers)

        fresh_bundle(bundle, intact_bundle)
        assert service.client.get("/health/").status == 200
        assert_analysed(service, photo)
        assert_worker_unharmed(service, workers)


def replace_with_truncated(name):
    """A new, truncated file renamed over the old one (as an atomic writer does): the old inode lives on."""
    def damage(bundle):
        truncate(name)(bundle.parent)  # bundle.parent holds a copy made by the test
        (bundle.parent / name).replace(bundle / name)
    return damage


@pytest.mark.parametrize("damage", [
    replace_with_truncated(BACKBONE),
    truncate(BACKBONE),  # the engine holds the backbone's bytes, not a memory map of the file
], ids=["replaced by rename", "truncated in place"])
def test_a_bundle_damaged_under_a_loaded_model_is_reported_while_analyses_go_on(tmp_path, intact_bundle, photo,
                                                                               damage):
    """The model in memory is intact: it keeps answering; /health/ tells the operator about the files."""
    bundle = fresh_bundle(tmp_path / "bundle", intact_bundle)
    shutil.copy(bundle / BACKBONE, tmp_path / BACKBONE)
    with running_service(env={"DERMAL_BUNDLE_DIR": str(bundle)}) as service:
        workers = service.worker_pids()
        assert_analysed(service, photo)
        damage(bundle)
        health = service.client.get("/health/")
        assert health.status == 503 and BACKBONE in health.body.decode()
        assert disclosed_internals(health.body) == [], health.body
        assert_analysed(service, photo)
        assert HINT in service.log()
        assert_worker_unharmed(service, workers)


# --- the database stopped mid-run -----------------------------------------------------------------------------

def postgres_bindir():
    """The newest PostgreSQL server binaries (Debian's layout), or None."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parent.parent.name))
    return found[-1].parent if found else None


class PrivatePostgres:
    """A throw-away PostgreSQL cluster on a free port, so stopping it disturbs no one else's database."""

    def __init__(self, bindir):
        self.bindir, self.port = bindir, free_port()
        self.home = Path(tempfile.mkdtemp(prefix="dermai-pg-"))
        # PostgreSQL refuses to run as root: as root, its files belong to and it runs as `postgres`.
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_user:
            shutil.chown(self.home, "postgres")
        self.url = f"postgres://dermai@127.0.0.1:{self.port}/dermai"

    def run(self, tool, *args):
        subprocess.run([*self.as_user, str(self.bindir / tool), *args], check=True, capture_output=True,
                       timeout=120)

    def create(self):
        self.run("initdb", "-D", str(self.home / "data"), "-U", "dermai", "--auth=trust", "--no-sync")
        self.start()
        self.run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "dermai", "dermai")

    def start(self):
        options = f"-p {self.port} -k {self.home} -c listen_addresses=127.0.0.1 -c fsync=off"
        self.run("pg_ctl", "-D", str(self.home / "data"), "-l", str(self.home / "log"), "-o", options, "-w",
                 "-t", "60", "start")

    def stop(self):
        self.run("pg_ctl", "-D", str(self.home / "data"), "-m", "fast", "-w", "-t", "60", "stop")

    def remove(self):
        try:
            self.stop()
        except subprocess.CalledProcessError:
            pass  # already stopped
        shutil.rmtree(self.home, ignore_errors=True)


@pytest.fixture
def postgres():
    bindir = postgres_bindir()
    if bindir is None:
        pytest.skip("no PostgreSQL server binaries under /usr/lib/postgresql (scripts/postgres.sh installs them)")
    if os.geteuid() == 0 and not shutil.which("runuser"):
        pytest.skip("running as root without runuser: PostgreSQL cannot be started as the postgres user")
    server = PrivatePostgres(bindir)
    try:
        server.create()
        yield server
    finally:
        server.remove()


def assert_degraded_without_database(service, db_port, failed):
    """/health/ stays 200 (a restart cannot bring the database back) and says what is lost; the readiness view
    names the database with 503; neither discloses the driver's error, the database's address or port."""
    health = service.client.get("/health/")
    text = health.body.decode()
    assert health.status == 200, text
    assert text.splitlines() == ["degraded", "database: unreachable - history not recorded",
                                 f"history: {failed} analyses answered since this worker started could not be "
                                 f"recorded (see the 'dermai' log)"], text
    ready = service.client.get("/health/ready/")
    assert ready.status == 503, ready.body[:300]
    assert {"name": "database", "state": "down", "detail": "unreachable - history not recorded"} in \
        ready.json()["dependencies"], ready.json()
    assert {"name": "serving bundle", "state": "ok"}.items() <= ready.json()["dependencies"][0].items()
    for public in (text, ready.body.decode()):
        assert "127.0.0.1" not in public and str(db_port) not in public, public
        assert disclosed_internals(public) == [], public
    assert f"port {db_port} failed" in service.log()  # the driver's detail is for the operator's log


def test_analyses_go_on_and_are_counted_while_the_database_is_down(postgres, photo):
    with running_service(database_url=postgres.url, collect_static=True) as service:
        workers = service.worker_pids()
        assert assert_analysed(service, photo)["analysis_id"] is not None
        postgres.stop()
        try:
            assert_degraded_without_database(service, postgres.port, failed=0)
            answer = assert_analysed(service, photo)
            assert answer["analysis_id"] is None  # answered, not recorded
            assert_degraded_without_database(service, postgres.port, failed=1)
            assert service.client.get("/memory/").json()["history_write_failures"] == 1
            assert service.client.get("/").status == 200  # the upload page needs no database
        finally:
            postgres.start()
        assert service.client.get("/health/ready/").status == 200
        assert service.client.get("/health/").body.decode().startswith("ok\nhistory: 1 analyses")
        assert assert_analysed(service, photo)["analysis_id"] is not None  # recording again
        assert service.client.get("/memory/").json()["history_write_failures"] == 1  # still visible
        log = service.log()
        assert "could not record the analysis" in log and "database:" in log
        assert_worker_unharmed(service, workers)


@contextlib.contextmanager
def service_without_migrations(database_url, tmp_path):
    """render.yaml's service as running_service starts it, minus the migration, which needs the database."""
    port = free_port()
    argv = local_argv(start_command(), port)
    env = {**server_env(tmp_path, port, database_url=database_url),
           "DERMAL_BUNDLE_DIR": str(snapshot_bundle(tmp_path / "bundle"))}
    client = Client(port, token=env["DERMAI_API_TOKEN"])
    with Server(argv, env, tmp_path / "gunicorn.log") as server:
        server.wait_healthy(client, 90)  # /health/ answers 200 although the database never did
        yield Service(server, client, argv, env, gunicorn_settings(argv))


def test_a_database_unreachable_from_start_up_leaves_analyses_and_health_working(tmp_path, photo):
    closed = free_port()  # nothing listens there
    with service_without_migrations(f"postgres://dermai@127.0.0.1:{closed}/dermai", tmp_path) as service:
        workers = service.worker_pids()
        assert_degraded_without_database(service, closed, failed=0)
        assert assert_analysed(service, photo)["analysis_id"] is None
        assert_degraded_without_database(service, closed, failed=1)
        assert service.client.get("/memory/").json()["history_write_failures"] == 1
        assert_worker_unharmed(service, workers)


def test_a_database_that_never_answers_does_not_hold_the_health_check(tmp_path):
    """A port that accepts connections and never speaks, as a hung PostgreSQL: /health/ still answers within
    Render's 5 s (the connection attempt gives up first), degraded."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        port = silent.getsockname()[1]
        with service_without_migrations(f"postgres://dermai@127.0.0.1:{port}/dermai", tmp_path) as service:
            health = service.client.get("/health/", timeout=5)  # Render's timeout: past it, requests raises
            assert health.status == 200 and health.body.startswith(b"degraded\n"), health.body
            assert_degraded_without_database(service, port, failed=0)


# --- damaged photos over HTTP ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def fuzz_service():
    with running_service() as service:
        yield service, service.worker_pids()


@pytest.fixture(scope="module")
def small_lesion(lesion_jpeg):
    with PILImage.open(io.BytesIO(lesion_jpeg)) as image:
        return image.convert("RGB").resize((240, 180))


def forged(image, kind, size):
    """The small photo as `kind`, its header declaring `size` (width, height) pixels when one is given."""
    if kind == "png":
        return png_declaring(image, *size) if size else encoded(image, "PNG")
    data = encoded(image, "JPEG", quality=90)
    return jpeg_declaring(data, size[1], size[0]) if size else data


@pytest.fixture(scope="module")
def upload_file(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz") / "upload.jpg"


@hypothesis_settings(max_examples=40, derandomize=True, deadline=None, database=None,
                     suppress_health_check=[HealthCheck.too_slow])
@given(kind=st.sampled_from(["jpeg", "png"]), size=st.none() | st.tuples(st.integers(0, 65535), st.integers(0, 65535)),
       edits=st.just([]) | damages, fields=st.tuples(*[st.none() | st.text(max_size=12)] * 2))
def test_damaged_photos_never_crash_the_real_worker(fuzz_service, small_lesion, upload_file, kind, size, edits,
                                                     fields):
    """Forged sizes, bit flips, cuts and random fields over HTTP: a 200 or a 4xx, and the same worker after."""
    service, workers = fuzz_service
    upload_file.write_bytes(damaged(forged(small_lesion, kind, size), edits))
    response = service.client.upload(Image(upload_file, sex=fields[0], site=fields[1]), gradcam=False)
    assert response.status in (200, 400, 413, 415), response.body[:300]
    assert disclosed_internals(response.body) == [], response.body[:300]
    assert_worker_unharmed(service, workers)
