"""Expensive test inputs built once per test session, whichever pytest-xdist worker asks first."""
import fcntl
import shutil


def built_once(tmp_path_factory, worker_id, name, build):
    """A folder that `build(folder)` fills, once for the whole session: under xdist the first worker to ask builds it
    while holding a lock, and the others wait for it and reuse it (each worker building its own doubled the cost of
    a TensorFlow conversion or of a command over 97 large photos). A build that raised leaves no folder behind, so
    the next worker to ask builds it again and meets the same error."""
    if worker_id == "master":  # no xdist: this session's own temporary folder
        folder = tmp_path_factory.mktemp(name)
        build(folder)
        return folder
    shared = tmp_path_factory.getbasetemp().parent  # this session's, common to its workers (pytest-xdist's advice)
    folder, done = shared / name, shared / f"{name}.done"
    with open(shared / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            try:
                build(folder)
            except BaseException:
                shutil.rmtree(folder, ignore_errors=True)
                raise
            done.touch()
    return folder
