import json
import shutil

import numpy as np
import pytest

from Dermal.inference import bundle
from Dermal.inference.bundle import BundleError, MetadataError
from Dermal.inference.scope import GATE_FEATURES


@pytest.fixture(scope="module")
def manifest():
    return bundle.read_manifest(bundle.DEFAULT_BUNDLE_DIR)


@pytest.fixture
def bundle_copy(tmp_path):
    target = tmp_path / "bundle"
    shutil.copytree(bundle.DEFAULT_BUNDLE_DIR, target)
    return target


def test_committed_bundle_passes_its_own_checks(manifest):
    checked, precision, backbone = bundle.check_bundle(bundle.DEFAULT_BUNDLE_DIR)
    assert precision == manifest["default_precision"] == "int8"
    assert backbone.name == "backbone_int8.tflite"
    assert [c["code"] for c in checked["classes"]] == ["akiec", "bcc", "bkl", "df", "mel", "nv", "vasc"]
    assert {c["code"] for c in checked["classes"] if c["malignant"]} == {"akiec", "bcc", "mel"}


def test_manifest_records_validation_against_the_keras_original(manifest):
    validation = manifest["backbones"]["int8"]["validation"]
    assert validation["images"] >= 56 and validation["top1_agreement"] >= 0.98
    assert manifest["source"]["package"] == "sklesion" and len(manifest["source"]["sha256"]) == 64


def test_metadata_encoding_follows_sklesion(manifest):
    vector = bundle.encode_metadata(manifest, age="45", sex="Male", site="trunk")
    expected = [0, 1, 0, 0, 0, 0, 1, 0, 45 / 90, 0]
    assert vector.shape == (1, 10) and np.allclose(vector[0], expected)


def test_missing_metadata_is_the_models_unknown(manifest):
    vector = bundle.encode_metadata(manifest)
    mean_age = manifest["metadata"]["age"]["mean"]
    assert np.allclose(vector[0], [0, 0, 1, 0, 0, 0, 0, 1, mean_age / 90, 1])


@pytest.mark.parametrize("fields,field", [
    ({"age": "-1"}, "age"), ({"age": "121"}, "age"), ({"age": "abc"}, "age"), ({"age": "nan"}, "age"),
    ({"sex": "other"}, "sex"), ({"site": "elbow"}, "site"),
])
def test_out_of_range_metadata_names_the_field(manifest, fields, field):
    with pytest.raises(MetadataError) as caught:
        bundle.encode_metadata(manifest, **fields)
    assert caught.value.field == field


def test_model_without_metadata_takes_none(manifest):
    assert bundle.encode_metadata({**manifest, "metadata": None}, age="30") is None


def test_missing_bundle_says_how_to_make_one(tmp_path):
    with pytest.raises(BundleError, match="quantize_model.py"):
        bundle.check_bundle(tmp_path)


def test_truncated_backbone_is_detected(bundle_copy):
    backbone = bundle_copy / "backbone_int8.tflite"
    backbone.write_bytes(backbone.read_bytes()[:1000])
    with pytest.raises(BundleError, match="truncated or replaced"):
        bundle.check_bundle(bundle_copy)


def test_corrupt_head_weights_are_detected(bundle_copy):
    weights = bundle_copy / "head.npz"
    data = bytearray(weights.read_bytes())
    data[5000] ^= 0xFF  # same size, different bytes
    weights.write_bytes(bytes(data))
    with pytest.raises(BundleError, match="head.npz"):
        bundle.check_bundle(bundle_copy)


def test_unreadable_manifest_is_reported(bundle_copy):
    (bundle_copy / "manifest.json").write_text("{not json")
    with pytest.raises(BundleError, match="unreadable"):
        bundle.check_bundle(bundle_copy)


def test_manifest_missing_a_section_is_reported(bundle_copy):
    data = json.loads((bundle_copy / "manifest.json").read_text())
    del data["head"]
    (bundle_copy / "manifest.json").write_text(json.dumps(data))
    with pytest.raises(BundleError, match="lacks"):
        bundle.check_bundle(bundle_copy)


def test_precision_not_in_bundle_says_how_to_build_it(manifest):
    with pytest.raises(BundleError, match="--precision fp32"):
        bundle.choose_precision(manifest, "fp32")


def test_bundle_check_needs_only_the_standard_library():
    """build.sh runs it before pip installs anything."""
    import subprocess
    import sys

    probe = "import sys; from Dermal.inference.bundle import check_bundle; check_bundle(); print('numpy' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True).stdout.strip() == "False"


