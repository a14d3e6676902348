"""Thin views: validate with a form, call services and selectors, answer in HTML or JSON.

Importing this module (as the URLconf and the upload-size middleware do when the worker starts), or answering
/health/ and /memory/, must not import the engine, NumPy or Pillow: selectors and the engine's switches use
the standard library; services import the engine on the first analysis.
"""
import base64
import hmac

from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import render
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from . import selectors, services
from .public_errors import Refusal, refusal
from .forms import FLIP_AVERAGE_HELP, AnalysisForm, AnalysisPageForm, megabytes
from .inference.switches import flip_average_enabled, gradcam_enabled


DISCLAIMER = ("DermAI is a research demonstration, not a medical diagnosis, and it can be wrong. "
              "Show a doctor or dermatologist any skin lesion that worries you or that changes.")


def _manifest():
    try:
        with services.engine_errors():
            return selectors.serving_manifest()
    except services.ModelUnavailable as exc:
        raise refusal(exc) from exc


def _analyse(form):
    """Validate the form and run its analysis: (PredictionResult, Analysis or None), or raise Refusal."""
    if not form.is_valid():
        raise Refusal(*form.refusal())
    try:
        return services.analyse_upload(form.cleaned_data["image"], **form.analysis_options())
    except (services.UploadRefused, services.ModelUnavailable, services.ServerBusy) as exc:
        raise refusal(exc) from exc


def _data_uri(mime, data):
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}" if data else None


def _blank_page_form():
    return AnalysisPageForm(manifest=_manifest(), initial={"gradcam": gradcam_enabled(),
                                                           "flip_average": flip_average_enabled()})


def _form_page(request, form, refusal=None):
    """The upload form; with a refusal, its reason and status (400, 413, 415 or 503)."""
    context = {"form": form, "error": refusal and refusal.message, "max_upload_bytes": settings.MAX_UPLOAD_BYTES}
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
            return _form_page(request, _blank_page_form())
        manifest = _manifest()
    except Refusal as refusal:
        return _form_page(request, None, refusal)
    form = AnalysisPageForm(request.POST, request.FILES, manifest=manifest)
    try:
        result, record = _analyse(form)
    except Refusal as refusal:
        return _form_page(request, form, refusal)
    return render(request, "dermal/result.html", _result_context(manifest, result, record))


def _result_context(manifest, result, record):
    rows = selectors.class_rows(manifest, result.probabilities)
    return {
        "result": result,
        "record": record,
        "rows": rows,
        "top_three": rows[:3],
        "malignant_names": " + ".join(sorted(row["name"].lower() for row in rows if row["malignant"])),
        "analysed_at": record.created_at if record else timezone.now(),
        "photo_uri": _data_uri("image/jpeg", result.photo_jpeg),
        "overlay_uri": _data_uri("image/png", result.overlay_png),
        "flip_average_help": FLIP_AVERAGE_HELP,
        "disclaimer": DISCLAIMER,
    }


def _api_authorised(request):
    token = settings.DERMAI_API_TOKEN
    if not token:
        return True
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


@csrf_exempt  # a token (or nothing) authenticates API calls, never a browser cookie
@require_POST
def api_predict(request):
    """Multipart `image` (+ optional age, sex, site, gradcam, flip_average) -> the analysis as JSON."""
    if not _api_authorised(request):
        return JsonResponse({"error": "a valid 'Authorization: Bearer <token>' header is required"}, status=401,
                            headers={"WWW-Authenticate": 'Bearer realm="dermai"'})
    try:
        manifest = _manifest()
        result, record = _analyse(AnalysisForm(request.POST, request.FILES, manifest=manifest))
    except Refusal as refusal:
        return _json_refusal(refusal)
    rows = selectors.class_rows(manifest, result.probabilities)
    return JsonResponse({
        **result.summary(),
        "top_three": rows[:3],
        "classes": rows,
        "overlay_png": result.overlay_png and base64.b64encode(result.overlay_png).decode("ascii"),
        "analysis_id": record and record.pk,
        "disclaimer": DISCLAIMER,
    })


def _body_refused(request, refusal):
    """A refusal given by dermai.middleware before any view: JSON for the API, the upload page otherwise."""
    if request.path_info == reverse("api_predict"):
        return _json_refusal(refusal)
    try:
        return _form_page(request, _blank_page_form(), refusal)
    except Refusal:
        return _form_page(request, None, refusal)


def oversized_upload(request, size, exceeds=False):
    """413 for a body of `size` bytes (more than `size` when `exceeds`) over the upload limit."""
    upload = f"over {megabytes(size)}" if exceeds else megabytes(size)
    return _body_refused(request, Refusal(
        413, f"image: the upload is {upload}; the limit is {megabytes(settings.MAX_UPLOAD_BYTES)}", "image"))


def length_required(request):
    """411 for a chunked body: WSGI gives Django no body without a Content-Length."""
    return _body_refused(request, Refusal(
        411, "image: send the upload with a Content-Length header (chunked request bodies are not read)", "image"))


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
    return JsonResponse(selectors.memory_report())


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
