"""build.sh: executable, fails clearly on a missing or damaged bundle, runs clean (collectstatic, migrate)."""
import importlib.util
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # build.sh in a process of its own

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build.sh"
BUNDLE = ROOT / "Dermal" / "bundle"


def build_env(**extra):
    """An environment whose interpreter is the one running the tests (venv or not), production settings."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("VIRTUAL_ENV", "SECRET_KEY", "DERMAL_BUNDLE_DIR", "DERMAL_PRECISION", "DATABASE_URL")}
    if sys.prefix != sys.base_prefix:
        env["VIRTUAL_ENV"] = sys.prefix
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    env["DEBUG"] = "false"
    env.update(extra)
    return env


def run_build(env, cwd=ROOT, timeout=180):
    return subprocess.run([str(BUILD)], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def copy_bundle(tmp_path, skip=()):
    target = tmp_path / "bundle"
    target.mkdir()
    for path in BUNDLE.iterdir():
        if path.name not in skip and path.is_file():
            os.symlink(path, target / path.name)  # no need to copy 21 MB: the build only reads them
    return target


def backbone_name():
    manifest = json.loads((BUNDLE / "manifest.json").read_text())
    return manifest["backbones"][manifest["default_precision"]]["file"]


def test_build_sh_is_an_executable_strict_bash_script():
    assert os.access(BUILD, os.X_OK)
    text = BUILD.read_text()
    assert text.startswith("#!/usr/bin/env bash\n")
    assert "set -o errexit -o nounset -o pipefail" in text
    assert "-m pip install --upgrade pip" in text and "-m pip install -r requirements.txt" in text
    assert "collectstatic --no-input" in text and "migrate --no-input" in text


def test_fails_clearly_without_a_bundle_and_before_installing_anything(tmp_path):
    done = run_build(build_env(DERMAL_BUNDLE_DIR=str(tmp_path / "nowhere")))
    assert done.returncode != 0
    assert "no serving bundle" in done.stderr and "quantize_model.py" in done.stderr
    assert "ERROR: serving bundle check failed" in done.stderr
    assert "installing requirements" not in done.stdout  # failed fast, before pip


def test_fails_clearly_when_the_backbone_is_missing(tmp_path):
    bundle = copy_bundle(tmp_path, skip={backbone_name()})
    done = run_build(build_env(DERMAL_BUNDLE_DIR=str(bundle)))
    assert done.returncode != 0
    assert f"DERMAL_BUNDLE_DIR/{backbone_name()} is missing" in done.stderr
    assert f"(DERMAL_BUNDLE_DIR is {bundle})" in done.stderr  # where that is, for whoever runs the build


def test_fails_clearly_when_the_backbone_is_truncated(tmp_path):
    bundle = copy_bundle(tmp_path, skip={backbone_name()})
    (bundle / backbone_name()).write_bytes((BUNDLE / backbone_name()).read_bytes()[:1000])
    done = run_build(build_env(DERMAL_BUNDLE_DIR=str(bundle)))
    assert done.returncode != 0
    assert "does not match manifest.json (truncated or replaced)" in done.stderr


def test_fails_when_the_backbone_is_replaced_by_one_of_the_same_size(tmp_path):
    """Caught by the SHA-256 check, before the install step."""
    bundle = copy_bundle(tmp_path, skip={backbone_name()})
    data = bytearray((BUNDLE / backbone_name()).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (bundle / backbone_name()).write_bytes(bytes(data))
    done = run_build(build_env(DERMAL_BUNDLE_DIR=str(bundle)))
    assert done.returncode != 0
    assert "does not match manifest.json" in done.stderr and "installing requirements" not in done.stdout


def test_runs_clean_from_another_directory_without_secret_key(tmp_path):
    """The install step is skipped (tests stay offline); bundle check, compiling, collectstatic and migrate run for
    real."""
    database, static = tmp_path / "build.sqlite3", tmp_path / "staticfiles"
    # Modules first imported by a request: the build must leave them compiled for the service's every start.
    request_time = [Path(importlib.util.cache_from_source(ROOT / "Dermal" / name))
                    for name in ("AI_detection.py", "inference/engines.py", "inference/overlay.py")]
    for compiled in request_time:
        compiled.unlink(missing_ok=True)
    done = run_build(build_env(BUILD_SKIP_INSTALL="1", DATABASE_URL=f"sqlite:///{database}",
                               DERMAI_STATIC_ROOT=str(static)), cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "bundle verified" in done.stdout
    assert "throw-away key" in done.stdout
    assert "build.sh: done" in done.stdout
    assert (static / "staticfiles.json").is_file()  # WhiteNoise's manifest (DEBUG off)
    assert [path.name for path in request_time if not path.is_file()] == [], "left uncompiled by the build"
    with sqlite3.connect(database) as db:
        applied = {app for (app,) in db.execute("select app from django_migrations")}
    assert {"auth", "sessions", "Dermal"} <= applied


@pytest.mark.skipif(not (ROOT / ".venv" / "bin" / "python").exists(), reason="no ./.venv in this checkout")
def test_uses_the_repo_venv_when_none_is_active(tmp_path):
    env = build_env(BUILD_SKIP_INSTALL="1", DERMAL_BUNDLE_DIR=str(tmp_path / "nowhere"))
    env.pop("VIRTUAL_ENV", None)
    env["PATH"] = "/usr/local/bin:/usr/bin:/bin"
    done = run_build(env)
    assert f"using {ROOT / '.venv' / 'bin' / 'python'}" in done.stdout
    assert done.returncode != 0  # and then stops at the (missing) bundle, as asked
