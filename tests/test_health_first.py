"""dermai.health_first: the health checks answered while the crowd's pages hold Django's translation lock, with the
security headers still on them, and every other page through the whole middleware."""
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.utils.translation import trans_real

pytestmark = pytest.mark.django_db

GUARD_S = 60  # only so that a regression fails instead of hanging: a health check waits for nothing here


@pytest.fixture
def translation_lock_held():
    """Another thread holding the lock every gettext and LocaleMiddleware take, as a page being rendered does."""
    taken, done = threading.Event(), threading.Event()

    def hold():
        with trans_real._active._lock:
            taken.set()
            done.wait()

    holder = threading.Thread(target=hold, daemon=True)
    holder.start()
    taken.wait()
    yield
    done.set()
    holder.join()


@pytest.fixture
def serving(client):
    """A client whose handler has loaded (its middleware made), as a worker's has once it has answered."""
    client.get("/health/")
    return client


@pytest.mark.parametrize("path", ["/health/", "/health/ready/"])
def test_the_health_checks_answer_while_the_translation_lock_is_held(serving, translation_lock_held, path):
    pool = ThreadPoolExecutor(max_workers=1)
    try:
        answer = pool.submit(serving.get, path).result(timeout=GUARD_S)
    finally:
        pool.shutdown(wait=False)  # a request still waiting for the lock ends when the fixture lets it go
    assert answer.status_code == 200
    assert answer["X-Content-Type-Options"] == "nosniff" and "Content-Security-Policy" in answer


def test_other_pages_still_go_through_the_language_middleware(client):
    page = client.get("/", headers={"Accept-Language": "vi"})
    assert page.status_code == 200 and page["Content-Language"] == "vi"
    assert "Content-Language" not in client.get("/health/")
