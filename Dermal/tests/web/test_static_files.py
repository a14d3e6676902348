"""dermai.static_files: WhiteNoise finding each static file at its first request, remembering it (bounded), and
never serving a path outside STATIC_ROOT."""
from types import SimpleNamespace

import pytest
from django.test import RequestFactory

from dermai.static_files import REMEMBERED_URLS, StaticFilesOnDemandMiddleware

PASSED_ON = "passed on to the views"


@pytest.fixture
def static_root(tmp_path):
    root = tmp_path / "staticfiles"
    (root / "dermai").mkdir(parents=True)
    (root / "dermai" / "dermai.css").write_text("body { color: black; }")
    (tmp_path / "secret.txt").write_text("not a static file")
    return root


def middleware(static_root, from_source_folders=False):
    """The middleware as settings.py configures it: autorefresh on, finders only with DEBUG."""
    settings = SimpleNamespace(DEBUG=from_source_folders, WHITENOISE_AUTOREFRESH=True,
                               WHITENOISE_USE_FINDERS=from_source_folders, STATIC_URL="/static/",
                               FORCE_SCRIPT_NAME=None, STATIC_ROOT=str(static_root))
    return StaticFilesOnDemandMiddleware(lambda request: PASSED_ON, settings)


def get(handler, path):
    return handler(RequestFactory().get(path))


def test_nothing_is_indexed_at_start_and_a_file_is_found_when_asked_for(static_root):
    handler = middleware(static_root)
    assert handler.files == {}
    response = get(handler, "/static/dermai/dermai.css")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"body { color: black; }"


def test_a_file_found_once_is_remembered(static_root):
    handler = middleware(static_root)
    for _ in range(3):
        assert get(handler, "/static/dermai/dermai.css").status_code == 200
    assert handler._find_static.cache_info().misses == 1


def test_only_static_urls_are_looked_up_and_remembered(static_root):
    handler = middleware(static_root)
    assert get(handler, "/api/predict/") == PASSED_ON
    assert get(handler, "/static/missing.css") == PASSED_ON
    assert handler._find_static.cache_info().currsize == 1


def test_what_is_remembered_is_bounded_whatever_paths_are_asked_for(static_root):
    handler = middleware(static_root)
    for number in range(REMEMBERED_URLS + 100):
        assert get(handler, f"/static/missing-{number}.css") == PASSED_ON
    assert handler._find_static.cache_info().currsize == REMEMBERED_URLS


@pytest.mark.parametrize("path", ["/static/../secret.txt", "/static/%2e%2e/secret.txt", "/static//../secret.txt",
                                  "/static/dermai/../../secret.txt"])
def test_a_path_out_of_static_root_is_never_served(static_root, path):
    assert get(middleware(static_root), path) == PASSED_ON


def test_from_the_source_folders_nothing_is_remembered_so_new_files_are_served(static_root):
    handler = middleware(static_root, from_source_folders=True)
    assert get(handler, "/static/dermai/new.js") == PASSED_ON
    (static_root / "dermai" / "new.js").write_text("// added while serving")
    assert get(handler, "/static/dermai/new.js").status_code == 200
