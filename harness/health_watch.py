"""Render's health rule, kept in a thread: GET /health/ every 5 s with a 5 s timeout. A check that times out or
does not answer 200 fails; Render takes an instance that keeps failing out of service and restarts it."""
import threading
import time
from typing import NamedTuple

import requests

EVERY_S = TIMEOUT_S = 5.0


class Check(NamedTuple):
    at: float  # seconds from the watch's start to the check's
    seconds: float | None  # what it took, None when it timed out or found no server
    status: int  # 0 without an answer


class HealthWatch(threading.Thread):
    """Checks /health/ from start() to stop(); `checks` holds a Check for each."""

    def __init__(self, base_url, every=EVERY_S, timeout=TIMEOUT_S):
        super().__init__(name="health-watch", daemon=True)
        self.url, self.every, self.timeout = base_url.rstrip("/") + "/health/", every, timeout
        self.checks = []
        self._stopped = threading.Event()

    def check(self, at):
        started = time.monotonic()
        try:
            status = requests.get(self.url, timeout=self.timeout).status_code
        except requests.RequestException:
            return Check(at, None, 0)
        return Check(at, time.monotonic() - started, status)

    def run(self):
        begun = time.monotonic()
        while not self._stopped.is_set():
            started = time.monotonic()
            self.checks.append(self.check(started - begun))
            self._stopped.wait(max(0.0, self.every - (time.monotonic() - started)))

    def stop(self):
        self._stopped.set()
        self.join()

    def failed(self):
        """For each check, whether Render counts it failed (over the timeout, or not 200)."""
        return [check.seconds is None or check.status != 200 for check in self.checks]

    def longest_failing_run(self):
        """The most failed checks in a row."""
        longest = current = 0
        for failed in self.failed():
            current = current + 1 if failed else 0
            longest = max(longest, current)
        return longest

    def answered_seconds(self):
        """The time of each check, a timed-out one counted at the timeout (it took at least that)."""
        return [self.timeout if check.seconds is None else check.seconds for check in self.checks]

    def slower_than(self, seconds):
        """[when, what it took] of each check that took longer than `seconds` (when: from the watch's start)."""
        return [[round(check.at, 1), round(taken, 2)] for check, taken in zip(self.checks, self.answered_seconds())
                if taken > seconds]
