"""TensorFlow side of DermAI: split a Keras classifier into backbone + head, and run it as a reference.

Imported only by quantize_model.py, the reference checks and the opt-in Keras engine
(DERMAL_ENGINE=keras): TensorFlow alone costs ~520 MB, so the web process never imports this by default.
"""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

IMAGE, META, POOLED = "image", "meta", "pooled"
_ACTIVATIONS = {"linear", "relu", "sigmoid", "tanh", "softmax"}


class UnsupportedModel(ValueError):
    """The Keras model is not of the CNN -> global average pooling -> dense head shape."""


def load_keras_model(path):
    return keras.models.load_model(path, compile=False)


def _history_names(args):
    """Names of the layers whose outputs feed a node (recursing into lists, as Concatenate has)."""
    if isinstance(args, dict):
        if args.get("class_name") == "__keras_tensor__":
            return [args["config"]["keras_history"][0]]
        return [n for v in args.values() for n in _history_names(v)]
    if isinstance(args, (list, tuple)):
        return [n for v in args for n in _history_names(v)]
    return []


def _layer_graph(model):
    """[(layer, [names of the layers it reads])] in topological order, for Functional and Sequential models."""
    if isinstance(model, keras.Sequential):
        prev, graph = [IMAGE], []
        for layer in model.layers:
            graph.append((layer, prev))
            prev = [layer.name]
        return graph
    config = {c["name"]: c for c in model.get_config()["layers"]}
    graph = []
    for layer in model.layers:
        nodes = config[layer.name].get("inbound_nodes") or []
        if len(nodes) > 1:
            raise UnsupportedModel(f"layer {layer.name!r} is used more than once")
        graph.append((layer, _history_names(nodes[0]["args"]) if nodes else []))
    return graph


def _ends_in_average_pooling(layer):
    if isinstance(layer, keras.layers.GlobalAveragePooling2D):
        return True
    return isinstance(layer, keras.Model) and isinstance(layer.layers[-1], keras.layers.GlobalAveragePooling2D)


def _input_names(model):
    """Top-level input layer names: (image input, metadata input or None)."""
    if isinstance(model, keras.Sequential):
        return IMAGE, None
    names = {len(t.shape): t._keras_history.operation.name for t in model.inputs}
    if len(model.inputs) > 2 or 4 not in names:
        raise UnsupportedModel("expected one image input (rank 4) and at most one metadata input (rank 2)")
    return names[4], names.get(2)


