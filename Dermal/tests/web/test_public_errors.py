"""The one place where an error becomes public text: what each kind of failure says, and what goes to the log."""
import logging

import pytest

from Dermal.inference.bundle import BundleError
from Dermal.public_errors import DATABASE_DOWN, bundle_problem, database_problem, log_detail, refusal
from Dermal.exceptions import ModelUnavailable, ServerBusy, UploadRefused


def chained(outer, inner):
    """`outer` raised from `inner`, as the engine raises its errors."""
    try:
        try:
            raise inner
        except Exception as cause:
            raise outer from cause
    except Exception as raised:
        return raised


def test_the_log_gets_every_cause_with_its_class():
    error = chained(BundleError("DERMAL_BUNDLE_DIR/head.npz is unreadable"),
                    OSError("[Errno 13] Permission denied: '/srv/bundle/head.npz'"))
    assert log_detail(error) == ("DERMAL_BUNDLE_DIR/head.npz is unreadable <- OSError: [Errno 13] Permission denied: "
                                 "'/srv/bundle/head.npz'")


def test_a_refused_upload_keeps_its_status_field_and_own_words_and_logs_the_decoders(caplog):
    error = chained(UploadRefused(400, "image: the image is damaged or truncated and cannot be decoded", "image"),
                    ValueError("Premature end of JPEG file"))
    with caplog.at_level(logging.INFO, logger="dermai"):
        public = refusal(error)
    assert (public.status, public.field) == (400, "image")
    assert public.message == "The photo could not be analysed: the image is damaged or truncated and cannot be decoded."
    assert "ValueError: Premature end of JPEG file" in caplog.text


def test_an_unavailable_model_says_which_bundle_file_and_logs_the_rest(caplog):
    error = chained(ModelUnavailable("DERMAL_BUNDLE_DIR/head.npz is missing: restore it or run quantize_model.py"),
                    FileNotFoundError("/srv/dermai/bundle/head.npz"))
    with caplog.at_level(logging.ERROR, logger="dermai"):
        public = refusal(error)
    assert public.status == 503 and public.retry_after is None
    assert public.message == "the model is unavailable: DERMAL_BUNDLE_DIR/head.npz is missing: restore it or run " \
                             "quantize_model.py"
    assert "/srv/dermai/bundle/head.npz" in caplog.text and "/srv" not in public.message


def test_busy_is_a_503_with_retry_after():
    public = refusal(ServerBusy(retry_after=5))
    assert (public.status, public.headers()) == (503, {"Retry-After": "5"})
    assert "busy" in public.message


@pytest.mark.parametrize("problem, logged", [
    (OSError("connection to server at \"10.0.0.7\", port 5432 failed: timeout expired"), "port 5432 failed"),
    (None, "SELECT 1 gave a wrong answer"),
])
def test_a_database_problem_publishes_no_address(problem, logged):
    public, detail = database_problem(problem)
    assert public == DATABASE_DOWN and "10.0.0.7" not in public and logged in detail


def test_a_bundle_problem_publishes_the_message_and_logs_the_cause():
    error = chained(BundleError("DERMAL_BUNDLE_DIR/manifest.json is unreadable: regenerate the bundle with "
                                "quantize_model.py"), ValueError("Expecting property name: line 1 column 2"))
    public, detail = bundle_problem(error)
    assert public == str(error) and "Expecting property name" in detail and "Expecting" not in public