def test_committed_bundle_has_a_scope_gate_measured_on_sources_it_never_saw(manifest):
    scope = manifest["backbones"]["int8"]["scope"]
    assert scope["layers"] == ["block3_pool", "block4_pool", "block7_sepconv3_act"]
    assert scope["thresholds"]["unusual"] < scope["thresholds"]["not_a_lesion"]
    assert set(scope["leave_one_source_out"]) == {"derm_eval", "derm_heldout", "derm_acral_dev", "derm_phone_dev"}
    for source, counts in scope["leave_one_source_out"].items():
        assert counts["not_a_lesion"] <= 1, source  # at most one photo of a source it never saw
    gate = bundle.load_scope_reference(bundle.DEFAULT_BUNDLE_DIR, manifest, "int8")
    assert gate["mean"].shape == gate["std"].shape == (sum(gate["sizes"]),)
    assert gate["weights"].shape == (GATE_FEATURES,)


def test_a_gate_fitted_for_other_features_is_refused_with_what_to_run(bundle_copy, manifest):
    """A gate whose regression reads fewer features than this code computes would score every photo wrongly."""
    entry = manifest["backbones"]["int8"]["scope"]
    path = bundle_copy / entry["file"]
    with np.load(path) as archive:
        arrays = {**archive, "weights": archive["weights"][:5], "feature_mean": archive["feature_mean"][:5],
                  "feature_scale": archive["feature_scale"][:5]}
    np.savez(path, **arrays)
    outdated = {**entry, "bytes": path.stat().st_size, "sha256": bundle.sha256_of(path)}
    with pytest.raises(BundleError, match=r"outdated: run python -m trust") as refused:
        bundle.load_scope_reference(bundle_copy, {**manifest, "backbones": {"int8": {"scope": outdated}}}, "int8")
    assert f"reads 5 features, this code computes {GATE_FEATURES}" in str(refused.value.__cause__)  # for the log


def test_a_bundle_without_a_fitted_gate_serves_without_a_scope(bundle_copy, manifest):
    layout = {key: manifest["backbones"]["int8"]["scope"][key] for key in ("layers", "sizes")}
    assert bundle.load_scope_reference(bundle_copy, {**manifest, "backbones": {"int8": {"scope": layout}}},
                                       "int8") is None


def test_truncated_scope_reference_is_detected(bundle_copy, manifest):
    scope = bundle_copy / manifest["backbones"]["int8"]["scope"]["file"]
    scope.write_bytes(scope.read_bytes()[:100])
    with pytest.raises(BundleError, match="truncated or replaced"):
        bundle.check_bundle(bundle_copy)


def test_committed_bundle_has_a_natural_image_model_and_its_lesion_reference(manifest):
    assert bundle.natural_model_path(bundle.DEFAULT_BUNDLE_DIR, manifest).name == "natural_int8.tflite"
    gate = bundle.load_scope_reference(bundle.DEFAULT_BUNDLE_DIR, manifest, "int8")
    assert gate["natural_reference"].shape == (153, manifest["natural"]["features"])  # derm_eval + derm_heldout
    assert 0 < gate["thresholds"]["natural"] < 1


def test_truncated_natural_image_model_is_detected(bundle_copy):
    natural = bundle_copy / "natural_int8.tflite"
    natural.write_bytes(natural.read_bytes()[:1000])
    with pytest.raises(BundleError, match="natural_int8.tflite does not match"):
        bundle.check_bundle(bundle_copy)


def resigned(directory, name, data):
    """`name` rewritten with `data` and the manifest updated to match: only reading the file finds the fault."""
    (directory / name).write_bytes(data)
    manifest = json.loads((directory / "manifest.json").read_text())
    manifest["head"]["weights"].update(bytes=len(data), sha256=bundle.sha256_of(directory / name))
    (directory / "manifest.json").write_text(json.dumps(manifest))


BUNDLE_FAULTS = {
    "no bundle": (lambda d: shutil.rmtree(d), bundle.check_bundle),
    "manifest not JSON": (lambda d: (d / "manifest.json").write_text("{not json"), bundle.check_bundle),
    "backbone missing": (lambda d: (d / "backbone_int8.tflite").unlink(), bundle.check_bundle),
    "backbone truncated": (lambda d: (d / "backbone_int8.tflite").write_bytes(b"tfl3"), bundle.check_bundle),
    "head weights not a NumPy archive": (lambda d: resigned(d, "head.npz", b"PK\x03\x04 not a zip"),
                                         lambda d: bundle.load_head_description(d, bundle.read_manifest(d))),
}


@pytest.mark.parametrize("fault", BUNDLE_FAULTS.values(), ids=BUNDLE_FAULTS.keys())
def test_a_bundle_error_names_files_within_the_bundle_never_where_it_lives(bundle_copy, fault):
    """The message is published (/health/, the API's 503): the host's directory and the OS's words stay out."""
    damage, check = fault
    damage(bundle_copy)
    with pytest.raises(BundleError) as refused:
        check(bundle_copy)
    message = str(refused.value)
    assert str(bundle_copy.parent) not in message and "Errno" not in message, message
    assert "DERMAL_BUNDLE_DIR" in message and ("quantize_model.py" in message), message
