"""At most DERMAI_MAX_CONCURRENT analyses at once; the rest wait briefly, then get 503 + Retry-After."""

import pytest
from django.db import connections
from django.test import Client, override_settings

from Dermal import services
from Dermal.models import Analysis

from ..threads import at_once
from .conftest import submit_to_api, submit_to_page


@pytest.fixture
def slot_taken():
    """Another analysis holds the only slot for the duration of the test."""
    with services.analysis_slot():
        yield


@override_settings(DERMAI_SLOT_TIMEOUT=0.2)
@pytest.mark.parametrize("submit", [submit_to_api, submit_to_page])
def test_busy_server_answers_503_with_retry_after(client, db, lesion_jpeg, slot_taken, submit):
    outcome = submit(client, lesion_jpeg)
    assert outcome.status == 503
    assert outcome.response["Retry-After"] == "1"
    assert "busy" in outcome.error
    assert not Analysis.objects.exists()


def test_the_slot_is_released_after_a_refusal(client, db, lesion_jpeg):
    assert submit_to_api(client, b"garbage").status == 415
    assert submit_to_api(client, lesion_jpeg, age="500").status == 400
    with override_settings(DERMAI_SLOT_TIMEOUT=0.2):
        assert submit_to_api(client, lesion_jpeg, gradcam="false").status == 200


def _burst(lesion_jpeg, count):
    def post():
        try:
            return submit_to_api(Client(), lesion_jpeg, gradcam="true").status
        finally:
            connections.close_all()  # this thread's own connection, or PostgreSQL cannot drop the test database

    return at_once(post, count)


@pytest.mark.django_db(transaction=True)
@override_settings(DERMAI_SLOT_TIMEOUT=300)
def test_a_burst_queues_for_a_slot(lesion_jpeg):
    """Four at once, with a wait longer than three analyses on any machine: each waits its turn and all are
    analysed. (With the default 5 s wait, whether the fourth gets in depends on the machine's speed.)"""
    assert _burst(lesion_jpeg, 4) == [200] * 4
    assert Analysis.objects.count() == 4


@pytest.mark.django_db(transaction=True)
@override_settings(DERMAI_SLOT_TIMEOUT=0.01)
def test_a_burst_beyond_the_wait_is_turned_away_cleanly(lesion_jpeg):
    statuses = _burst(lesion_jpeg, 4)
    assert set(statuses) <= {200, 503}
    assert statuses.count(200) >= 1 and statuses.count(503) >= 1
    assert Analysis.objects.count() == statuses.count(200)
