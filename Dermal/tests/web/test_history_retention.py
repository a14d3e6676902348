"""The history keeps an analysis DERMAI_HISTORY_DAYS days (0: for ever). The service prunes older ones by itself,
after a recorded analysis, at most once per PRUNE_EVERY_HOURS per process, in a thread of its own: the answer
never waits for it, and a failure is logged, never raised."""
import logging
import threading
import time
from datetime import timedelta
from urllib.parse import quote

import pytest
from django.db import DatabaseError, connection, connections
from django.utils import timezone

from Dermal import services
from Dermal.models import Analysis
from Dermal.selectors import expired_analyses, history_cutoff
from Dermal.services import prune_history, prune_history_now_and_then
from Dermal.tallies import Throttle
from harness.photos import Image
from harness.service import running_service

from ..threads import at_once
from .conftest import submit_to_api

LIMIT = timedelta(days=90)
MINUTE = timedelta(minutes=1)
POSTGRESQL_ONLY = "needs PostgreSQL: set DATABASE_URL=postgres://... (scripts/test.sh's database stage does)"


def recorded(at):
    """A history row recorded at `at` (the insert stamps the present: the row is moved back after)."""
    row = Analysis.objects.create(image_sha256="0" * 64, probabilities={"nv": 1.0}, top_class="nv", top_probability=1.0,
                                  malignant_probability=0.0, engine="litert", precision="int8", gradcam=False,
                                  latency_ms=300)
    Analysis.objects.filter(pk=row.pk).update(created_at=at)
    return row.pk


def remaining(pks):
    return set(Analysis.objects.filter(pk__in=pks).values_list("pk", flat=True))


def wait_until_gone(pks, seconds=30):
    deadline = time.monotonic() + seconds
    while remaining(pks) and time.monotonic() < deadline:
        time.sleep(0.1)
    return not remaining(pks)


@pytest.fixture
def ninety_days(settings):
    settings.DERMAI_HISTORY_DAYS = 90


@pytest.fixture
def fresh_pruning(monkeypatch, ninety_days):
    """A worker that has not pruned yet: its next recorded analysis prunes."""
    monkeypatch.setattr(services, "history_pruning", Throttle(services.PRUNE_EVERY_HOURS * 3600))


def pruning_threads():
    return [thread for thread in threading.enumerate() if thread.name == "dermai-prune-history"]


# --- where the limit falls --------------------------------------------------------------------------------------

def test_the_cutoff_is_the_limit_before_now_and_none_when_kept_for_ever(settings):
    now = timezone.now()
    settings.DERMAI_HISTORY_DAYS = 90
    assert history_cutoff(now) == now - LIMIT
    settings.DERMAI_HISTORY_DAYS = 0
    assert history_cutoff(now) is None


@pytest.mark.django_db
def test_a_minute_older_than_the_limit_is_removed_a_minute_younger_kept(ninety_days):
    now = timezone.now()
    older, at_limit, younger = recorded(now - LIMIT - MINUTE), recorded(now - LIMIT), recorded(now - LIMIT + MINUTE)
    assert list(expired_analyses(history_cutoff(now)).values_list("pk", flat=True)) == [older]
    assert prune_history(history_cutoff(now)) == 1
    assert remaining([older, at_limit, younger]) == {at_limit, younger}  # exactly at the limit: kept


@pytest.mark.django_db
def test_pruning_is_one_delete_statement(ninety_days, django_assert_num_queries):
    """No row is loaded into memory, however many expire."""
    rows = [recorded(timezone.now() - LIMIT - days * MINUTE) for days in (1, 2, 3)]
    with django_assert_num_queries(1) as captured:
        assert prune_history(history_cutoff()) == 3
    assert captured.captured_queries[0]["sql"].startswith("DELETE")
    assert not remaining(rows)


@pytest.mark.django_db
def test_zero_days_keeps_everything(settings, monkeypatch):
    settings.DERMAI_HISTORY_DAYS = 0
    monkeypatch.setattr(services, "history_pruning", Throttle(3600))
    ancient = recorded(timezone.now() - timedelta(days=3650))
    assert prune_history_now_and_then() is None and services.history_pruning.due()  # not even counted as a prune
    assert remaining([ancient]) == {ancient}


# --- the service's own pruning ----------------------------------------------------------------------------------

def test_the_throttle_is_due_first_then_once_per_interval():
    now = [1000.0]
    throttle = Throttle(3600, clock=lambda: now[0])
    assert throttle.due() and not throttle.due()
    now[0] += 3599
    assert not throttle.due()
    now[0] += 1
    assert throttle.due() and not throttle.due()


def test_the_throttle_lets_one_of_many_simultaneous_callers_through():
    assert sorted(at_once(Throttle(3600).due)) == [False] * 7 + [True]


