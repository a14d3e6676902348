"""Read-only questions the views ask: the history, the serving bundle's state, the process's health."""
import logging
import threading
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, connection
from django.utils import formats, timezone, translation
from django.utils.translation import gettext_lazy as _, pgettext

from .class_words import translated
from .inference.bundle import BundleError, bundle_dir, checked_bundle, class_infos, read_manifest
from .inference.switches import engine_name, gradcam_enabled, model_loaded
from .inference.memory import budget_mb, process_memory
from .inference.words import decimal
from .models import Analysis
from .public_errors import bundle_problem, database_problem
from .tallies import history_write_failures
from .templatetags.dermal_format import percent

_health_logged = {"problems": []}
_health_lock = threading.Lock()
logger = logging.getLogger("dermai")


def recent_analyses(limit=50):
    return Analysis.objects.all()[:limit]


def serving_manifest():
    return read_manifest(bundle_dir())


def metadata_values(manifest, field):
    return manifest["metadata"][field]["values"]


def age_limit(manifest):
    return manifest["metadata"]["age"]["limit"]


def class_rows(manifest, probabilities):
    """One row per class, most probable first, for the result page and the API; the name in the active language."""
    rows = [{"code": info.code, "name": translated(info.name), "malignant": info.malignant,
             "probability": probabilities[info.code]} for info in class_infos(manifest)]
    return sorted(rows, key=lambda row: row["probability"], reverse=True)


def _database_answers():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        return cursor.fetchone() == (1,)


@dataclass(frozen=True)
class Dependency:
    """Something serving relies on: whether it is up, a message safe to publish, and the detail for the log.

    `critical`: without it this process cannot serve analyses, which a restart or a redeploy can fix.
    """
    name: str
    critical: bool
    up: bool
    detail: str
    log_detail: str = ""

    def line(self):
        return f"{self.name}: {self.detail}"

    def log_line(self):
        return f"{self.name}: {self.log_detail or self.detail}"

    def public(self):
        return {"name": self.name, "state": "ok" if self.up else "down", "detail": self.detail}


def _bundle_dependency():
    try:
        precision = checked_bundle()[1]
        return Dependency("serving bundle", critical=True, up=True,
                          detail=f"intact, {precision} backbone, {engine_name()} engine")
    except BundleError as exc:
        public, detail = bundle_problem(exc)
        return Dependency("serving bundle", critical=True, up=False, detail=public, log_detail=detail)


def _database_dependency():
    """Analyses go on without the database (only the history is lost), so it is not critical."""
    problem = None
    try:
        if _database_answers():
            return Dependency("database", critical=False, up=True, detail="answers")
    except DatabaseError as exc:
        problem = exc
    public, detail = database_problem(problem)
    return Dependency("database", critical=False, up=False, detail=public, log_detail=detail)


def _history_line(failed):
    return f"history: {failed} analyses answered since this worker started could not be recorded " \
           f"(see the 'dermai' log)"


def _log_if_changed(problems):
    """Log the problems once each time they change (Render polls /health/, the log must not flood)."""
    with _health_lock:
        if problems == _health_logged["problems"]:
            return
        _health_logged["problems"] = problems
    if problems:
        logger.error("a dependency is down: %s", "; ".join(problems))
    else:
        logger.info("every dependency is up again")


def dependencies():
    """The serving bundle and the database, checked now; what is down is logged, in full, when it changes.

    Never loads the model.
    """
    found = [_bundle_dependency(), _database_dependency()]
    _log_if_changed([dependency.log_line() for dependency in found if not dependency.up])
    return found


def health_problems():
    """Each dependency that is down, with the full detail: for the operator's shell (dermai_check), not the web."""
    return [dependency.log_line() for dependency in dependencies() if not dependency.up]


def health_answer():
    """/health/ for the platform, as (status, text): 503 only when a critical dependency is down (what a restart
    or redeploy can fix); with only the database down it stays 200, says 'degraded' and counts the analyses
    answered but not recorded. Past losses stay visible after the database is back."""
    down = [dependency for dependency in dependencies() if not dependency.up]
    status = 503 if any(dependency.critical for dependency in down) else 200
    failed = history_write_failures.value
    lines = [] if status == 503 else ["degraded" if down else "ok"]
    lines += [dependency.line() for dependency in down]
    if failed or any(dependency.name == "database" for dependency in down):
        lines.append(_history_line(failed))
    return status, "\n".join(lines)


def readiness_report():
    """Every dependency with its state and a message safe to publish; status 'down' when any is down."""
    found = dependencies()
    return {"status": "ok" if all(dependency.up for dependency in found) else "down",
            "dependencies": [dependency.public() for dependency in found],
            "history_write_failures": history_write_failures.value}


