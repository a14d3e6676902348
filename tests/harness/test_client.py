"""harness.client: the multipart body, and the slot 503 and other answers against a real local HTTP server."""
import email
import email.policy
import json
import time

import pytest

from harness.client import Client, Tally, check_prediction, multipart, upload_until_done
from harness.photos import Image
from tests.harness.local_http import Handler, serving


def test_multipart_body_is_parsable_and_carries_the_photo(fixture_items):
    item = fixture_items[0]
    image = Image(item.path, item.dx, "55", "female", "trunk")
    body, content_type = multipart(image, gradcam=True)
    message = email.message_from_bytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body,
                                       policy=email.policy.HTTP)
    parts = {part.get_param("name", header="content-disposition"): part for part in message.iter_parts()}
    assert parts["image"].get_content() == item.read()
    assert parts["image"].get_filename() == item.path.name
    assert {k: parts[k].get_content() for k in ("age", "sex", "site", "gradcam")} == \
        {"age": "55", "sex": "female", "site": "trunk", "gradcam": "true"}


class Scripted(Handler):
    """Answers POSTs from a list of (status, headers) in order, then 200 with a prediction."""
    script = []

    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        status, headers = self.script.pop(0) if self.script else (200, {})
        body = json.dumps({"probabilities": {"nv": 1.0}, "top_class": "nv", "overlay_png": "x"} if status == 200
                          else {"error": "busy"}).encode()
        self.answer(status, body, {**headers, "Content-Type": "application/json"})


@pytest.fixture
def scripted_server():
    with serving(Scripted) as (_, server):
        yield server


def upload(server, script, fixture_items):
    Scripted.script = list(script)
    tally = Tally()
    client = Client(server.server_address[1], timeout=10)
    item = fixture_items[0]
    response, _ = upload_until_done(client, Image(item.path), tally, "t", time.monotonic() + 20)
    return response, tally


def test_slot_503_is_retried_after_retry_after_and_not_a_server_error(scripted_server, fixture_items):
    response, tally = upload(scripted_server, [(503, {"Retry-After": "0"})] * 2, fixture_items)
    assert response.status == 200 and check_prediction(response, None, True) is None
    assert tally.slot_503s == 2 and tally.server_errors == [] and tally.failed == []
    assert tally.statuses == {503: 2, 200: 1}


@pytest.mark.parametrize("status, headers", [(500, {}), (503, {}), (502, {})])
def test_other_5xx_fail(scripted_server, fixture_items, status, headers):
    response, tally = upload(scripted_server, [(status, headers)], fixture_items)
    assert response is None
    assert len(tally.server_errors) == 1 and len(tally.failed) == 1 and tally.slot_503s == 0


def test_a_4xx_is_a_failed_upload_not_a_server_error(scripted_server, fixture_items):
    response, tally = upload(scripted_server, [(401, {})], fixture_items)
    assert response is None and tally.server_errors == [] and len(tally.failed) == 1
