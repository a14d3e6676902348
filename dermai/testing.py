"""A pytest plugin (loaded by pytest.ini's `-p`) that runs tests with the development settings (DEBUG on).

It must act before pytest-django imports the settings, which happens before any conftest.py is read.
Once they are imported the environment is put back, so subprocesses started by tests (build.sh, Gunicorn,
manage.py) see the environment the caller gave. The production settings are checked in such subprocesses.
"""
import os

_DEBUG_ADDED = "DEBUG" not in os.environ
os.environ.setdefault("DEBUG", "true")


def pytest_configure(config):
    if _DEBUG_ADDED:
        os.environ.pop("DEBUG", None)
