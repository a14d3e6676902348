"""Thin views: validate with a form, call services and selectors, answer in HTML or JSON.

Importing this module (as the URLconf and the upload-size middleware do when the worker starts), or answering
/health/ and /memory/, must not import the engine, NumPy or Pillow: selectors and the engine's switches use
the standard library; services import the engine on the first analysis.

Pages speak the language LocaleMiddleware chose (the switcher's cookie, Accept-Language, DERMAI_LANGUAGE). The API
speaks the one its request's Accept-Language asks for, English without one: its codes and keys never change, only
the words for people (names, descriptions, warnings, the reason of a refusal). The engine answers in English; the
words are translated here (class_words, public_errors).
"""
import base64
import functools
import hashlib
import hmac
import math
from dataclasses import replace

from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import render
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext, gettext_lazy as _
from django.utils.translation.trans_real import parse_accept_lang_header
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from . import selectors, services
from .exceptions import ModelUnavailable, ServerBusy, UploadRefused
from .class_words import translated, translated_triage
from .public_errors import Refusal, on_field, refusal
from .forms import FLIP_AVERAGE_HELP, AnalysisForm, AnalysisPageForm, megabytes
from .inference.switches import flip_average_enabled, gradcam_enabled


DISCLAIMER = _("DermAI is a research demonstration, not a medical diagnosis, and it can be wrong. "
               "Show a doctor or dermatologist any skin lesion that worries you or that changes.")
# What the upload page sends (upload.js): a photo longer than this many pixels is scaled down in the browser and sent
# as a JPEG of this quality: twice the 640 px shown, five times the model's 254 px input, on which the quality checks
# and the scope gate are measured. Measured in Chromium on the 192 held-out photos (bench/page_agreement.py,
# docs/BENCHMARKS.md): the scope levels and the warnings agree with the original's for every photo; the top class and
# the referral for all but a few that sit on the edge, as many as a mere JPEG re-save of the original moves. 2048 px
# agreed about as well when measured (four-view flip averaging) and takes a phone on a mobile link twice as long to
# send. upload.js sends the file as it is when that is the smaller.
SEND_LONG_SIDE, SEND_JPEG_QUALITY = 1280, 0.92
# upload.js asks (this request header, "place") to hear its place in the analysis queue while it waits; the answer
# says (the same header) that the place lines come first. How often a waiting person hears it, changed or not: a
# silent connection looks dead to a phone and to the proxies on the way.
QUEUE_HEADER, PLACE_EVERY_S = "DermAI-Queue", 5
# The API's language when its request asks for none it speaks, whatever DERMAI_LANGUAGE says (that is the pages').
API_DEFAULT_LANGUAGE = "en"


def _manifest():
    try:
        with services.engine_errors():
            return selectors.serving_manifest()
    except ModelUnavailable as exc:
        raise refusal(exc) from exc


def person(request):
    """Who is asking, for the analysis queue's fairness: the API's bearer token, else the browser (its CSRF cookie,
    which every form post carries), else the address the request came from. Never the address alone when there is
    more: a mobile network puts many phones behind one. Behind Render's proxy the address is the last in
    X-Forwarded-For (the one the proxy added; a client can write the others)."""
    if authorization := request.headers.get("Authorization"):
        return "token " + hashlib.sha256(authorization.encode()).hexdigest()
    if browser := request.COOKIES.get(settings.CSRF_COOKIE_NAME):
        return "browser " + browser
    forwarded = request.headers.get("X-Forwarded-For", "").rsplit(",", 1)[-1].strip()
    return "address " + (forwarded or request.META.get("REMOTE_ADDR", ""))


def _place_in_line(request, form):
    """Validate the form and take its person's place in the analysis queue: the Ticket, or raise Refusal (a bad
    field, or a queue with no room: 503 with its Retry-After)."""
    if not form.is_valid():
        raise Refusal(*form.refusal())
    try:
        return services.analysis_queue.join(person(request))
    except ServerBusy as exc:
        raise refusal(exc) from exc


def _analyse_in_turn(form, ticket):
    """The form's analysis in `ticket`'s turn: (PredictionResult, Analysis or None), or raise Refusal."""
    try:
        return services.analyse_in_turn(form.cleaned_data["image"], ticket, **form.analysis_options())
    except (UploadRefused, ModelUnavailable) as exc:
        raise refusal(exc) from exc


def _analyse(request, form):
    """Validate the form and run its analysis in its person's turn: (PredictionResult, Analysis or None), or raise
    Refusal."""
    return _analyse_in_turn(form, _place_in_line(request, form))


def _data_uri(mime, data):
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}" if data else None


def _blank_page_form():
    return AnalysisPageForm(manifest=_manifest(), initial={"gradcam": gradcam_enabled(),
                                                           "flip_average": flip_average_enabled()})


