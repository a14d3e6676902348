"""Oversized uploads against the real Gunicorn (render.yaml's line), from real HTTP clients over real sockets.

urllib and requests send the whole body before reading the answer: they see the 413 only because the server
reads and discards an over-limit body (dermai.middleware) up to the drain cap. Past the cap the body is
refused unread and the connection closed at once, without holding a worker thread.
"""
import html
import json
import re
import socket
import time
import urllib.error
import urllib.request

import psutil
import pytest
import requests

from harness.memory import ServiceSampler
from harness.service import running_service

pytestmark = pytest.mark.slow  # real Gunicorn

MB = 1024 * 1024
LIMIT_MB, CAP_MB = 10, 40  # DERMAI_MAX_UPLOAD_MB and DERMAI_DRAIN_MAX_MB of the service under test
LIMIT = f"the limit is {LIMIT_MB:.1f} MB"
SIZES = {  # the whole multipart body
    "just over the limit": LIMIT_MB * MB + 2048,  # the photo itself is just over: the form refuses it
    "10.5 MB": int(10.5 * MB),                      # over the limit plus the form's overhead: the middleware
    "2x the limit": 2 * LIMIT_MB * MB,
    "the drain cap": CAP_MB * MB,
}


@pytest.fixture(scope="module")
def service():
    with running_service(env={"DERMAI_MAX_UPLOAD_MB": str(LIMIT_MB), "DERMAI_DRAIN_MAX_MB": str(CAP_MB)},
                         collect_static=True) as service:
        yield service


def url(service, path):
    return service.client.base + path


def multipart(photo, total=None, fields=None):
    """requests' multipart body (of exactly `total` bytes if given) and its Content-Type: the real photo as
    `image`, padded with zero bytes (after a JPEG's end marker, which decoders ignore), plus `fields`."""
    def encode(padding):
        prepared = requests.Request("POST", "http://127.0.0.1/", data=fields or {},
                                    files={"image": ("lesion.jpg", photo + bytes(padding), "image/jpeg")}).prepare()
        return prepared.body, prepared.headers["Content-Type"]

    body, content_type = encode(total - len(encode(0)[0]) if total else 0)
    assert total is None or len(body) == total
    return body, content_type


def post_with_urllib(address, body, headers):
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # straight to 127.0.0.1
    try:
        with opener.open(urllib.request.Request(address, data=body, headers=headers), timeout=60) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read()


def post_with_requests(address, body, headers):
    with requests.Session() as session:
        session.trust_env = False  # straight to 127.0.0.1
        answer = session.post(address, data=body, headers=headers, timeout=60)
    return answer.status_code, answer.content


CLIENTS = {"urllib": post_with_urllib, "requests": post_with_requests}


def api_post(service, post, body, content_type):
    return post(url(service, "/api/predict/"), body, {**service.client.headers, "Content-Type": content_type})


def page_reason(page):
    found = re.search(r'id="error"[^>]*>(.*?)</p>', page.decode(), re.S)
    return found and html.unescape(found.group(1))


