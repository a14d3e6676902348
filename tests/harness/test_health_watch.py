"""harness.health_watch: Render's health rule against a real local HTTP server that is slow for a while."""
import time

from harness.health_watch import HealthWatch
from tests.harness.local_http import Handler, serving


class Health(Handler):
    """/health/ answers 200 at once, except that the checks numbered in `slow` take `delay` seconds."""
    slow, delay, count = set(), 0.0, 0

    def do_GET(self):
        Health.count += 1
        if Health.count in self.slow:
            time.sleep(self.delay)
        self.answer(200, b"ok")


def test_checks_over_the_timeout_fail_and_the_longest_run_is_counted():
    Health.slow, Health.delay, Health.count = {2, 4, 5}, 0.5, 0
    with serving(Health) as (base_url, _):
        watch = HealthWatch(base_url, every=0.05, timeout=0.2)
        watch.start()
        while len(watch.checks) < 7:  # the checks themselves are the condition
            time.sleep(0.01)
        watch.stop()
    assert watch.failed()[:6] == [False, True, False, True, True, False]
    assert watch.longest_failing_run() >= 2 and watch.answered_seconds()[1] == 0.2


def test_the_slow_checks_are_listed_with_when_they_began():
    Health.slow, Health.delay, Health.count = {3}, 0.3, 0
    with serving(Health) as (base_url, _):
        watch = HealthWatch(base_url, every=0.05, timeout=1.0)
        watch.start()
        while len(watch.checks) < 4:
            time.sleep(0.01)
        watch.stop()
    [(at, took)] = watch.slower_than(0.25)
    assert took >= 0.3 and at == round(watch.checks[2].at, 1) and at >= 0.1
