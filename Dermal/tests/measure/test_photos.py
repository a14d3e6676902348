"""Which photos the commands are given: files, folders and globs, each once, in the order given."""
import pytest

from Dermal.inference.datasets import FIXTURES_DIR
from Dermal.measure.photos import InputError, expand

IMAGES = FIXTURES_DIR / "images"


def test_a_folder_gives_its_photos_recursively_and_skips_other_files():
    found = expand([str(FIXTURES_DIR)])
    assert found == sorted(IMAGES.glob("*.jpg")) and len(found) == 16  # labels.csv and README.md left out


def test_files_globs_and_folders_keep_the_order_given_and_name_each_photo_once():
    first = sorted(IMAGES.glob("*.jpg"))[0]
    found = expand([str(first), str(IMAGES / "ISIC_00126*.jpg"), str(IMAGES)])
    assert found[0] == first and len(found) == len(set(found)) == 16


def test_a_file_named_explicitly_is_kept_whatever_its_suffix():
    labels = FIXTURES_DIR / "labels.csv"
    assert expand([str(labels)]) == [labels]  # the analysis, not the listing, says it is no photo


def test_inputs_that_name_no_photo_are_refused_by_name(tmp_path):
    with pytest.raises(InputError, match=r"no photo found at .*nowhere\.jpg, .*\*\.png"):
        expand([str(tmp_path / "nowhere.jpg"), str(IMAGES / "*.png")])