def _form_page(request, form, refusal=None):
    """The upload form; with a refusal, its reason and status (400, 413, 415 or 503)."""
    context = {"form": form, "error": refusal and refusal.message, "max_upload_bytes": settings.MAX_UPLOAD_BYTES,
               "send_side": SEND_LONG_SIDE, "send_quality": SEND_JPEG_QUALITY,
               "history_days": settings.DERMAI_HISTORY_DAYS}
    return TemplateResponse(request, "dermal/upload.html", context, status=refusal.status if refusal else 200,
                            headers=refusal.headers() if refusal else None).render()


def _json_refusal(refusal):
    return JsonResponse({"error": refusal.message, "field": refusal.field}, status=refusal.status,
                        headers=refusal.headers())


@require_http_methods(["GET", "HEAD", "POST"])
def upload(request):
    """GET: the upload form. POST: the result page of its analysis, or the form again with the reason."""
    try:
        if request.method != "POST":
            if settings.DERMAI_EARLY_LOAD:
                services.load_model_early()
            return _form_page(request, _blank_page_form())
        manifest = _manifest()
    except Refusal as refusal:
        return _form_page(request, None, refusal)
    form = AnalysisPageForm(request.POST, request.FILES, manifest=manifest)
    try:
        ticket = _place_in_line(request, form)
    except Refusal as refusal:
        return _form_page(request, form, refusal)
    if request.headers.get(QUEUE_HEADER) == "place" and not ticket.started:
        return _places_then_page(request, form, manifest, ticket)
    return _page_in_turn(request, form, manifest, ticket)


def _page_in_turn(request, form, manifest, ticket):
    """The result page of the form's analysis in `ticket`'s turn, or the form again with the reason."""
    try:
        result, record = _analyse_in_turn(form, ticket)
    except Refusal as refusal:
        return _form_page(request, form, refusal)
    return render(request, "dermal/result.html", _result_context(manifest, result, record))


def _places_then_page(request, form, manifest, ticket):
    """For upload.js, whose person would wait: a line "place N SECONDS" at once, then whenever the place changes and
    at least every PLACE_EVERY_S, "place 0 0" when the turn has come; a blank line; then the page (the result, or the
    form with the reason: its status is 200 by then, the page says what happened). A person who goes away while
    waiting gives up the place at the next line (the write fails and the stream is closed)."""
    language = translation.get_language()  # the stream runs after the middleware has answered

    def lines():
        with translation.override(language):
            try:
                for place, seconds in services.places_in_line(ticket, PLACE_EVERY_S):
                    yield f"place {place} {math.ceil(seconds)}\n"
                yield "\n"
                yield _page_in_turn(request, form, manifest, ticket).content
            finally:
                services.analysis_queue.leave(ticket)

    return StreamingHttpResponse(lines(), content_type="text/plain; charset=utf-8", headers={QUEUE_HEADER: "place"})


def result_words(result):
    """The words for people of an analysis (the engine gives them in English) in the active language: the top class's
    name and description, the photo-quality warnings (code, message) and the triage entry's wording."""
    return {
        "top_name": translated(result.top_name),
        "top_description": translated(result.top_description),
        "warnings": [replace(warning, message=gettext(warning.message)) for warning in result.warnings],
        "triage": translated_triage(result.triage),
    }


def _result_context(manifest, result, record):
    """The result page's context: `result` is the engine's answer as it came (English words); `top_name`,
    `top_description`, `warnings` (each with .code and .message), `triage` and `rows`/`top_three` (each row's name)
    are in the page's language."""
    rows = selectors.class_rows(manifest, result.probabilities)
    return {
        "result": result,
        "record": record,
        **result_words(result),
        "rows": rows,
        "top_three": rows[:3],
        "malignant_names": " + ".join(sorted(row["name"] for row in rows if row["malignant"])),  # names as written
        "analysed_at": record.created_at if record else timezone.now(),
        "photo_uri": _data_uri("image/jpeg", result.photo_jpeg),
        "overlay_uri": _data_uri("image/jpeg", result.overlay_jpeg),
        "flip_average_help": FLIP_AVERAGE_HELP,
        "disclaimer": DISCLAIMER,
        "history_days": settings.DERMAI_HISTORY_DAYS,
    }


def _api_authorised(request):
    token = settings.DERMAI_API_TOKEN
    if not token:
        return True
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


def api_language(request):
    """The language of the API's answer: the first of the request's Accept-Language that DermAI speaks; English when
    it sends none, or names none of them. Never the language cookie nor DERMAI_LANGUAGE, which are the pages'."""
    for code, _quality in parse_accept_lang_header(request.headers.get("Accept-Language", "")):
        if code == "*":
            break
        try:
            return translation.get_supported_language_variant(code)
        except LookupError:
            continue
    return API_DEFAULT_LANGUAGE


def _in_api_language(request, answer):
    """answer() (a response) made in the API's language for `request`, and saying so (Content-Language)."""
    language = api_language(request)
    with translation.override(language):
        response = answer()
    response["Content-Language"] = language
    return response


