"""A person at the upload page, over HTTP: the form fetched (its CSRF cookie and token), then a photo posted as the
page posts it (upload.js: every field of the form as it stands, the photo in place of the file input, asking to hear
its place in line), until an answer comes. A busy answer (503 with Retry-After) is followed as the page follows it:
wait, then send again. A photo that waits its turn hears its place and expected wait first (the service streams
them); the person notes the first estimate and how long the wait really was.

`requests` keeps each person's cookies (one browser: one session), so many people behind one address are told
apart as the service sees them. The person talks HTTPS to Render's proxy, which talks HTTP to the instance: here the
requests go to 127.0.0.1 with the proxy's X-Forwarded-Proto header, and the cookies the service marks Secure are sent
back over that last hop as the proxy would.
"""
import threading
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser

import requests

QUEUE_HEADER = "DermAI-Queue"  # Dermal.views.QUEUE_HEADER, without loading Django (tests/harness/test_people.py)
PAGE_TIMEOUT_S = 300  # far past any queue: a person who waits this long has met a timeout, and it is counted


class _FormFields(HTMLParser):
    """The fields the upload form's FormData holds before a photo is chosen: text and hidden inputs with their
    values, checked boxes, each select's selected (else first) option."""

    def __init__(self):
        super().__init__()
        self.fields, self._select, self._first = {}, None, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        name = attrs.get("name")
        if tag == "input" and name and attrs.get("type") != "file":
            if attrs.get("type") != "checkbox" or "checked" in attrs:
                self.fields[name] = attrs.get("value") or ("on" if attrs.get("type") == "checkbox" else "")
        elif tag == "select":
            self._select, self._first = name, None
        elif tag == "option" and self._select:
            value = attrs.get("value", "")
            if self._first is None or "selected" in attrs:
                self._first = value
                self.fields[self._select] = value

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None


def form_fields(html):
    """{name: value} the upload form sends besides the photo."""
    parser = _FormFields()
    parser.feed(html)
    return parser.fields


@dataclass
class Answer:
    """One photo's trip: its final status, seconds from the tap to the answer (busy waits included), the busy
    answers met on the way and their Retry-After values."""
    status: int
    seconds: float
    busy: list = field(default_factory=list)
    problem: str = ""
    place: int = 0  # the place in line the photo was first given (0: its turn came at once)
    estimate_s: int = 0  # the wait the service first expected for it
    waited_s: float = 0.0  # how long it waited for its turn, from that first estimate


class Person:
    """One browser: its own cookies, the form fetched once, photos posted one after another."""

    def __init__(self, base_url, photo_bytes, name="photo.jpg"):
        self.base_url, self.photo, self.name = base_url.rstrip("/"), photo_bytes, name
        self.session = requests.Session()
        self.session.trust_env = False  # no proxy from the shell between us and 127.0.0.1
        self.session.headers.update({"X-Forwarded-Proto": "https"})
        self._fields = None
        self._lock = threading.Lock()  # a greedy browser's tabs share the session; the form is fetched once

    def fields(self):
        with self._lock:
            if self._fields is None:
                page = self.session.get(self.base_url + "/", timeout=PAGE_TIMEOUT_S)
                page.raise_for_status()
                self._as_through_the_proxy()
                self._fields = form_fields(page.text)
            return self._fields

    def _as_through_the_proxy(self):
        """The cookies the service set Secure (every answer may set them again) travel on here: the browser's HTTPS
        hop to the proxy is not part of this test."""
        for cookie in self.session.cookies:
            cookie.secure = False

    def post_once(self):
        """One POST of the photo: the requests.Response."""
        files = {"image": (self.name, self.photo, "image/jpeg")}
        # A connection of its own: a busy answer's Retry-After can outlast the service's --keep-alive (75 s), and a
        # POST sent on a kept-alive connection as the service closes it would be lost to the race, not the service.
        response = self.session.post(self.base_url + "/", data=self.fields(), files=files, timeout=PAGE_TIMEOUT_S,
                                     stream=True, headers={"Referer": self.base_url.replace("http:", "https:", 1) + "/",
                                                           "Connection": "close", QUEUE_HEADER: "place"})
        self._as_through_the_proxy()
        return response

    def analyse(self, clock=time.monotonic, sleep=time.sleep):
        """Post until an answer other than busy: the Answer, with a problem when it is not a result page."""
        started, busy = clock(), []
        while True:
            try:
                response = self.post_once()
            except requests.RequestException as exc:
                return Answer(0, clock() - started, busy, f"no answer: {exc!r}")
            retry_after = response.headers.get("Retry-After")
            if response.status_code == 503 and retry_after and retry_after.isdigit():
                response.content  # read to its end, as the page's XMLHttpRequest does: then the connection closes
                busy.append(int(retry_after))
                sleep(int(retry_after))
                continue
            wait, page = read_answer(response, clock)
            seconds = clock() - started
            if response.status_code != 200 or 'id="headline"' not in page:
                return Answer(response.status_code, seconds, busy, f"{response.status_code}: {page[:200]!r}", *wait)
            return Answer(200, seconds, busy, "", *wait)


def read_answer(response, clock=time.monotonic):
    """A page's answer as upload.js reads it: ((first place, its expected wait, the seconds from then until the turn
    came), the page's text). Streamed place lines ("place N SECONDS") come first when the photo had to wait."""
    if response.headers.get(QUEUE_HEADER) != "place":
        return (0, 0, 0.0), response.text
    chunks, head, first = response.iter_content(chunk_size=None), b"", None  # each chunk as it arrives
    for chunk in chunks:
        head += chunk
        while b"\n" in head:
            line, head = head.split(b"\n", 1)
            if not line:  # the page follows
                page = b"".join([head, *chunks]).decode("utf-8", "replace")
                return first[:2] + (waited,), page
            place, seconds = (int(value) for value in line.split()[1:])
            first = first or (place, seconds, clock())
            waited = clock() - first[2]
    return (0, 0, 0.0), f"the stream ended before its page: {head[:200]!r}"
