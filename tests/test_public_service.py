"""render.yaml's service as an outsider on the internet meets it, over real sockets with `requests`: the API
closed by the token Render generates, the upload page open without one, no refusal disclosing the server's
internals, and the Content-Security-Policy and Permissions-Policy on every page."""
import io
import re

import pytest
import requests
from PIL import Image as PILImage

from Dermal.tests.web.conftest import disclosed_internals, encoded
from Dermal.tests.web.test_bad_inputs import png_declaring
from Dermal.tests.web.test_fuzz import jpeg_declaring
from harness.service import running_service

pytestmark = pytest.mark.slow  # real Gunicorn

LIMIT_MB = 1


@pytest.fixture(scope="module")
def service():
    """Production settings as render.yaml gives them, a DERMAI_API_TOKEN generated as Render does."""
    with running_service(env={"DERMAI_MAX_UPLOAD_MB": str(LIMIT_MB)}, collect_static=True) as service:
        assert service.env["DERMAI_API_TOKEN"], "render.yaml no longer generates an API token"
        yield service


@pytest.fixture(scope="module")
def small(lesion_jpeg):
    with PILImage.open(io.BytesIO(lesion_jpeg)) as image:
        return image.convert("RGB").resize((240, 180))


def url(service, path="/"):
    return service.client.base + path


def https(service):
    """What Render's proxy adds to every request: the page's CSRF check then wants an https Referer."""
    return {"X-Forwarded-Proto": "https", "Referer": f"https://{url(service).removeprefix('http://')}"}


def post_api(service, files, data=None, token=None):
    headers = {"X-Forwarded-Proto": "https", **({"Authorization": f"Bearer {token}"} if token else {})}
    return requests.post(url(service, "/api/predict/"), files=files, data=data or {}, headers=headers, timeout=60)


def post_page(service, files, data=None):
    """The form as a browser posts it: with the CSRF token of the page it loaded and its cookie (a Secure
    cookie, which requests keeps from plain HTTP, hence sent by hand)."""
    page = requests.get(url(service), headers=https(service), timeout=30)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    cookie = re.search(r"csrftoken=([^;]+)", page.headers["Set-Cookie"]).group(1)
    return requests.post(url(service), files=files, data={"csrfmiddlewaretoken": token, **(data or {})},
                         headers={**https(service), "Cookie": f"csrftoken={cookie}"}, timeout=60)


def photo(data, name="lesion.jpg"):
    return {"image": (name, data, "application/octet-stream")}


def test_the_api_answers_only_the_generated_token(service, lesion_jpeg):
    for token in (None, "not-the-token", service.env["SECRET_KEY"]):
        refused = post_api(service, photo(lesion_jpeg), token=token)
        assert refused.status_code == 401, refused.text[:300]
        assert "Authorization: Bearer" in refused.json()["error"]
        assert refused.headers["WWW-Authenticate"].startswith("Bearer")
    answered = post_api(service, photo(lesion_jpeg), {"gradcam": "false"}, token=service.env["DERMAI_API_TOKEN"])
    assert answered.status_code == 200 and answered.json()["top_class"], answered.text[:300]


def test_the_upload_page_needs_no_token(service, lesion_jpeg):
    result = post_page(service, photo(lesion_jpeg))
    assert result.status_code == 200 and 'id="diagnosis"' in result.text, result.text[:600]


