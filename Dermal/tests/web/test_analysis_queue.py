"""services.AnalysisQueue: first come, first served across people, one turn a round for a greedy browser, the wait
bound and the places bound, and a Retry-After that gives a place when followed."""
import threading
import time

import pytest

from Dermal.exceptions import ServerBusy
from Dermal.services import FIRST_ESTIMATE_S, PROMISE_GRACE_S, AnalysisQueue

WAIT_S = 10  # a bound on how long a test waits for the queue to reach a state; the tests never sleep for time


class Line:
    """A queue and the people in it: each `send(key)` is a request in a thread of its own that takes its turn, notes
    that it started, and holds its turn until `finish()` lets the earliest started one go."""

    def __init__(self, queue):
        self.queue, self.started, self.refused = queue, [], []
        self._finished = threading.Semaphore(0)
        self._threads = []

    def send(self, key):
        state, refused = self.queue.state(), len(self.refused)
        thread = threading.Thread(target=self._request, args=(key,), daemon=True)
        thread.start()
        self._threads.append(thread)
        self.until(lambda now: now["waiting"] + now["running"] > state["waiting"] + state["running"]
                   or len(self.refused) > refused)

    def _request(self, key):
        try:
            with self.queue.turn(key):
                self.started.append(key)
                assert self._finished.acquire(timeout=WAIT_S)
        except ServerBusy as busy:
            self.refused.append((key, busy.retry_after))

    def finish(self, count=1):
        for _ in range(count):
            done = len(self.started)
            self._finished.release()
            self.until(lambda state: len(self.started) > done or state["running"] + state["waiting"] == 0)

    def until(self, condition):
        deadline = time.monotonic() + WAIT_S
        while not condition(self.queue.state()):
            assert time.monotonic() < deadline, f"the queue never got there: {self.queue.state()}"
            time.sleep(0.001)

    def close(self):
        self._finished.release(max(1, len(self._threads)))
        for thread in self._threads:
            thread.join(WAIT_S)


@pytest.fixture
def line():
    made = []

    def make(concurrent=1, max_wait=90, max_waiting=20, clock=time.monotonic):
        made.append(Line(AnalysisQueue(concurrent, max_wait, max_waiting, clock=clock)))
        return made[-1]

    yield make
    for each in made:
        each.close()


def test_people_are_served_in_the_order_they_came(line):
    people = line()
    for key in ("ann", "bao", "chi", "dung"):
        people.send(key)
    assert people.started == ["ann"]
    people.finish(3)
    assert people.started == ["ann", "bao", "chi", "dung"]


def test_a_browser_sending_four_at_once_gets_one_turn_a_round(line):
    people = line()
    people.send("xuan")  # running
    for key in ("greedy", "greedy", "greedy", "greedy", "bao", "chi"):
        people.send(key)
    people.send("dung")  # after the greedy browser's first, still before its second
    people.finish(7)
    assert people.started == ["xuan", "greedy", "bao", "chi", "dung", "greedy", "greedy", "greedy"]


def test_someone_back_for_another_photo_waits_behind_all_who_have_not_had_this_rounds_turn(line):
    people = line()
    for key in ("ann", "bao", "chi"):
        people.send(key)
    people.finish()  # ann answered; bao's turn
    people.send("ann")  # ann again: a turn of the next round
    people.send("dung")  # a newcomer: this round, so before ann's second
    people.finish(3)
    assert people.started == ["ann", "bao", "chi", "dung", "ann"]


def test_the_expected_wait_counts_what_the_running_analysis_has_left(line):
    now = [0.0]
    queue = line(clock=lambda: now[0]).queue
    queue.took(5.0)
    queue.join("ann")
    assert (queue.expected_wait(1), queue.expected_wait(2)) == (5.0, 10.0)
    now[0] = 3.0
    assert (queue.expected_wait(1), queue.expected_wait(2)) == (2.0, 7.0)
    now[0] = 8.0  # ann's analysis runs long: what it has left is unknown, at least nothing
    assert (queue.expected_wait(0), queue.expected_wait(1), queue.expected_wait(2)) == (0.0, 0.0, 5.0)


