"""dermai.gunicorn_worker on render.yaml's line: clients that keep a closed connection open do not hold up the
connections that come after them (/health/ in a crowd whose busy answers closed their connections)."""
import socket

import pytest
import requests

from harness.service import running_service

pytestmark = pytest.mark.slow  # real Gunicorn

LINGERING = 12
# Gunicorn 27's gthread alone keeps the next connection waiting up to 2 s for each lingering one (24 s here); the
# service answers /health/ in milliseconds. Half of the former is the guard, not a speed target.
HEALTH_GUARD_S = LINGERING


@pytest.fixture(scope="module")
def service():
    with running_service() as service:
        yield service


def lingering_client(port):
    """A client that asks for `Connection: close` and keeps its end of the socket open after its answer."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=60)
    sock.sendall(b"GET /health/ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    return sock


def test_health_answers_while_earlier_clients_keep_their_closed_connections_open(service):
    lingering = [lingering_client(int(service.env["PORT"])) for _ in range(LINGERING)]
    try:
        health = requests.get(service.client.base + "/health/", timeout=HEALTH_GUARD_S)
        answers = [sock.recv(4096) for sock in lingering]
    except requests.Timeout:
        pytest.fail(f"/health/ waited for the server to finish closing {LINGERING} earlier connections")
    finally:
        for sock in lingering:
            sock.close()
    assert health.status_code == 200
    assert all(answer.startswith(b"HTTP/1.1 200") for answer in answers)
