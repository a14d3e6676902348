"""The serving bundle: manifest, backbone files, head weights, and the metadata encoding it declares.

Layout (written by quantize_model.py):
    manifest.json          classes, input size, metadata encoding, backbones per precision, validation
    head.json, head.npz    the classifier head as ordered layers and their weights (see head.py)
    backbone_<p>.tflite    image -> last convolutional feature map (+ scope statistics), one file per precision
    scope_<p>.npz          the scope gate of that backbone (see scope.py; written by `python -m trust`)
    natural_int8.tflite    a model that knows natural images, for the scope gate (offline_natural.py), optional
"""
import hashlib
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from .words import fill, gettext_noop

# Standard library only at import (NumPy is imported where the weights are read), so that build.sh can
# check the bundle before installing anything and the web process can read the manifest cheaply.
DEFAULT_BUNDLE_DIR = Path(__file__).resolve().parent.parent / "bundle"
MANIFEST, HEAD_LAYERS, HEAD_WEIGHTS = "manifest.json", "head.json", "head.npz"
# The scope gate's arrays (scope_<precision>.npz, written by the trust tool): the lesion reference of the
# backbone statistics, and the regression over distance and colour.
SCOPE_ARRAYS = ("mean", "std", "feature_mean", "feature_scale", "weights", "intercept")
# ... and, for a bundle with a natural-image model (manifest key NATURAL), the lesion photos' features in it.
NATURAL, NATURAL_REFERENCE = "natural", "natural_reference"


class BundleError(RuntimeError):
    """The serving bundle is missing, damaged or inconsistent; the message says what to do.

    The message may be published (/health/, a 503): it names files within the bundle as DERMAL_BUNDLE_DIR/<file>,
    never the directory on this host, and leaves the OS's or NumPy's own words to the chained cause, which
    Dermal.public_errors logs. It is for the operator, so it stays in English (not marked for translation).
    """


class MetadataError(ValueError):
    """Patient metadata outside what the model knows; `field` names the culprit.

    The message is for the person who sent it: its English message id (marked with gettext_noop, `%(field)s`
    being the field's name) and the values of its placeholders, for the web layer to translate; str() gives it in
    English, filled in.
    """

    def __init__(self, field, message_id, **params):
        self.field, self.message_id, self.params = field, message_id, {"field": field, **params}
        super().__init__(fill(message_id, self.params))


def bundle_dir():
    return Path(os.environ.get("DERMAL_BUNDLE_DIR") or DEFAULT_BUNDLE_DIR)


def shown(name):
    """A bundle file as published: within DERMAL_BUNDLE_DIR, wherever that is on this host."""
    return f"DERMAL_BUNDLE_DIR/{Path(name).name}"


def sha256_of(path):
    with open(path, "rb") as handle:  # file_digest reads into one reused buffer: no new megabyte per read
        return hashlib.file_digest(handle, "sha256").hexdigest()


def read_manifest(directory):
    path = Path(directory) / MANIFEST
    try:
        return json.loads(path.read_text())
    except FileNotFoundError as exc:
        raise BundleError(f"no serving bundle in DERMAL_BUNDLE_DIR ({MANIFEST} is missing): "
                          f"run quantize_model.py to create it") from exc
    except (OSError, ValueError) as exc:
        raise BundleError(f"{shown(path)} is unreadable: regenerate the bundle with quantize_model.py") from exc


def choose_precision(manifest, requested=None):
    precision = requested or os.environ.get("DERMAL_PRECISION") or manifest["default_precision"]
    if precision not in manifest["backbones"]:
        raise BundleError(
            f"precision {precision!r} is not in this bundle (it has {', '.join(manifest['backbones'])}): "
            f"run quantize_model.py --precision {precision}")
    return precision


def _verified(directory, entry):
    """The path of a bundle file after checking its size and SHA-256 against the manifest."""
    path = Path(directory) / entry["file"]
    if not path.is_file():
        raise BundleError(f"{shown(path)} is missing: restore it or run quantize_model.py")
    if path.stat().st_size != entry["bytes"] or sha256_of(path) != entry["sha256"]:
        raise BundleError(f"{shown(path)} does not match manifest.json (truncated or replaced): "
                          f"run quantize_model.py")
    return path


_checked = {"key": None, "answer": None}
_checked_lock = threading.Lock()


def _fingerprint(directory):
    """What changes when any bundle file is replaced, truncated or has its permissions changed."""
    try:
        entries = sorted((entry.name, entry.stat().st_mtime_ns, entry.stat().st_ctime_ns, entry.stat().st_size)
                         for entry in os.scandir(directory))
    except OSError:
        return None
    return str(directory), os.environ.get("DERMAL_PRECISION"), tuple(entries)


def checked_bundle(directory=None):
    """check_bundle()'s answer, hashing the ~28 MB again only after a file changed: the health checks and the
    model's load share it, so a just-started service hashes the bundle once (a quarter second at 0.1 CPU)."""
    directory = Path(directory or bundle_dir())
    key = _fingerprint(directory)
    with _checked_lock:
        if key is not None and _checked["key"] == key:
            return _checked["answer"]
        answer = check_bundle(directory)
        _checked.update(key=key, answer=answer)
        return answer