def test_the_first_recorded_analysis_prunes_in_the_background_then_not_again(transactional_db, fresh_pruning, client,
                                                                             lesion_jpeg, caplog):
    now = timezone.now()
    old, young = recorded(now - LIMIT - MINUTE), recorded(now - LIMIT + MINUTE)
    with caplog.at_level(logging.INFO, logger="dermai"):
        answer = submit_to_api(client, lesion_jpeg, gradcam="false").response.json()
        # The thread the answer started, joined, never the table polled: the test database (SQLite's shared-cache
        # memory) refuses a DELETE beside a read at once ("database table is locked"), where a file waits its turn.
        for thread in pruning_threads():
            thread.join(30)
    assert remaining([old]) == set()
    assert remaining([young, answer["analysis_id"]]) == {young, answer["analysis_id"]}
    assert "history: removed 1 analysis recorded before " in caplog.text and "(DERMAI_HISTORY_DAYS=90)" in caplog.text
    assert prune_history_now_and_then() is None  # this process pruned: not again before PRUNE_EVERY_HOURS


def test_a_database_error_in_the_pruning_thread_is_logged_not_raised(transactional_db, fresh_pruning, caplog):
    """The table renamed away for the moment: the thread's DELETE really fails."""
    table = connection.ops.quote_name(Analysis._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {table} RENAME TO dermai_renamed_away")
    try:
        with caplog.at_level(logging.INFO, logger="dermai"):
            thread = prune_history_now_and_then()
            thread.join(10)
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"ALTER TABLE dermai_renamed_away RENAME TO {table}")
    assert not thread.is_alive()
    [error] = [record for record in caplog.records if record.name == "dermai"]  # and no "removed"
    assert error.levelno == logging.ERROR and isinstance(error.exc_info[1], DatabaseError)
    assert error.getMessage().startswith("could not prune the history of the analyses recorded before ")


def test_the_answer_does_not_wait_for_the_prune(transactional_db, fresh_pruning, client, lesion_jpeg):
    """An expired row locked by another session holds the prune's DELETE back: the answer comes all the same.
    (That session is ended by PostgreSQL after 20 s, so a prune on the request's path fails the test, not hangs it.)"""
    if connection.vendor != "postgresql":
        pytest.skip(f"row locks: {POSTGRESQL_ONLY}")
    old = recorded(timezone.now() - LIMIT - MINUTE)
    holder = connections.create_connection("default")
    try:
        with holder.cursor() as cursor:
            cursor.execute("SET idle_in_transaction_session_timeout = '20s'")
            holder.set_autocommit(False)
            cursor.execute(f"SELECT id FROM {connection.ops.quote_name(Analysis._meta.db_table)} WHERE id = %s "
                           "FOR UPDATE", [old])
        started = time.monotonic()
        outcome = submit_to_api(client, lesion_jpeg, gradcam="false")
        assert outcome.status == 200 and time.monotonic() - started < 15
        assert remaining([old]) == {old}  # the prune waits for the lock, the answer did not
        [pruning] = pruning_threads()
        assert pruning.is_alive()
    finally:
        holder.close()  # its transaction rolled back, the lock released
    pruning.join(10)
    assert not remaining([old])


# --- the real service -------------------------------------------------------------------------------------------

def service_database_url():
    """The URL of the test database this test runs on, for the service to share it."""
    db = connection.settings_dict
    return (f"postgres://{quote(db['USER'], safe='')}:{quote(db['PASSWORD'], safe='')}@{db['HOST']}:{db['PORT']}/"
            f"{db['NAME']}")


@pytest.mark.slow
def test_the_real_service_prunes_expired_rows_soon_after_an_analysis(transactional_db, fixture_items):
    """render.yaml's Gunicorn on PostgreSQL, on this test's database: rows of 91 days go after the worker's first
    analysis, rows of 89 days stay (a margin of a day: the service takes a few seconds to start)."""
    if connection.vendor != "postgresql":
        pytest.skip(f"the service on the test database: {POSTGRESQL_ONLY}")
    now = timezone.now()
    old = [recorded(now - timedelta(days=91)) for _ in range(3)]
    young = [recorded(now - timedelta(days=89)) for _ in range(2)]
    with running_service(database_url=service_database_url(), env={"DERMAI_HISTORY_DAYS": "90"}) as service:
        answer = service.client.upload(Image(fixture_items[0].path), gradcam=False)
        assert answer.status == 200, answer.body[:300]
        assert wait_until_gone(old), service.log()[-3000:]
        assert "history: removed 3 analyses recorded before " in service.log()
    kept = [*young, answer.json()["analysis_id"]]
    assert remaining(kept) == set(kept)
