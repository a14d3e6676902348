"""HTTP to the local service with `requests`: Render's proxy header, uploads, the slot 503 and its retries."""
import json
import random
import threading
import time

import requests

SLOT_RETRY_CAP_S = 5.0


class Response:
    """What the service answered: status, headers (case-insensitive), body bytes, seconds taken."""

    def __init__(self, status, headers, body, seconds):
        self.status, self.headers, self.body, self.seconds = status, headers, body, seconds

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    @property
    def slot_busy(self):
        """The concurrency limiter's answer: 503 with Retry-After (designed, not a server error)."""
        return self.status == 503 and "retry-after" in self.headers

    def retry_after(self):
        try:
            return max(0.0, float(self.headers.get("retry-after", 1)))
        except ValueError:
            return 1.0


class Client:
    """Requests to 127.0.0.1 with Render's proxy header and a bounded timeout, one connection per request."""

    def __init__(self, port, token=None, timeout=120.0):
        self.base, self.timeout = f"http://127.0.0.1:{port}", timeout
        self.headers = {"X-Forwarded-Proto": "https"}
        if token:
            self.headers["Authorization"] = f"Bearer {token}"

    def request(self, method, path, body=None, headers=None, timeout=None):
        """One request; a connection failure or timeout raises requests' error (an OSError)."""
        started = time.perf_counter()
        with requests.Session() as session:
            session.trust_env = False  # no proxy from the shell between us and 127.0.0.1
            answer = session.request(method, self.base + path, data=body, headers={**self.headers, **(headers or {})},
                                     timeout=timeout or self.timeout, allow_redirects=False)
        return Response(answer.status_code, answer.headers, answer.content, time.perf_counter() - started)

    def get(self, path, timeout=None):
        return self.request("GET", path, timeout=timeout)

    def upload(self, image, gradcam=True, timeout=None):
        body, content_type = multipart(image, gradcam)
        return self.request("POST", "/api/predict/", body=body, headers={"Content-Type": content_type},
                            timeout=timeout)


def multipart(image, gradcam=True):
    """requests' multipart/form-data body: the photo as `image` plus age/sex/site/gradcam fields."""
    prepared = requests.Request("POST", "http://127.0.0.1/", data=image.fields(gradcam),
                                files={"image": image.upload_file()}).prepare()
    return prepared.body, prepared.headers["Content-Type"]


class Tally:
    """Every HTTP answer to the uploads: statuses, slot 503s, other server errors."""

    def __init__(self):
        self.lock = threading.Lock()
        self.statuses, self.slot_503s, self.server_errors, self.failed = {}, 0, [], []

    def record(self, response, label):
        with self.lock:
            self.statuses[response.status] = self.statuses.get(response.status, 0) + 1
            if response.slot_busy:
                self.slot_503s += 1
            elif response.status >= 500:
                self.server_errors.append(f"{label}: {response.status} {response.body[:300]!r}")

    def fail(self, problem):
        with self.lock:
            self.failed.append(problem)


def upload_until_done(client, image, tally, label, deadline, max_attempts=60):
    """POST until a non-slot answer (a slot 503 is retried after Retry-After, capped); bounded in time/tries.
    Returns (the 200 response or None, seconds until then)."""
    started = time.perf_counter()
    for _ in range(max_attempts):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        try:
            response = client.upload(image, timeout=min(client.timeout, remaining))
        except OSError as exc:
            tally.fail(f"{label}: {exc!r}")
            return None, time.perf_counter() - started
        tally.record(response, label)
        if not response.slot_busy:
            if response.status != 200:
                tally.fail(f"{label}: {response.status} {response.body[:300]!r}")
                return None, time.perf_counter() - started
            return response, time.perf_counter() - started
        time.sleep(min(response.retry_after(), SLOT_RETRY_CAP_S) + random.uniform(0, 0.2))
    tally.fail(f"{label}: still busy (slot 503) after its retries")
    return None, time.perf_counter() - started


def check_prediction(response, image, expect_overlay):
    """A 200 that is a real prediction: probabilities summing to 1 and, with Grad-CAM, an overlay."""
    data = response.json()
    if not isinstance(data, dict):
        return "the answer is not JSON"
    probabilities = data.get("probabilities")
    if not isinstance(probabilities, dict) or abs(sum(probabilities.values()) - 1) > 1e-3:
        return f"no probabilities summing to 1: {str(data)[:200]}"
    if expect_overlay and not any("overlay" in key and value for key, value in data.items()):
        return "Grad-CAM was asked for but the answer has no overlay"
    return None


def top_class(response):
    data = response.json()
    return data.get("top_class") if isinstance(data, dict) else None
