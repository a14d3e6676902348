"""The classifier head in NumPy, its exact gradient, and Grad-CAM from it.

The head is whatever follows the backbone's global average pooling, described in the bundle as ordered
layers (dense, affine, activation, concat, identity) reading named inputs: "pooled" and "meta".
Because the pooling is an average, d(score)/d(A[i, j, k]) = d(score)/d(pooled[k]) / (H * W) for every
cell of the feature map A, so Grad-CAM needs only this small backward pass, never the backbone's.
"""
import numpy as np

POOLED, META = "pooled", "meta"


def _softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


ACTIVATIONS = {
    "linear": lambda z: z,
    "relu": lambda z: np.maximum(z, 0.0),
    "sigmoid": lambda z: 1.0 / (1.0 + np.exp(-z)),
    "tanh": np.tanh,
    "softmax": _softmax,
}


def _activation_backward(name, z, y, dy):
    if name == "linear":
        return dy
    if name == "relu":
        return dy * (z > 0)
    if name == "sigmoid":
        return dy * y * (1.0 - y)
    if name == "tanh":
        return dy * (1.0 - y * y)
    return y * (dy - (dy * y).sum(axis=-1, keepdims=True))  # softmax


class NumpyHead:
    """Runs the head described by `layers` with `weights` ("<layer>/<array>") in float64."""

    def __init__(self, layers, weights):
        self.layers = layers
        self.weights = {k: np.asarray(v, dtype=np.float64) for k, v in weights.items()}
        self.output = layers[-1]["name"]
        for layer in layers:
            if layer.get("activation", "linear") not in ACTIVATIONS or layer["op"] not in _FORWARD:
                raise ValueError(f"head layer {layer['name']!r}: unsupported {layer['op']}/{layer.get('activation')}")
        self.output_size = self._output_size(layers)

    def _output_size(self, layers):
        """Classes the head scores: the width of the last dense layer on the way to the output."""
        names = {layer["name"]: layer for layer in layers}
        layer = layers[-1]
        while layer["op"] != "dense":
            layer = names[layer["inputs"][0]]
        return self.weights[f"{layer['name']}/kernel"].shape[1]

    def forward(self, pooled, meta=None):
        """(probabilities, logits, trace); the trace feeds `pooled_gradient`."""
        values = {POOLED: np.asarray(pooled, np.float64)}
        if meta is not None:
            values[META] = np.asarray(meta, np.float64)
        trace = {}
        for layer in self.layers:
            inputs = [values[name] for name in layer["inputs"]]
            z = _FORWARD[layer["op"]](self, layer, inputs)
            activation = layer.get("activation", "linear")
            # The final softmax is kept apart: its input, the logits, is the Grad-CAM score.
            final_softmax = layer["name"] == self.output and activation == "softmax"
            values[layer["name"]] = z if final_softmax else ACTIVATIONS[activation](z)
            trace[layer["name"]] = (inputs, z, values[layer["name"]])
        logits = values[self.output]
        return _softmax(logits), logits, trace

    def pooled_gradient(self, trace, class_index):
        """d logits[:, class_index] / d pooled, exactly, by a backward pass through the traced layers."""
        _, z_out, _ = trace[self.output]
        grads = {self.output: np.zeros_like(z_out)}
        grads[self.output][:, class_index] = 1.0
        for layer in reversed(self.layers):
            name = layer["name"]
            if name not in grads:
                continue  # nothing downstream of this layer reaches the score
            inputs, z, y = trace[name]
            dz = grads.pop(name)
            if name != self.output:
                dz = _activation_backward(layer.get("activation", "linear"), z, y, dz)
            for source, grad in zip(layer["inputs"], _BACKWARD[layer["op"]](self, layer, inputs, dz)):
                grads[source] = grads[source] + grad if source in grads else grad
        return grads[POOLED]

    def _weight(self, layer, key):
        return self.weights.get(f"{layer['name']}/{key}")


def _dense(head, layer, inputs):
    z = inputs[0] @ head._weight(layer, "kernel")
    bias = head._weight(layer, "bias")
    return z if bias is None else z + bias


_FORWARD = {
    "dense": _dense,
    "affine": lambda h, l, x: x[0] * h._weight(l, "scale") + h._weight(l, "shift"),
    "activation": lambda h, l, x: x[0],
    "identity": lambda h, l, x: x[0],
    "concat": lambda h, l, x: np.concatenate(x, axis=-1),
}


def _split_concat(head, layer, inputs, dz):
    edges = np.cumsum([x.shape[-1] for x in inputs])[:-1]
    return np.split(dz, edges, axis=-1)


_BACKWARD = {
    "dense": lambda h, l, x, dz: [dz @ h._weight(l, "kernel").T],
    "affine": lambda h, l, x, dz: [dz * h._weight(l, "scale")],
    "activation": lambda h, l, x, dz: [dz],
    "identity": lambda h, l, x, dz: [dz],
    "concat": _split_concat,
}


def gradcam(feature_map, pooled_grad):
    """Grad-CAM of one (H, W, C) feature map: ReLU(sum_k alpha_k A_k), scaled to [0, 1]."""
    height, width, _ = feature_map.shape
    alpha = (np.asarray(pooled_grad, np.float64).reshape(-1) / (height * width)).astype(np.float32)
    cam = np.maximum(feature_map @ alpha, 0.0)
    peak = cam.max()
    return cam / peak if peak > 0 else cam
