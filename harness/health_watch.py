"""Render's health rule, kept in a thread: GET /health/ every 5 s with a 5 s timeout. A check that times out or
does not answer 200 fails; Render takes an instance that keeps failing out of service and restarts it."""
import threading
import time

import requests

EVERY_S = TIMEOUT_S = 5.0


class HealthWatch(threading.Thread):
    """Checks /health/ from start() to stop(); `checks` holds (seconds taken or None when it timed out, status)."""

    def __init__(self, base_url, every=EVERY_S, timeout=TIMEOUT_S):
        super().__init__(name="health-watch", daemon=True)
        self.url, self.every, self.timeout = base_url.rstrip("/") + "/health/", every, timeout
        self.checks = []
        self._stopped = threading.Event()

    def check(self):
        started = time.monotonic()
        try:
            status = requests.get(self.url, timeout=self.timeout).status_code
        except requests.RequestException:
            return None, 0
        return time.monotonic() - started, status

    def run(self):
        while not self._stopped.is_set():
            started = time.monotonic()
            self.checks.append(self.check())
            self._stopped.wait(max(0.0, self.every - (time.monotonic() - started)))

    def stop(self):
        self._stopped.set()
        self.join()

    def failed(self):
        """For each check, whether Render counts it failed (over the timeout, or not 200)."""
        return [seconds is None or status != 200 for seconds, status in self.checks]

    def longest_failing_run(self):
        """The most failed checks in a row."""
        longest = current = 0
        for failed in self.failed():
            current = current + 1 if failed else 0
            longest = max(longest, current)
        return longest

    def answered_seconds(self):
        """The time of each check, a timed-out one counted at the timeout (it took at least that)."""
        return [self.timeout if seconds is None else seconds for seconds, _ in self.checks]
