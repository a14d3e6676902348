"""A pytest plugin (loaded by pytest.ini's `-p`) that runs tests with the development settings (DEBUG on) and
without the early model load.

It must act before pytest-django imports the settings, which happens before any conftest.py is read.
Once they are imported the environment is put back, so subprocesses started by tests (build.sh, Gunicorn,
manage.py) see the environment the caller gave. The production settings are checked in such subprocesses.
"""
import os

# The development settings, and no model loading in the background of in-process tests, where a load started by
# one test's page view could finish after the next test has swapped the bundle (test_upload_page turns it on).
TEST_ENV = {"DEBUG": "true", "DERMAI_EARLY_LOAD": "false"}
_ADDED = [name for name in TEST_ENV if name not in os.environ]
for _name in _ADDED:
    os.environ[_name] = TEST_ENV[_name]


def pytest_configure(config):
    for name in _ADDED:
        os.environ.pop(name, None)
