"""harness.people: the fields the real upload page sends, and a person's trip against a real local HTTP server that
answers busy before it answers."""
import pytest

from Dermal.views import QUEUE_HEADER as THE_VIEWS_QUEUE_HEADER
from harness.people import QUEUE_HEADER, Person, form_fields
from tests.harness.local_http import Handler, serving


@pytest.mark.django_db
def test_the_fields_are_those_the_real_upload_page_sends(client):
    fields = form_fields(client.get("/").content.decode())
    assert fields["csrfmiddlewaretoken"] and "image" not in fields
    assert {name: fields[name] for name in ("age", "sex", "site")} == {"age": "", "sex": "", "site": ""}
    assert fields.get("gradcam") == "on"  # checked by default (ENABLE_GRADCAM), so FormData sends it


def test_a_form_with_a_selected_option_and_an_unchecked_box():
    html = ('<form><input type="hidden" name="csrfmiddlewaretoken" value="t"><input type="checkbox" name="a">'
            '<input type="checkbox" name="b" checked><select name="s"><option value="x">X</option>'
            '<option value="y" selected>Y</option></select><input type="file" name="image"></form>')
    assert form_fields(html) == {"csrfmiddlewaretoken": "t", "b": "on", "s": "y"}


class Page(Handler):
    """GET: a form and a Secure CSRF cookie; POST: the statuses of `script` in order, then a result page."""
    script, cookies = [], []

    def do_GET(self):
        self.answer(200, b'<form><input type="hidden" name="csrfmiddlewaretoken" value="t"></form>',
                    {"Set-Cookie": "csrftoken=c; Secure; Path=/"})

    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        self.cookies.append((self.headers.get("Cookie"), self.headers.get("Connection")))
        status = self.script.pop(0) if self.script else 200
        if status == "waits" and self.headers.get(QUEUE_HEADER) == "place":  # as Dermal.views streams a wait
            self.send_response(200)
            self.send_header(QUEUE_HEADER, "place")
            self.end_headers()  # no length: the page ends with the connection
            self.wfile.write(b'place 2 12\nplace 1 6\nplace 0 0\n\n<h1 id="headline">result</h1>')
        elif status == 503:
            self.answer(503, b"busy", {"Retry-After": "7"})
        else:  # a result page sets its cookie again, Secure, as Django does
            self.answer(status, b'<h1 id="headline">result</h1>' if status == 200 else b"refused",
                        {"Set-Cookie": "csrftoken=c; Secure; Path=/"})


@pytest.fixture
def page():
    Page.script, Page.cookies = [], []
    with serving(Page) as (base_url, _):
        yield base_url


def test_busy_answers_are_waited_out_and_counted_in_the_tap_to_result_time(page):
    Page.script = [503, 503]
    waited, now = [], [0.0]

    def sleep(seconds):
        waited.append(seconds)
        now[0] += seconds

    person = Person(page, b"photo")
    answer = person.analyse(clock=lambda: now[0], sleep=sleep)
    assert (answer.status, answer.busy, answer.problem) == (200, [7, 7], "")
    assert waited == [7, 7] and answer.seconds == 14
    assert person.analyse().status == 200  # after a result page that set the cookie again
    # The Secure cookie goes back, as through Render's proxy; each photo on a connection of its own.
    assert Page.cookies == [("csrftoken=c", "close")] * 4


def test_an_answer_that_is_not_a_result_page_is_a_problem(page):
    Page.script = [400]
    answer = Person(page, b"photo").analyse()
    assert answer.status == 400 and answer.problem == "400: 'refused'"


def test_a_photo_that_waits_notes_its_first_place_its_estimate_and_the_real_wait(page):
    assert QUEUE_HEADER == THE_VIEWS_QUEUE_HEADER
    Page.script = ["waits"]
    ticks = iter([0.0, 1.0, 1.0, 4.0, 10.0, 11.0])  # the start, then each line read, then the answer
    answer = Person(page, b"photo").analyse(clock=lambda: next(ticks))
    assert (answer.status, answer.problem, answer.seconds) == (200, "", 11.0)
    assert (answer.place, answer.estimate_s, answer.waited_s) == (2, 12, 9.0)


def test_a_photo_that_did_not_wait_has_no_place(page):
    answer = Person(page, b"photo").analyse()
    assert (answer.status, answer.place, answer.estimate_s, answer.waited_s) == (200, 0, 0, 0.0)
