"""Real outcomes and rows for the measuring modules: the committed CC-0 photos through the serving model."""
import shutil

import pytest

from Dermal.inference.datasets import FIXTURES_DIR
from Dermal.measure import batch, labels, runs, table


@pytest.fixture(scope="session")
def class_info():
    return runs.serving_classes()[2]


@pytest.fixture(scope="session")
def codes(class_info):
    return [c.code for c in class_info]


@pytest.fixture(scope="session")
def fixture_photos(codes):
    """[(path, Label)] of the 16 committed photos (tests/data)."""
    return labels.labelled_photos(FIXTURES_DIR, codes)


@pytest.fixture(scope="session")
def fixture_rows(fixture_photos, codes):
    """The results-table rows of the committed photos, analysed in this process."""
    options = batch.Options()
    return [table.row(batch.analyse_job(runs.job_of(path, label), options), label, options)
            for path, label in fixture_photos]


@pytest.fixture
def labelled_copy(tmp_path):
    """A copy of the committed labelled folder, to spoil."""
    return shutil.copytree(FIXTURES_DIR, tmp_path / "photos")
