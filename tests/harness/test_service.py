"""harness.service: render.yaml's real service for the block of a `with`, options and env applied, always stopped."""
import psutil
import pytest
import requests

from harness.client import check_prediction
from harness.photos import Image
from harness.service import running_service

pytestmark = pytest.mark.slow  # real Gunicorn


def test_the_service_runs_with_its_overrides_answers_and_is_gone_after(fixture_items):
    # A token in env: the service requires it and the harness's client sends it.
    with running_service(options={"--max-requests": 7}, env={"DERMAI_API_TOKEN": "harness-test"}) as service:
        assert service.gunicorn["max_requests"] == 7 and service.gunicorn["workers"] == 1
        assert service.argv[service.argv.index("--max-requests") + 1] == "7"
        assert "dermai-service-" in service.env["DERMAL_BUNDLE_DIR"]  # a verified snapshot of the bundle
        anonymous = requests.post(service.client.base + "/api/predict/", headers={"X-Forwarded-Proto": "https"},
                                  timeout=30)
        assert anonymous.status_code == 401
        photo = Image(fixture_items[0].path)
        response = service.client.upload(photo)
        assert response.status == 200 and check_prediction(response, photo, True) is None, response.body[:300]
        pids = [service.master_pid, *service.worker_pids()]
        assert len(pids) == 2 and 0 < service.ready_seconds < 90 and not service.worker_deaths()
    assert not any(psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE for pid in pids)
