"""The inference package keeps NumPy's BLAS to one thread by default (Dermal/inference/__init__.py)."""
import os
import subprocess
import sys

import pytest

from conftest import ROOT

THREADS_AFTER_IMPORT = "import os, {module}; print(len(os.listdir('/proc/self/task')))"


def threads_after_importing(module):
    """The thread count of a fresh interpreter, without the BLAS settings, once `module` is imported."""
    env = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}
    code = THREADS_AFTER_IMPORT.format(module=module)
    return int(subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout)


@pytest.mark.slow
@pytest.mark.skipif((os.cpu_count() or 1) < 2 or not os.path.isdir("/proc/self/task"),
                    reason="BLAS starts no spare thread on one core; threads are counted in /proc")
def test_numpy_imported_through_the_engines_starts_no_spare_blas_thread():
    assert threads_after_importing("numpy") > 1, "bare NumPy no longer starts BLAS threads: this test proves nothing"
    assert threads_after_importing("Dermal.inference.engines") == 1