def awkward_uploads(small, lesion_jpeg):
    """(files, fields, status) for each upload the service refuses, as people and scripts send them."""
    jpeg = encoded(small, "JPEG", quality=90)
    return {
        "no photo": ({}, {}, 400),
        "an empty file": (photo(b""), {}, 400),
        "a text file": (photo(b"notes about a mole\n" * 40, "notes.txt"), {}, 415),
        "a GIF": (photo(encoded(small, "GIF"), "lesion.gif"), {}, 415),
        "a truncated JPEG": (photo(lesion_jpeg[: len(lesion_jpeg) // 2]), {}, 400),
        "a JPEG whose data is cut short": (photo(jpeg[: len(jpeg) // 3]), {}, 400),
        "a JPEG declaring 60000x60000 pixels": (photo(jpeg_declaring(jpeg, 60000, 60000)), {}, 413),
        "a PNG declaring 20000x20000 pixels": (photo(png_declaring(small, 20000, 20000), "bomb.png"), {}, 413),
        "a photo over the upload limit": (photo(lesion_jpeg + bytes(LIMIT_MB * 1024 * 1024)), {}, 413),
        "an age out of range": (photo(jpeg), {"age": "999"}, 400),
        "an unknown sex": (photo(jpeg), {"sex": "martian"}, 400),
        "an unknown body site": (photo(jpeg), {"site": "elbow"}, 400),
    }


def api_only_refusals(small):
    """The page's switches are checkboxes (any value ticks them): only the API refuses a word it cannot read."""
    return {"a switch that is not true or false": (photo(encoded(small, "JPEG")), {"gradcam": "maybe"}, 400)}


@pytest.mark.parametrize("route", ["api", "page"])
def test_no_refusal_discloses_the_servers_internals(service, small, lesion_jpeg, route):
    cases = {**awkward_uploads(small, lesion_jpeg), **(api_only_refusals(small) if route == "api" else {})}
    for case, (files, fields, status) in cases.items():
        if route == "api":
            answer = post_api(service, files, fields, token=service.env["DERMAI_API_TOKEN"])
            reason = answer.json()["error"]
        else:
            answer = post_page(service, files, fields)
            found = re.search(r'id="error"[^>]*>(.*?)</p>', answer.text, re.S)
            reason = found and found.group(1)
        assert answer.status_code == status, (case, answer.text[:300])
        assert reason and reason.strip(), case
        assert disclosed_internals(answer.content) == [], (case, reason)
    assert "ValueError: Premature end of JPEG file" in service.log()  # the decoder's words: for the operator


def test_other_refusals_are_public_too(service):
    answers = {
        "a chunked upload": requests.post(url(service, "/api/predict/"), data=iter([b"x" * 1000]),
                                          headers={"X-Forwarded-Proto": "https"}, timeout=30),
        "a GET of the API": requests.get(url(service, "/api/predict/"), headers=https(service), timeout=30),
        "an unknown address": requests.get(url(service, "/etc/passwd"), headers=https(service), timeout=30),
        "a form without its CSRF token": requests.post(url(service), headers=https(service), timeout=30),
    }
    for case, answer in answers.items():
        assert answer.status_code in (403, 404, 405, 411), (case, answer.status_code)
        assert disclosed_internals(answer.content) == [], (case, answer.text[:300])


def test_every_page_carries_the_content_security_policy_and_permissions_policy(service, lesion_jpeg):
    pages = {
        "upload": requests.get(url(service), headers=https(service), timeout=30),
        "result": post_page(service, photo(lesion_jpeg)),
        "refusal": post_page(service, photo(b"")),
        "admin login": requests.get(url(service, "/admin/login/"), headers=https(service), timeout=30),
        "not found": requests.get(url(service, "/nowhere/"), headers=https(service), timeout=30),
    }
    for name, page in pages.items():
        policy = dict(part.strip().split(" ", 1) for part in page.headers["Content-Security-Policy"].split(";"))
        assert policy["default-src"] == "'none'" and policy["script-src"] == "'self'", (name, policy)
        assert "unsafe-inline" not in page.headers["Content-Security-Policy"], name
        assert policy["frame-ancestors"] == "'none'" and policy["form-action"] == "'self'", name
        assert "camera=(self)" in page.headers["Permissions-Policy"], name
        assert "microphone=()" in page.headers["Permissions-Policy"], name


def test_static_files_are_found_at_first_request_with_their_cache_headers_and_compressed(service):
    """The production storage's hashed names cached for good, gzip when accepted, the rest briefly, 404 otherwise
    (paths out of STATIC_ROOT: Dermal/tests/web/test_static_files.py)."""
    headers = {"X-Forwarded-Proto": "https", "Accept-Encoding": "gzip"}
    page = requests.get(url(service), headers=https(service), timeout=30)
    hashed = re.search(r'href="(/static/dermai/dermai\.[0-9a-f]{12}\.css)"', page.text).group(1)
    for _ in range(2):  # found, then remembered
        answer = requests.get(url(service, hashed), headers=headers, timeout=30)
        assert answer.status_code == 200 and answer.headers["Content-Encoding"] == "gzip"
        assert answer.headers["Cache-Control"] == "max-age=315360000, public, immutable"
    plain = requests.get(url(service, "/static/dermai/dermai.css"), headers=headers, timeout=30)
    assert plain.status_code == 200 and plain.headers["Cache-Control"] == "max-age=60, public"
    assert plain.text == answer.text  # the same stylesheet under its plain name
    assert requests.get(url(service, "/static/dermai/missing.css"), headers=headers, timeout=30).status_code == 404