class SplitModel:
    """A Keras classifier seen as backbone (image -> last conv feature map) and head (pooled, meta -> probs).

    With `scope_layers` (backbone layer names), `serving_backbone` also outputs those layers' per-channel
    means and standard deviations, concatenated: the statistics the out-of-scope gate compares (scope.py).
    """

    def __init__(self, model, scope_layers=()):
        self.model = model
        self.image_name, self.meta_name = _input_names(model)
        graph = _layer_graph(model)
        pool_at = next((i for i, (layer, _) in enumerate(graph) if _ends_in_average_pooling(layer)), None)
        if pool_at is None:
            raise UnsupportedModel("no GlobalAveragePooling2D found (directly or as a backbone's last layer)")
        self.pool_layer = graph[pool_at][0]
        self.backbone, self.serving_backbone, self.scope_sizes = self._build_backbone(graph, pool_at, scope_layers)
        self.head_graph = self._head_graph(graph[pool_at + 1:])
        self.feature_shape = tuple(self.backbone.output.shape[1:])

    def _build_backbone(self, graph, pool_at, scope_layers):
        """Re-trace the image path (e.g. a Normalization layer, then the CNN) up to the pooled feature map.

        Returns (image -> feature map, image -> [feature map, scope statistics], statistics size per layer).
        """
        image = next(t for t in self.model.inputs if len(t.shape) == 4)
        fresh = keras.Input(shape=image.shape[1:], name=IMAGE)
        values = {self.image_name: fresh}
        for layer, inputs in graph[:pool_at]:
            if inputs and all(n in values for n in inputs):
                values[layer.name] = _call_exposing(layer, layer.output, [values[n] for n in inputs],
                                                    scope_layers, values)
        (source,) = graph[pool_at][1]
        fmap = values[source]
        if isinstance(self.pool_layer, keras.Model):  # a CNN ending in its own pooling: stop before it
            fmap = _call_exposing(self.pool_layer, self.pool_layer.layers[-1].input, [fmap], scope_layers, values)
        missing = [n for n in scope_layers if n not in values]
        if missing:
            raise UnsupportedModel(f"scope layers not on the image path: {', '.join(missing)}")
        backbone = keras.Model(fresh, fmap, name="backbone")
        if not scope_layers:
            return backbone, backbone, []
        stats = [_channel_statistics(values[n]) for n in scope_layers]
        serving = keras.Model(fresh, [fmap, keras.layers.Concatenate()(stats)], name="serving_backbone")
        return backbone, serving, [int(t.shape[-1]) for t in stats]

    def _head_graph(self, rest):
        renames = {self.pool_layer.name: POOLED, self.meta_name: META}
        head = []
        for layer, inputs in rest:
            if isinstance(layer, keras.layers.InputLayer):
                continue
            sources = [renames.get(n, n) for n in inputs]
            if self.image_name in sources:
                raise UnsupportedModel(f"layer {layer.name!r} reads the image outside the backbone")
            head.append((layer, sources))
        if not head:
            raise UnsupportedModel("nothing after the global pooling: no classifier head")
        return head

    # -- the head description written into the bundle --------------------------------------------------
    def describe_head(self):
        """(layers: list of JSON-able dicts in order, weights: dict name -> array) for the NumPy head."""
        layers, weights = [], {}
        for layer, sources in self.head_graph:
            node, arrays = _describe_layer(layer)
            node.update(name=layer.name, inputs=sources)
            layers.append(node)
            weights.update({f"{layer.name}/{k}": np.asarray(v, np.float32) for k, v in arrays.items()})
        if layers[-1].get("activation") != "softmax":
            raise UnsupportedModel("the head must end in a softmax")
        return layers, weights

    # -- reference inference with TensorFlow -----------------------------------------------------------
    def run_head(self, pooled, meta, logits=False):
        """The original Keras head layers applied to tensors; logits=True stops before the final softmax."""
        values = {POOLED: pooled, META: meta}
        last = self.head_graph[-1][0].name
        for layer, sources in self.head_graph:
            args = [values[s] for s in sources]
            arg = args if isinstance(layer, keras.layers.Concatenate) else args[0]
            if logits and layer.name == last:
                values[layer.name] = _without_softmax(layer, arg)
            else:
                values[layer.name] = layer(arg, training=False)
        return values[last]

    def scope_statistics(self, image):
        """The serving backbone's scope statistics (1-D) for a (1, H, W, 3) batch."""
        return self.serving_backbone(tf.convert_to_tensor(image, tf.float32), training=False)[1][0].numpy()

    def analyse(self, image, meta, class_index=None):
        """(probabilities, Grad-CAM 2-D map or None) with tf.GradientTape, the way Keras users compute it."""
        image = tf.convert_to_tensor(image, tf.float32)
        meta = None if meta is None else tf.convert_to_tensor(meta, tf.float32)
        with tf.GradientTape() as tape:
            fmap = self.backbone(image, training=False)
            tape.watch(fmap)
            logits = self.run_head(tf.reduce_mean(fmap, axis=(1, 2)), meta, logits=True)
            probs = tf.nn.softmax(logits)
            chosen = int(tf.argmax(probs[0])) if class_index is None else class_index
            score = logits[:, chosen]
        grads = tape.gradient(score, fmap)
        weights = tf.reduce_mean(grads, axis=(1, 2))
        cam = tf.nn.relu(tf.reduce_sum(fmap * weights[:, None, None, :], axis=-1))[0].numpy()
        peak = cam.max()
        return probs[0].numpy().astype(np.float64), (cam / peak if peak > 0 else cam)