def memory_report():
    """This process's memory against its budget, and what is loaded. Never loads the model."""
    memory = process_memory()
    budget = budget_mb()
    report = {
        "status": "ok",
        "memory": memory,
        "peak_rss_mb": memory["peak_rss_mb"],
        "budget_mb": budget,
        "headroom_mb": round(budget - memory["rss_mb"], 1),
        "peak_headroom_mb": round(budget - memory["peak_rss_mb"], 1),
        "model_loaded": model_loaded(),
        "gradcam_enabled": gradcam_enabled(),
        "engine": None,
        "precision": None,
        "history_write_failures": history_write_failures.value,
    }
    try:
        report["precision"] = checked_bundle()[1]
        report["engine"] = engine_name()
    except BundleError as exc:
        report.update(status="error", error=bundle_problem(exc)[0])
    return report


# --- The history as a table: the /history/ page and its CSV export show the same columns ----------------------

def _yes_no(value):
    """Whether the answer referred: yes, no, or blank when the history did not record it."""
    if value is None:
        return ""
    return pgettext("the answer referred", "yes") if value else pgettext("the answer referred", "no")


def _on_off(value):
    """A switch's cell (flip averaging, Grad-CAM)."""
    return pgettext("a switch was", "on") if value else pgettext("a switch was", "off")


def _percent(value, decimals=1):
    """In the active language's number format, as on the pages ('0,62%' in Vietnamese)."""
    return "" if value is None else percent(value, decimals)


def _decimal(value, decimals):
    return "" if value is None else formats.number_format(decimal(value, decimals), decimals)


# Titles and words in the active language (gettext_lazy here, pgettext in the cells); codes and figures as they are.
HISTORY_COLUMNS = (
    (_("Time (UTC)"), lambda row: f"{row.created_at:%Y-%m-%d %H:%M:%S}"),
    (_("Top class"), lambda row: row.top_class),
    (_("Probability"), lambda row: _percent(row.top_probability)),
    (_("Malignant"), lambda row: _percent(row.malignant_probability)),
    (_("Referral"), lambda row: _yes_no(row.referral)),
    (_("Referral threshold"), lambda row: _percent(row.referral_threshold, 2)),  # calibrated ones go down to 0.62%
    (_("Threshold source"), lambda row: row.get_threshold_source_display()),
    (_("Override file"), lambda row: row.threshold_override),
    (_("Override calibrated on"), lambda row: row.threshold_calibrated_on),
    (_("Scope"), lambda row: row.get_scope_display()),
    (_("Scope reasons"), lambda row: " ".join(row.scope_reasons)),
    (_("Natural-image distance"), lambda row: _decimal(row.natural_distance, 3)),
    (_("Warnings"), lambda row: " ".join(row.warnings)),
    (_("Age"), lambda row: "" if row.age is None else str(row.age)),
    (_("Sex"), lambda row: row.sex),
    (_("Site"), lambda row: row.site),
    (_("Engine"), lambda row: f"{row.engine} {row.precision}"),
    (_("Bundle version"), lambda row: row.bundle_version),
    (_("Flip averaging"), lambda row: _on_off(row.flip_average)),
    (_("Grad-CAM"), lambda row: _on_off(row.gradcam)),
    (_("Latency"), lambda row: f"{row.latency_ms} ms"),
    (_("Photo SHA-256"), lambda row: row.image_sha256),
)


def history_header():
    """The columns' titles in the active language."""
    return [str(title) for title, cell in HISTORY_COLUMNS]


def history_rows(analyses):
    """Each analysis as the table's cells (text), lazily: the CSV export streams the whole history, after its view
    has returned, so the cells are written in the language active now."""
    return _history_rows(analyses, translation.get_language())


def _history_rows(analyses, language):
    for analysis in analyses:
        with translation.override(language):
            cells = [cell(analysis) for title, cell in HISTORY_COLUMNS]
        yield cells


def all_analyses():
    """The whole history, newest first, fetched in chunks rather than all at once."""
    return Analysis.objects.all().iterator(chunk_size=500)


def history_cutoff(now=None):
    """When rows expire: those recorded before `now` minus DERMAI_HISTORY_DAYS are past it, one recorded exactly
    then is kept; None when DERMAI_HISTORY_DAYS is 0 (the history is kept for ever)."""
    days = settings.DERMAI_HISTORY_DAYS
    return (now or timezone.now()) - timedelta(days=days) if days else None


def expired_analyses(cutoff):
    """The analyses recorded before `cutoff`."""
    return Analysis.objects.filter(created_at__lt=cutoff)
