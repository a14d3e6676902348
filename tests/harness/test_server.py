"""harness.server: the loopback port, the interpreter's PATH, the build steps, and the Gunicorn process group always
killed."""
import importlib.util
import os
import socket
import sys
import time
from pathlib import Path

import psutil
import pytest

from harness.memory import service_pids
from harness.server import ROOT, Server, free_port, interpreter_path_env, prepare, server_env


def test_free_port_is_bindable_on_loopback():
    port = free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


def test_interpreter_bin_dir_leads_path():
    env = interpreter_path_env({"PATH": "/usr/bin"})
    assert env["PATH"].split(os.pathsep)[0] == os.path.dirname(sys.executable)


def test_server_process_group_is_killed_on_exit(tmp_path):
    code = ("import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']);"
            " time.sleep(60)")
    env = interpreter_path_env(dict(os.environ))
    with Server([sys.executable, "-c", code], env, tmp_path / "log") as server:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and len(service_pids(server.process.pid)) < 2:
            time.sleep(0.05)
        pids = service_pids(server.process.pid)
        assert len(pids) == 2
    assert not running_after(pids, timeout=10), "the server's process group outlived it"


def running_after(pids, timeout):
    """Those of `pids` still running (neither gone nor a zombie) once they all stop or `timeout` s have passed: a
    killed process dies when the kernel next schedules it, later on a busy machine."""
    deadline = time.monotonic() + timeout
    while True:
        running = [pid for pid in pids if is_running(pid)]
        if not running or time.monotonic() > deadline:
            return running
        time.sleep(0.05)


def is_running(pid):
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.mark.slow  # build steps in processes of their own
def test_prepare_leaves_the_app_compiled_and_migrated_as_build_sh_does(tmp_path):
    engines = Path(importlib.util.cache_from_source(ROOT / "Dermal" / "inference" / "engines.py"))
    engines.unlink(missing_ok=True)  # first imported by a request: Render's start finds it compiled by the build
    env = server_env(tmp_path, free_port())
    prepare(env, collect_static=False)
    assert engines.is_file(), "the engine's module left uncompiled"
    assert (tmp_path / "proof.sqlite3").is_file()
