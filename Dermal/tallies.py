"""What a worker counts and paces across its threads (Gunicorn's threads share these module-level objects)."""
import threading
import time


class Counter:
    """A thread-safe count (two Gunicorn threads share this module)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._value = 0

    def increment(self):
        with self._lock:
            self._value += 1

    @property
    def value(self):
        return self._value


class Throttle:
    """due() is true at most once per `seconds` of `clock`, the first call included; thread-safe."""

    def __init__(self, seconds, clock=time.monotonic):
        self.seconds, self._clock = seconds, clock
        self._lock = threading.Lock()
        self._last = None

    def due(self):
        now = self._clock()
        with self._lock:
            if self._last is not None and now - self._last < self.seconds:
                return False
            self._last = now
            return True


# Analyses answered but not recorded in the history (the database failed): /health/, /health/ready/ and /memory/
# show it.
history_write_failures = Counter()
