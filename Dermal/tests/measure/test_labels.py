"""Labels are checked before any photo is analysed: unknown classes, missing photos and bad fields are named."""
import pytest

from Dermal.inference.datasets import FIXTURES_DIR
from Dermal.measure.labels import LabelError, labelled_photos, read_labels


def test_the_committed_labels_read_with_their_metadata(codes):
    labels = read_labels(FIXTURES_DIR / "labels.csv", codes)
    assert len(labels) == 16 and {label.dx for label in labels.values()} == {"mel", "akiec", "bkl", "nv"}
    first = labels["ISIC_0012633"]  # 75, female, lower extremity in labels.csv
    assert (first.dx, first.age, first.sex, first.site) == ("mel", "75", "female", "leg-or-genital")


def test_every_label_finds_its_photo_under_images(codes):
    found = labelled_photos(FIXTURES_DIR, codes)
    assert len(found) == 16 and all(path.stem == label.image_id for path, label in found)


def test_an_unknown_class_code_is_refused_with_its_line_and_the_valid_codes(labelled_copy, codes):
    path = labelled_copy / "labels.csv"
    lines = path.read_text().splitlines()
    lines[2] = lines[2].replace(",mel,", ",melanoma,").replace(",nv,", ",naevus,")
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(LabelError, match=r"unknown class code at line 3 '(melanoma|naevus)'.*akiec, bcc"):
        read_labels(path, codes)


def test_labels_naming_a_missing_photo_are_refused_by_id(labelled_copy, codes):
    (labelled_copy / "images" / "ISIC_0012633.jpg").unlink()
    with pytest.raises(LabelError, match=r"1 labelled photo\(s\) not found .*ISIC_0012633"):
        labelled_photos(labelled_copy, codes)


@pytest.mark.parametrize("text, reason", [
    ("image_id,dx,age\nA,nv,old\n", "line 2: age 'old' is not a number"),
    ("image_id,dx,age\nA,nv,130\n", "age '130' is not between 0 and 120"),
    ("image_id,dx,sex\nA,nv,f\n", "sex 'f' is not one of female, male, unknown"),
    ("image_id,dx,site\nA,nv,elbow\n", "site 'elbow' is not one of arm"),
    ("image_id,dx\nA,nv\nA,mel\n", "line 3: A is labelled twice"),
    ("image,diagnosis\nA,nv\n", "has no dx or image_id column"),
    ("image_id,dx\n", "labels no photo"),
])
def test_unusable_fields_are_refused_with_the_line(tmp_path, codes, text, reason):
    path = tmp_path / "labels.csv"
    path.write_text(text)
    with pytest.raises(LabelError, match=reason):
        read_labels(path, codes)


def test_localization_is_grouped_as_the_model_was_trained_when_no_site_is_given(tmp_path, codes):
    path = tmp_path / "labels.csv"
    path.write_text("image_id,dx,age,sex,localization\nA,nv,,unknown,scalp\nB,mel,40,male,acral\n")
    labels = read_labels(path, codes)
    assert (labels["A"].site, labels["A"].sex, labels["A"].age) == ("head-or-neck", None, None)
    assert labels["B"].site is None  # acral is not one of the model's groups: unknown