def _call_exposing(layer, output, args, names, values):
    """Call `layer` on `args` for its `output`; for a nested model, also put the outputs of its inner layers
    named in `names` into `values` (the scope layers live inside the CNN)."""
    inner = [n for n in names if isinstance(layer, keras.Model) and _has_layer(layer, n)]
    if not inner and output is layer.output:
        return layer(*args)
    first, *rest = keras.Model(layer.inputs, [output, *(layer.get_layer(n).output for n in inner)])(*args)
    values.update(zip(inner, rest))
    return first


def _has_layer(model, name):
    return any(layer.name == name for layer in model.layers)


def _channel_statistics(tensor):
    """Per-channel mean and standard deviation over the spatial axes of a (batch, H, W, C) tensor."""
    return keras.layers.Concatenate()([keras.ops.mean(tensor, axis=(1, 2)), keras.ops.std(tensor, axis=(1, 2))])


def _without_softmax(layer, x):
    if isinstance(layer, keras.layers.Dense):
        y = tf.matmul(x, layer.kernel)
        return y + layer.bias if layer.use_bias else y
    return x  # a final Activation("softmax") layer: its input is the logits


def _activation_name(fn):
    name = getattr(fn, "__name__", str(fn))
    if name not in _ACTIVATIONS:
        raise UnsupportedModel(f"activation {name!r} is not supported by the NumPy head")
    return name


def _describe_layer(layer):
    """One head layer as (JSON node, weights). Batch-norm and normalization fold into scale and shift."""
    L = keras.layers
    if isinstance(layer, L.Dense):
        arrays = {"kernel": layer.kernel.numpy()}
        if layer.use_bias:
            arrays["bias"] = layer.bias.numpy()
        return {"op": "dense", "activation": _activation_name(layer.activation)}, arrays
    if isinstance(layer, L.BatchNormalization):
        size = layer.moving_mean.shape[-1]
        gamma = layer.gamma.numpy() if layer.scale else np.ones(size)
        beta = layer.beta.numpy() if layer.center else np.zeros(size)
        scale = gamma / np.sqrt(layer.moving_variance.numpy() + layer.epsilon)
        return {"op": "affine"}, {"scale": scale, "shift": beta - layer.moving_mean.numpy() * scale}
    if isinstance(layer, L.Normalization):
        mean, var = (np.ravel(np.asarray(v)) for v in (layer.mean, layer.variance))
        scale = 1.0 / np.sqrt(np.maximum(var, keras.config.epsilon()))
        return {"op": "affine"}, {"scale": scale, "shift": -mean * scale}
    if isinstance(layer, L.Activation):
        return {"op": "activation", "activation": _activation_name(layer.activation)}, {}
    if isinstance(layer, L.ReLU) and layer.max_value is None and not layer.negative_slope and not layer.threshold:
        return {"op": "activation", "activation": "relu"}, {}
    if isinstance(layer, L.Softmax):
        return {"op": "activation", "activation": "softmax"}, {}
    if isinstance(layer, L.Concatenate):
        if layer.axis not in (-1, 1):
            raise UnsupportedModel(f"{layer.name}: only feature-axis concatenation is supported")
        return {"op": "concat"}, {}
    if isinstance(layer, (L.Dropout, L.Flatten, L.GaussianNoise, L.GaussianDropout, L.AlphaDropout)):
        return {"op": "identity"}, {}
    raise UnsupportedModel(f"layer {layer.name!r} ({type(layer).__name__}) is not supported in the head")


def tf_reference_input(image_bytes, size):
    """How the model was trained (sklesion's preprocess): decode with TF, bilinear resize without antialias."""
    image = tf.io.decode_image(image_bytes, channels=3, expand_animations=False)
    return tf.image.resize(image, size)[None].numpy()


def convert_backbone(backbone, precision):
    """The backbone as .tflite bytes. int8 is dynamic-range (weights int8, activations float)."""
    converter = tf.lite.TFLiteConverter.from_keras_model(backbone)
    if precision == "fp16":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
    elif precision == "int8":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    elif precision != "fp32":
        raise ValueError(f"unknown precision {precision!r}")
    return converter.convert()
