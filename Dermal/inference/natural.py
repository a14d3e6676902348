"""The scope gate's natural-image model (built offline by offline_natural.py), run by LiteRT: a photo's pooled
ImageNet features, from the same (1, H, W, 3) 0-255 batch the backbone reads."""
import threading
from pathlib import Path

import numpy as np

from .bundle import BundleError, shown


class NaturalImageModel:
    def __init__(self, path, threads):
        from ai_edge_litert.interpreter import Interpreter

        try:
            # From bytes, as the backbone: a file replaced under a running server must not pull pages away.
            self.interpreter = Interpreter(model_content=Path(path).read_bytes(), num_threads=threads)
            self.interpreter.allocate_tensors()
        except (ValueError, RuntimeError, OSError) as exc:
            raise BundleError(f"LiteRT cannot load {shown(path)}: run quantize_model.py") from exc
        self._input = self.interpreter.get_input_details()[0]["index"]
        self._output = self.interpreter.get_output_details()[0]["index"]
        self._lock = threading.Lock()

    def features(self, image):
        """Pooled features (channels,) of a (1, H, W, 3) 0-255 batch."""
        with self._lock:
            self.interpreter.set_tensor(self._input, np.ascontiguousarray(image, dtype=np.float32))
            self.interpreter.invoke()
            return self.interpreter.get_tensor(self._output)[0].copy()
