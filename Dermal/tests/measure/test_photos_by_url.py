"""Photos by URL, through fsspec (memory:// is in this process; file:// through the cluster's workers is in
Dermal/tests/management/test_analyse_cluster.py): listed like folders, globs and files, and analysed as the same
photos on disk are."""
import fsspec
import pytest

from Dermal.inference.datasets import FIXTURES_DIR
from Dermal.measure import batch, runs, table
from Dermal.measure.photos import InputError, PhotoURL, expand

IMAGES = FIXTURES_DIR / "images"


@pytest.fixture(scope="module")
def stored():
    """Three committed photos and a note in memory://, fsspec's own in-process file system."""
    for path in sorted(IMAGES.glob("*.jpg"))[:3]:
        with fsspec.open(f"memory://clinic/2026/{path.name}", "wb") as handle:
            handle.write(path.read_bytes())
    with fsspec.open("memory://clinic/notes.txt", "wb") as handle:
        handle.write(b"not a photo")
    yield sorted(IMAGES.glob("*.jpg"))[:3]
    fsspec.filesystem("memory").rm("/clinic", recursive=True)


def test_a_url_folder_gives_its_photos_recursively_as_urls_named_like_files(stored):
    found = expand(["memory://clinic"])
    assert found == [f"memory:///clinic/2026/{p.name}" for p in stored]
    assert all(isinstance(url, PhotoURL) for url in found)
    assert [(url.name, url.stem) for url in found] == [(p.name, p.stem) for p in stored]


def test_url_globs_and_files_are_listed_and_a_url_naming_nothing_is_refused(stored):
    assert expand([f"memory://clinic/2026/{stored[1].name}", "memory://clinic/*/*.jpg"])[0].stem == stored[1].stem
    assert len(expand(["memory://clinic/**/*.jpg"])) == 3
    with pytest.raises(InputError, match="no photo found at memory://clinic/none"):
        expand(["memory://clinic/none*.jpg"])


def test_a_photo_by_url_is_analysed_as_the_same_file_on_disk(stored, tmp_path):
    options = batch.Options()
    by_url, on_disk = (table.row(batch.analyse_job(runs.job_of(photo, None), options), None, options)
                       for photo in (expand(["memory://clinic"])[0], stored[0]))
    assert table.differences([by_url], [{**on_disk, "path": by_url["path"]}]) == []
    gone = batch.analyse_job(runs.job_of(PhotoURL("memory:///clinic/gone.jpg"), None), options)
    assert gone.error == batch.analyse_job(runs.job_of(tmp_path / "gone.jpg", None), options).error \
        == "cannot read the file: No such file or directory"
