"""`manage.py prune_history`: removes the analyses older than DERMAI_HISTORY_DAYS, says how many and from when;
--dry-run only says it; 0 days keeps everything."""
import io
import re
from datetime import datetime, timedelta, timezone as dt_timezone

import pytest
from django.core.management import call_command
from django.utils import timezone

from Dermal.tests.web.test_history_retention import LIMIT, MINUTE, recorded, remaining

pytestmark = pytest.mark.django_db
SAID = re.compile(r"(\d+) analys[ie]s recorded before (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC \(DERMAI_HISTORY_DAYS=90\)")


@pytest.fixture
def history(settings):
    """Two rows a minute past the limit, one a minute short of it."""
    settings.DERMAI_HISTORY_DAYS = 90
    now = timezone.now()
    return {"expired": [recorded(now - LIMIT - MINUTE), recorded(now - LIMIT - 2 * MINUTE)],
            "kept": [recorded(now - LIMIT + MINUTE)]}


def prune(*args):
    """The command's output, and the cutoff it says it used (checked to be the limit before now)."""
    out = io.StringIO()
    before = timezone.now()
    call_command("prune_history", *args, stdout=out)
    said = SAID.search(out.getvalue())
    assert said, out.getvalue()
    cutoff = datetime.strptime(said.group(2), "%Y-%m-%d %H:%M:%S").replace(tzinfo=dt_timezone.utc)
    assert before - LIMIT - timedelta(seconds=1) <= cutoff <= timezone.now() - LIMIT
    return out.getvalue(), int(said.group(1))


def test_it_removes_the_rows_past_the_limit_and_says_how_many(history):
    text, count = prune()
    assert text.startswith("removed 2 analyses recorded before ") and count == 2
    assert not remaining(history["expired"]) and remaining(history["kept"]) == set(history["kept"])


def test_dry_run_says_how_many_and_removes_none(history):
    text, count = prune("--dry-run")
    assert text.startswith("would remove 2 analyses recorded before ") and count == 2
    assert remaining(history["expired"] + history["kept"]) == set(history["expired"] + history["kept"])


def test_zero_days_keeps_everything(settings):
    settings.DERMAI_HISTORY_DAYS = 0
    ancient = recorded(timezone.now() - timedelta(days=3650))
    for args in ((), ("--dry-run",)):
        out = io.StringIO()
        call_command("prune_history", *args, stdout=out)
        assert out.getvalue() == "DERMAI_HISTORY_DAYS=0: the history is kept for ever, nothing removed\n"
    assert remaining([ancient]) == {ancient}