def speaks_api_language(view):
    """A view that answers in the API's language (api_language)."""
    @functools.wraps(view)
    def answer(request, *args, **kwargs):
        return _in_api_language(request, lambda: view(request, *args, **kwargs))

    return answer


@csrf_exempt  # a token (or nothing) authenticates API calls, never a browser cookie
@require_POST
@speaks_api_language
def api_predict(request):
    """Multipart `image` (+ optional age, sex, site, gradcam, flip_average) -> the analysis as JSON.

    Codes and keys are the same in every language; the words for people (`top_name`, `top_description`,
    `warnings[].message`, `classes[].name`, `top_three[].name`, `triage.images`, `triage.measured_on`, `disclaimer`,
    an `error`) are in the language of the request's Accept-Language (English without one).
    """
    if not _api_authorised(request):
        return JsonResponse({"error": gettext("a valid 'Authorization: Bearer <token>' header is required")},
                            status=401, headers={"WWW-Authenticate": 'Bearer realm="dermai"'})
    try:
        manifest = _manifest()
        result, record = _analyse(request, AnalysisForm(request.POST, request.FILES, manifest=manifest))
    except Refusal as refusal:
        return _json_refusal(refusal)
    rows = selectors.class_rows(manifest, result.probabilities)
    words = result_words(result)
    return JsonResponse({
        **result.summary(),
        "top_name": words["top_name"],
        "top_description": words["top_description"],
        "warnings": [{"code": warning.code, "message": warning.message} for warning in words["warnings"]],
        "triage": words["triage"],
        "top_three": rows[:3],
        "classes": rows,
        "overlay_png": result.overlay_png and base64.b64encode(result.overlay_png).decode("ascii"),
        "analysis_id": record and record.pk,
        "disclaimer": DISCLAIMER,
    })


def _body_refused(request, make_refusal):
    """A refusal given by dermai.middleware before any view: JSON for the API (in its language), the upload page
    otherwise (in the page's). `make_refusal()` gives the Refusal, in the active language."""
    if request.path_info == reverse("api_predict"):
        return _in_api_language(request, lambda: _json_refusal(make_refusal()))
    refusal = make_refusal()
    try:
        return _form_page(request, _blank_page_form(), refusal)
    except Refusal:
        return _form_page(request, None, refusal)


def oversized_upload(request, size, exceeds=False):
    """413 for a body of `size` bytes (more than `size` when `exceeds`) over the upload limit."""
    def too_large():
        values = {"size": megabytes(size), "limit": megabytes(settings.MAX_UPLOAD_BYTES)}
        if exceeds:
            reason = gettext("the upload is over %(size)s; the limit is %(limit)s") % values
        else:
            reason = gettext("the upload is %(size)s; the limit is %(limit)s") % values
        return Refusal(413, on_field("image", reason), "image")

    return _body_refused(request, too_large)


def length_required(request):
    """411 for a chunked body: WSGI gives Django no body without a Content-Length."""
    return _body_refused(request, lambda: Refusal(411, on_field("image", gettext(
        "send the upload with a Content-Length header (chunked request bodies are not read)")), "image"))


def csrf_failure(request, reason=""):
    """403 for a form posted without its CSRF token or cookie (settings.CSRF_FAILURE_VIEW): what to do, in the
    site's own page rather than Django's, whose inline style the Content-Security-Policy blocks."""
    return render(request, "dermal/csrf_failure.html", {"again": request.path}, status=403)


@require_safe
def health(request):
    """The platform's health check (render.yaml): 200 while this process can serve analyses, 'degraded' in the
    text when the database is down; 503 only for a broken serving bundle, which a restart or redeploy fixes."""
    status, text = selectors.health_answer()
    return HttpResponse(text, status=status, content_type="text/plain; charset=utf-8")


@require_safe
def ready(request):
    """For people and monitors: every dependency's state as JSON, 503 when any is down."""
    report = selectors.readiness_report()
    return JsonResponse(report, status=200 if report["status"] == "ok" else 503)


@require_safe
def memory(request):
    """This worker's memory and model, and its analysis queue now."""
    return JsonResponse({**selectors.memory_report(), "analysis_queue": services.analysis_queue.state()})


@require_safe
@staff_member_required
def history(request):
    return render(request, "dermal/history.html", {
        "header": selectors.history_header(),
        "rows": list(selectors.history_rows(selectors.recent_analyses())),
    })


def history_csv_response(analyses):
    """`analyses` as CSV with the history table's columns, streamed row by row (also the admin's action)."""
    lines = services.csv_lines(selectors.history_header(), selectors.history_rows(analyses))
    filename = f"dermai-history-{timezone.now():%Y%m%d-%H%M%S}.csv"
    return StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8",
                                 headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@require_safe
@staff_member_required
def history_csv(request):
    """The whole history as CSV."""
    return history_csv_response(selectors.all_analyses())