def check_bundle(directory=None, precision=None):
    """Verify the bundle without loading the model: returns (manifest, precision, backbone path)."""
    directory = Path(directory or bundle_dir())
    manifest = read_manifest(directory)
    try:
        precision = choose_precision(manifest, precision)
        backbone = manifest["backbones"][precision]
        gate = backbone.get("scope") or {}
        natural = [manifest[NATURAL]] if NATURAL in manifest else []
        for entry in [*manifest["head"].values(), *([gate] if "file" in gate else []), *natural]:
            _verified(directory, entry)
        return manifest, precision, _verified(directory, backbone)
    except (KeyError, TypeError) as exc:
        raise BundleError(f"manifest.json lacks {exc}: regenerate the bundle with quantize_model.py") from exc


def load_head_description(directory, manifest):
    from zipfile import BadZipFile

    import numpy as np

    directory = Path(directory)
    try:
        layers = json.loads((directory / manifest["head"]["layers"]["file"]).read_text())
        with np.load(directory / manifest["head"]["weights"]["file"], allow_pickle=False) as archive:
            weights = {name: archive[name] for name in archive.files}
    except (OSError, ValueError, KeyError, BadZipFile) as exc:  # np.load of a damaged archive raises BadZipFile
        raise BundleError("the head in DERMAL_BUNDLE_DIR is unreadable: run quantize_model.py") from exc
    return layers, weights


def scope_entry(manifest, precision):
    """The backbone's scope entry: the layers its statistics come from and their sizes, plus the fitted gate if
    any. The Keras engine asks for "fp32" and falls back to the default precision's entry."""
    backbones = manifest["backbones"]
    return (backbones.get(precision) or backbones.get(manifest.get("default_precision")) or {}).get("scope")


def natural_model_path(directory, manifest):
    """The checked path of the bundle's natural-image model, or None if it has none."""
    return _verified(directory, manifest[NATURAL]) if NATURAL in manifest else None


def load_scope_reference(directory, manifest, precision):
    """The scope gate of one backbone (scope.py): its reference, regression and thresholds, or None if it has none."""
    from zipfile import BadZipFile

    import numpy as np

    from .scope import GATE_FEATURES

    entry = scope_entry(manifest, precision)
    if not entry or "file" not in entry:
        return None
    path = _verified(directory, entry)
    try:
        with np.load(path, allow_pickle=False) as archive:
            gate = {name: archive[name] for name in (*SCOPE_ARRAYS, *{NATURAL_REFERENCE} & set(archive.files))}
        if gate["weights"].shape != (GATE_FEATURES,):
            raise ValueError(f"its regression reads {gate['weights'].size} features, "
                             f"this code computes {GATE_FEATURES}")
        return {**gate, "sizes": entry["sizes"], "layers": entry["layers"], "thresholds": entry["thresholds"],
                "colourless_saturation": entry["colourless_saturation"]}
    except (OSError, ValueError, KeyError, BadZipFile) as exc:  # np.load of a damaged archive raises BadZipFile
        raise BundleError(f"the scope gate {shown(path)} is unreadable or outdated: run python -m trust") from exc


@dataclass(frozen=True)
class ClassInfo:
    code: str
    name: str
    malignant: bool
    description: str


def class_infos(manifest):
    return [ClassInfo(c["code"], c["name"], c["malignant"], c["description"]) for c in manifest["classes"]]


def encode_metadata(manifest, age=None, sex=None, site=None):
    """The model's metadata vector (1, n) from age/sex/site as the manifest declares it; None if it has none.

    Missing values are the model's own "unknown": the sex and site 'unknown' category, the age-missing flag.
    """
    import numpy as np

    spec = manifest.get("metadata")
    if spec is None:
        return None
    parts = []
    for field in spec["layout"]:
        if field in ("sex", "site"):
            parts.extend(_one_hot(field, {"sex": sex, "site": site}[field], spec[field]["values"]))
        elif field == "age":
            parts.append(_age(age, spec["age"]) / spec["age"]["max"])
        elif field == "age_missing":
            parts.append(1.0 if age in (None, "") else 0.0)
        else:
            raise BundleError(f"manifest.json declares an unknown metadata field {field!r}")
    return np.asarray([parts], dtype=np.float32)


def _one_hot(field, value, values):
    value = (value or "unknown").strip().lower()
    if value not in values:
        # Translators: %(field)s is the field's name in the API (sex or site), left as it is; %(values)s its values.
        raise MetadataError(field, gettext_noop("%(field)s must be one of %(values)s (got %(value)s)"),
                            values=", ".join(values), value=repr(value))
    return [1.0 if v == value else 0.0 for v in values]


def _age(age, spec):
    if age in (None, ""):
        return spec["mean"]
    try:
        years = float(age)
    except (TypeError, ValueError) as exc:
        # Translators: %(field)s is "age", the field's name in the API, left as it is.
        raise MetadataError("age", gettext_noop("%(field)s must be a number of years (got %(value)s)"),
                            value=repr(age)) from exc
    if not 0 <= years <= spec["limit"]:
        # Translators: %(field)s is "age", the field's name in the API, left as it is.
        raise MetadataError("age", gettext_noop("%(field)s must be between 0 and %(limit)s years (got %(value)s)"),
                            limit=f"{spec['limit']:g}", value=repr(age))
    return years