def test_a_place_given_up_moves_those_behind_it_up(line):
    queue = line().queue
    ann, bao, chi = (queue.join(key) for key in ("ann", "bao", "chi"))
    assert [queue.wait(ticket, timeout=0) for ticket in (ann, bao, chi)] == [0, 1, 2]
    queue.leave(bao)  # bao's connection dropped while waiting
    queue.leave(bao)  # and leaving twice changes nothing
    assert queue.wait(chi, timeout=0) == 1
    queue.leave(ann)
    assert queue.wait(chi, timeout=0) == 0 and queue.state()["running"] == 1 and queue.state()["waiting"] == 0


def test_someone_who_can_start_at_once_is_never_refused(line):
    people = line(max_wait=0, max_waiting=1)
    people.send("ann")
    assert people.started == ["ann"] and people.refused == []


def test_the_wait_bound_refuses_with_a_retry_after_from_the_measured_time(line):
    people = line(max_wait=25)
    people.queue.took(10.0)  # measured: 10 s an analysis, so at most 2 analyses ahead fit in 25 s
    for key in ("ann", "bao", "chi"):  # ann runs; bao waits 10 s, chi 20 s
        people.send(key)
    people.send("dung")  # 30 s: over the bound by one analysis
    people.send("em")  # and one more behind dung, who is owed a place
    assert people.refused == [("dung", 10), ("em", 20)]


def test_a_retry_after_followed_gives_a_place_and_early_keeps_its_rank(line):
    now = [0.0]
    people = line(max_wait=25, clock=lambda: now[0])
    people.queue.took(10.0)
    for key in ("ann", "bao", "chi", "dung", "em"):
        people.send(key)
    assert people.refused == [("dung", 10), ("em", 20)]
    people.send("em")  # back too early, before dung: still behind dung
    assert people.refused[-1] == ("em", 20)
    people.finish()  # ann done: there is room for one, owed to dung
    now[0] = 10.0
    people.send("phuong")  # a newcomer does not take dung's place
    assert people.refused[-1][0] == "phuong"
    people.send("dung")
    assert people.refused[-1][0] == "phuong" and people.queue.state()["waiting"] == 2


@pytest.mark.parametrize("late_s, kept", [(PROMISE_GRACE_S - 1, True), (PROMISE_GRACE_S + 1, False)])
def test_someone_back_late_keeps_their_place_within_the_grace(line, late_s, kept):
    now = [0.0]
    people = line(max_wait=25, clock=lambda: now[0])
    people.queue.took(10.0)
    for key in ("ann", "bao", "chi", "dung"):
        people.send(key)
    assert people.refused == [("dung", 10)]
    people.finish()  # ann done: room for one, owed to dung
    now[0] = 10.0 + late_s  # dung's Retry-After, and a slow upload
    people.send("em")
    assert (people.refused[-1][0] == "em") is kept  # the place is still dung's, or lapsed and taken


def test_the_places_bound_holds_however_short_the_wait(line):
    people = line(max_wait=90, max_waiting=2)
    people.queue.took(1.0)
    for key in ("ann", "bao", "chi", "dung"):
        people.send(key)
    assert people.refused == [("dung", 1)]
    assert people.queue.state() == {"running": 1, "waiting": 2, "seconds_per_analysis": 1.0, "measured": True}


def test_the_estimate_starts_as_a_guess_the_first_timing_replaces(line):
    queue = line().queue
    assert queue.state()["seconds_per_analysis"] == FIRST_ESTIMATE_S and not queue.state()["measured"]
    queue.took(2.0)
    assert queue.state()["seconds_per_analysis"] == 2.0
    queue.took(12.0)
    assert 2.0 < queue.state()["seconds_per_analysis"] < 12.0


def test_a_turn_ended_by_an_error_lets_the_next_one_in(line):
    queue = line().queue
    with pytest.raises(ValueError):
        with queue.turn("ann"):
            raise ValueError("a damaged photo")
    with queue.turn("bao"):
        assert queue.state()["running"] == 1
    assert queue.state()["running"] == 0
