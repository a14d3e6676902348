"""The page and the API analyse in their person's turn of services.analysis_queue: a burst waits its turns, a queue
with no room answers 503 with the queue's Retry-After, and fairness is keyed on the browser or the token."""
import math
import threading
import time

import pytest
from django.db import connections
from django.test import Client, RequestFactory

from Dermal import services
from Dermal.models import Analysis
from Dermal.views import person

from ..threads import at_once
from .conftest import submit_to_api, submit_to_page


@pytest.fixture
def queue(monkeypatch):
    """A fresh analysis queue for the test (the worker's is made once, from the settings): queue(max_wait=...)."""
    def install(**bounds):
        fresh = services.AnalysisQueue(**{"concurrent": 1, "max_wait": 90, "max_waiting": 20, **bounds})
        monkeypatch.setattr(services, "analysis_queue", fresh)
        return fresh

    return install


@pytest.mark.parametrize("submit", [submit_to_api, submit_to_page])
def test_a_full_queue_answers_503_with_the_queues_retry_after(client, db, lesion_jpeg, queue, submit):
    with queue(max_wait=0).turn("someone else"):
        outcome = submit(client, lesion_jpeg)
    assert outcome.status == 503
    assert outcome.response["Retry-After"] == str(math.ceil(services.FIRST_ESTIMATE_S))  # one analysis, not yet timed
    assert "busy" in outcome.error
    assert not Analysis.objects.exists()


def test_the_turn_is_given_back_after_a_refusal(client, db, lesion_jpeg, queue):
    waits = queue(max_wait=0)
    assert submit_to_api(client, b"garbage").status == 415
    assert submit_to_api(client, lesion_jpeg, age="500").status == 400
    assert submit_to_api(client, lesion_jpeg, gradcam="false").status == 200
    assert waits.state()["running"] == waits.state()["waiting"] == 0


def _burst(lesion_jpeg, count):
    def post():
        try:
            return submit_to_api(Client(), lesion_jpeg, gradcam="true").status
        finally:
            connections.close_all()  # this thread's own connection, or PostgreSQL cannot drop the test database

    return at_once(post, count)


@pytest.mark.django_db(transaction=True)
def test_a_burst_waits_its_turns_and_every_photo_is_analysed(lesion_jpeg, queue):
    waits = queue()
    assert _burst(lesion_jpeg, 4) == [200] * 4
    assert Analysis.objects.count() == 4
    assert waits.state()["measured"]  # the warm analyses timed the queue's estimate


@pytest.mark.django_db(transaction=True)
def test_a_burst_with_no_wait_allowed_is_turned_away_cleanly(lesion_jpeg, queue):
    queue(max_wait=0)
    statuses = _burst(lesion_jpeg, 4)
    assert set(statuses) <= {200, 503}
    assert statuses.count(200) >= 1 and statuses.count(503) >= 1
    assert Analysis.objects.count() == statuses.count(200)


def test_the_memory_report_shows_the_queue(client, queue):
    waits = queue()
    with waits.turn("someone"):
        assert client.get("/memory/").json()["analysis_queue"] == waits.state() == {
            "running": 1, "waiting": 0, "seconds_per_analysis": services.FIRST_ESTIMATE_S, "measured": False}


def asking(**headers):
    cookie = headers.pop("cookie", None)
    request = RequestFactory().post("/", REMOTE_ADDR="10.0.0.9", headers=headers)
    if cookie:
        request.COOKIES["csrftoken"] = cookie
    return person(request)


def test_two_phones_behind_one_address_are_two_people():
    assert asking(cookie="phone-a") != asking(cookie="phone-b")
    assert asking(cookie="phone-a") == asking(cookie="phone-a", x_forwarded_for="1.2.3.4")


def test_an_api_token_is_one_person_whatever_its_address_and_never_kept_in_clear():
    token = asking(authorization="Bearer s3cret", x_forwarded_for="1.1.1.1")
    assert token == asking(authorization="Bearer s3cret", x_forwarded_for="2.2.2.2") != asking(authorization="Bearer x")
    assert "s3cret" not in token


def test_without_a_browser_or_a_token_the_address_render_saw_decides():
    assert asking() == "address 10.0.0.9"
    # a client can write X-Forwarded-For itself; Render's proxy adds the address it saw last
    assert asking(x_forwarded_for="6.6.6.6, 203.0.113.7") == asking(x_forwarded_for="7.7.7.7, 203.0.113.7") \
        == "address 203.0.113.7"


def _page_post(client, lesion_jpeg, **headers):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post("/", {"image": SimpleUploadedFile("lesion.jpg", lesion_jpeg), "gradcam": "on"},
                       headers=headers)


@pytest.mark.django_db(transaction=True)
def test_the_page_hears_its_place_while_it_waits_then_gets_its_result(client, lesion_jpeg, queue):
    waits = queue(clock=lambda: 0.0)  # time stands still: the estimate is the test's
    waits.took(6.0)
    ahead = waits.join("someone else")  # analysing
    response = _page_post(client, lesion_jpeg, DermAI_Queue="place")
    assert response["DermAI-Queue"] == "place" and response.streaming
    lines = iter(response.streaming_content)
    assert next(lines) == b"place 1 6\n"  # next in line, about one analysis away
    waits.leave(ahead)
    assert next(lines) == b"place 0 0\n"  # its turn
    assert next(lines) == b"\n"
    page = b"".join(lines).decode()
    assert 'id="diagnosis"' in page and Analysis.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_person_gone_while_waiting_gives_up_the_place(client, lesion_jpeg, queue):
    waits = queue()
    ahead = waits.join("someone else")
    response = _page_post(client, lesion_jpeg, DermAI_Queue="place")
    assert next(iter(response.streaming_content)).startswith(b"place 1 ")
    assert waits.state()["waiting"] == 1
    response.close()  # what the server does when writing to a dropped connection fails
    assert waits.state()["waiting"] == 0
    waits.leave(ahead)
    assert not Analysis.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_without_javascript_the_form_waits_in_the_same_queue_for_its_page(lesion_jpeg, queue):
    waits = queue()
    ahead = waits.join("someone else")
    answered = []

    def post():
        try:
            answered.append(_page_post(Client(), lesion_jpeg))
        finally:
            connections.close_all()  # this thread's own connection, or PostgreSQL cannot drop the test database

    thread = threading.Thread(target=post)
    thread.start()
    deadline = time.monotonic() + 30
    while waits.state()["waiting"] < 1:  # the post has taken its place in line
        assert time.monotonic() < deadline and thread.is_alive()
        time.sleep(0.01)
    waits.leave(ahead)
    thread.join(120)
    (response,) = answered
    assert response.status_code == 200 and not response.streaming
    assert 'id="diagnosis"' in response.content.decode()