def csrf_of_the_form(service):
    """The form's CSRF token and cookie, as a browser holds them after loading the page."""
    page = service.client.get("/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.body.decode()).group(1)
    return token, re.search(r"csrftoken=([^;]+)", page.headers["Set-Cookie"]).group(1)


@pytest.mark.parametrize("size", SIZES.values(), ids=SIZES.keys())
@pytest.mark.parametrize("client", CLIENTS.keys())
def test_the_api_413_reaches_every_client(service, lesion_jpeg, client, size):
    body, content_type = multipart(lesion_jpeg, size, {"gradcam": "false"})
    status, answer = api_post(service, CLIENTS[client], body, content_type)
    assert status == 413, answer[:300]
    refusal = json.loads(answer)
    assert refusal["field"] == "image" and LIMIT in refusal["error"], refusal


@pytest.mark.parametrize("size", SIZES.values(), ids=SIZES.keys())
@pytest.mark.parametrize("client", CLIENTS.keys())
def test_the_page_413_reaches_every_client(service, lesion_jpeg, client, size):
    """The form posted as a browser does (CSRF token, cookie, Referer): the page comes back with the reason."""
    token, cookie = csrf_of_the_form(service)
    body, content_type = multipart(lesion_jpeg, size, {"csrfmiddlewaretoken": token})
    status, page = CLIENTS[client](url(service, "/"), body, {
        **service.client.headers, "Content-Type": content_type, "Cookie": f"csrftoken={cookie}",
        "Referer": f"https://{service.client.base.removeprefix('http://')}/"})
    assert status == 413, page[:300]
    assert LIMIT in (page_reason(page) or ""), page[:2000]
    assert b'name="image"' in page  # the form, to try again


def outcome(post, *args):
    """(what the client got, seconds): the status it read, or the connection error it raised."""
    started = time.monotonic()
    try:
        got = post(*args)[0]
    except OSError as exc:  # urllib's and requests' connection errors alike
        got = type(exc).__name__
    return got, time.monotonic() - started


@pytest.mark.parametrize("client", CLIENTS.keys())
def test_a_body_past_the_cap_is_cut_off_quickly(service, lesion_jpeg, client):
    workers = service.worker_pids()
    body, content_type = multipart(lesion_jpeg, (CAP_MB + 24) * MB)
    got, seconds = outcome(api_post, service, CLIENTS[client], body, content_type)
    assert got == 413 or isinstance(got, str), got  # the answer, or the connection closed under the upload
    assert seconds < 10, f"{client} took {seconds:.1f} s to be cut off (got {got})"
    assert service.client.get("/health/", timeout=10).status == 200
    assert service.worker_pids() == workers and not service.worker_deaths()


def raw_connection(service, headers, body=b""):
    """A plain socket that has sent a POST /api/predict/ with `headers` and the start of its `body`."""
    port = int(service.client.base.rsplit(":", 1)[1])
    conn = socket.create_connection(("127.0.0.1", port), timeout=15)
    conn.sendall(f"POST /api/predict/ HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX-Forwarded-Proto: https\r\n"
                 f"Content-Type: multipart/form-data; boundary=x\r\n{headers}\r\n".encode() + body)
    return conn


def read_until_closed(conn):
    """Everything the server sends until it closes, and the seconds that took."""
    started, received = time.monotonic(), b""
    with conn:
        while chunk := conn.recv(65536):
            received += chunk
    return received, time.monotonic() - started


def raw_post(service, headers, body=b""):
    return read_until_closed(raw_connection(service, headers, body))


def test_past_the_cap_the_413_comes_unread_and_the_connection_closes(service):
    """Only the headers are sent: the 413 comes at once, and the server closes instead of waiting for the body."""
    received, closed_after = raw_post(service, f"Content-Length: {CAP_MB * MB + 1}\r\n")
    head, _, answer = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413"), received[:300]
    assert LIMIT.encode() in answer
    assert closed_after < 10, f"the server kept the connection {closed_after:.1f} s"


def test_a_malformed_chunked_body_is_refused_not_a_server_error(service):
    received, _ = raw_post(service, "Transfer-Encoding: chunked\r\n", b"zz\r\nabc\r\n0\r\n\r\n")
    assert received.startswith(b"HTTP/1.1 411"), received[:300]
    assert b"Content-Length" in received.partition(b"\r\n\r\n")[2]


def chunks(total, step=64 * 1024):
    for start in range(0, total, step):
        yield bytes(min(step, total - start))


@pytest.mark.parametrize("size, status", [(1 * MB, 411), (2 * LIMIT_MB * MB, 413)], ids=["1 MB", "2x the limit"])
def test_a_chunked_body_is_drained_and_refused_with_its_reason(service, size, status):
    """No Content-Length: WSGI gives Django no body, so it is refused, after a drain the client can read."""
    got, answer = post_with_requests(url(service, "/api/predict/"), chunks(size), {
        **service.client.headers, "Content-Type": "multipart/form-data; boundary=x"})
    assert got == status, answer[:300]
    assert json.loads(answer)["field"] == "image"
    assert (b"Content-Length" if status == 411 else LIMIT.encode()) in answer


def test_a_chunked_body_past_the_cap_is_not_read_to_its_end(service):
    got, seconds = outcome(post_with_requests, url(service, "/api/predict/"), chunks((CAP_MB + 60) * MB), {
        **service.client.headers, "Content-Type": "multipart/form-data; boundary=x"})
    assert got == 413 or isinstance(got, str), got
    assert seconds < 10, f"a chunked body past the cap held the connection {seconds:.1f} s (got {got})"
    assert service.client.get("/health/", timeout=10).status == 200


def test_draining_keeps_the_worker_memory_flat(service, lesion_jpeg):
    body, content_type = multipart(lesion_jpeg, CAP_MB * MB)
    assert api_post(service, post_with_requests, body, content_type)[0] == 413  # the first drain warms the path
    worker = service.worker_pids()[0]
    before = psutil.Process(worker).memory_info().rss / MB
    sampler = ServiceSampler(worker)
    # Sent a megabyte at a time, the worker's memory read after each: sampled throughout the drain however busy
    # the machine (a sampling thread at a fixed rate could be starved of its readings).
    slow = raw_connection(service, f"Content-Length: {CAP_MB * MB}\r\nConnection: close\r\n")
    for _ in range(CAP_MB):
        slow.sendall(bytes(MB))
        sampler.sample_now()
    received, _ = read_until_closed(slow)
    assert received.startswith(b"HTTP/1.1 413"), received[:300]
    assert sampler.samples == CAP_MB
    grew = sampler.peak("rss_mb") - before
    assert grew < 4, f"the worker's RSS grew by {grew:.1f} MB while draining a {CAP_MB} MB body"


def test_a_slow_drain_holds_no_analysis_slot(service, lesion_jpeg):
    """While a slow client's over-limit body is being drained, a photo is analysed: the one slot stays free."""
    slow = raw_connection(service, f"Content-Length: {2 * LIMIT_MB * MB}\r\nConnection: close\r\n", bytes(MB))
    time.sleep(0.5)  # the middleware is now waiting for the rest of the body
    body, content_type = multipart(lesion_jpeg, fields={"gradcam": "false"})
    status, answer = api_post(service, post_with_requests, body, content_type)
    assert status == 200, answer[:300]
    slow.sendall(bytes(2 * LIMIT_MB * MB - MB))
    received, _ = read_until_closed(slow)
    assert received.startswith(b"HTTP/1.1 413"), received[:300]
