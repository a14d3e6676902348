"""DermAI settings, all from the environment (see README): safe by default, DEBUG only when asked for."""
import os
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
MB = 1024 * 1024


def env_flag(name, default=False):
    """Only true, 1 or yes turn a flag on, so a typo never enables DEBUG."""
    return os.environ.get(name, str(default)).strip().lower() in {"1", "true", "yes"}


def env_list(name, default=""):
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_flag("DEBUG")

SECRET_KEY = os.environ.get("SECRET_KEY", "").strip()
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off (render.yaml generates one)")
    SECRET_KEY = "django-insecure-development-only-key-never-used-with-debug-off"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")
if os.environ.get("RENDER_EXTERNAL_HOSTNAME"):
    ALLOWED_HOSTS.append(os.environ["RENDER_EXTERNAL_HOSTNAME"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "Dermal.apps.DermalConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    "dermai.health_first.HealthFirstMiddleware",
    "dermai.static_files.StaticFilesOnDemandMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "dermai.middleware.UploadSizeLimitMiddleware",
]

ROOT_URLCONF = "dermai.urls"
WSGI_APPLICATION = "dermai.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# An embedded SQLite file unless DATABASE_URL points elsewhere (PostgreSQL on Render and in CI); an empty
# DATABASE_URL counts as unset.
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / os.environ.get('DB_NAME', 'db.sqlite3')}",
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", 60)),
        conn_health_checks=True,
    )
}
# A PostgreSQL that stops answering must not hold requests: /health/ asks it, and Render counts a health check
# not answered within 5 s as failed. (A DATABASE_URL's own ?connect_timeout= wins.)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 3)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": f"django.contrib.auth.password_validation.{name}"}
    for name in ("UserAttributeSimilarityValidator", "MinimumLengthValidator",
                 "CommonPasswordValidator", "NumericPasswordValidator")
]

# The interface speaks English and Vietnamese (a third language is a catalogue in locale/ and a line here). Each
# person gets the language their browser asks for (Accept-Language), or the one they chose with the switcher (a
# cookie); DERMAI_LANGUAGE is the language for everyone else, for a deployment whose people mostly read one.
LANGUAGES = [("en", "English"), ("vi", "Tiếng Việt")]  # each named in its own words (the switcher shows these)
LANGUAGE_CODE = os.environ.get("DERMAI_LANGUAGE", "en").strip().lower() or "en"
if LANGUAGE_CODE not in dict(LANGUAGES):
    raise ImproperlyConfigured(f"DERMAI_LANGUAGE={LANGUAGE_CODE!r} is not one of {', '.join(dict(LANGUAGES))}")
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# Where collectstatic writes and WhiteNoise serves from; the test harness gives each service its own.
STATIC_ROOT = Path(os.environ.get("DERMAI_STATIC_ROOT") or BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage" if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage",
    },
}

# With DEBUG (development and the tests) serve static files straight from static/, no collectstatic needed;
# set from the environment because the test runner turns settings.DEBUG off.
WHITENOISE_USE_FINDERS = DEBUG
# Each static file is found at its first request, not indexed when the worker starts (dermai/static_files.py).
WHITENOISE_AUTOREFRESH = True

# Uploads: photos above DERMAI_MAX_UPLOAD_MB are refused with 413 before being parsed. Anything past
# 1 MB (the page's own 1280 px JPEG stays under it) streams to a temporary file rather than RAM, so the queue's
# waiting uploads stay small; non-file fields stay small too.
MAX_UPLOAD_BYTES = int(float(os.environ.get("DERMAI_MAX_UPLOAD_MB", 10)) * MB)
FILE_UPLOAD_MAX_MEMORY_SIZE = int(os.environ.get("FILE_UPLOAD_MAX_MEMORY_SIZE", 1 * MB))
DATA_UPLOAD_MAX_MEMORY_SIZE = int(os.environ.get("DATA_UPLOAD_MAX_MEMORY_SIZE", 1 * MB))
DATA_UPLOAD_MAX_NUMBER_FIELDS = 100
DATA_UPLOAD_MAX_NUMBER_FILES = 2
# An over-limit body is read and discarded (never kept) up to DERMAI_DRAIN_MAX_MB before its 413, because most
# clients (urllib, requests) send the whole body before reading any answer; past that the connection is closed.
UPLOAD_DRAIN_MAX_BYTES = int(float(os.environ.get("DERMAI_DRAIN_MAX_MB", 4 * MAX_UPLOAD_BYTES / MB)) * MB)

# Analyses run at once (each holds a decoded photo and the model's activations); the others wait their turn in
# Dermal.services.analysis_queue, fair across people, each holding its upload and one Gunicorn thread: at most
# DERMAI_QUEUE_PLACES of them (keep it below render.yaml's --threads, so that /health/ always finds a thread), and
# none whose expected wait would pass DERMAI_MAX_WAIT seconds. Past either, 503 with a Retry-After computed from the
# queue. DERMAI_MAX_WAIT=0: nobody waits.
DERMAI_MAX_CONCURRENT = max(1, int(os.environ.get("DERMAI_MAX_CONCURRENT", 1)))
DERMAI_MAX_WAIT = max(0.0, float(os.environ.get("DERMAI_MAX_WAIT", 90)))
DERMAI_QUEUE_PLACES = max(1, int(os.environ.get("DERMAI_QUEUE_PLACES", 20)))
# Serving the upload page starts loading the model in the background (services.load_model_early): a person choosing
# and sending a photo overlaps the seconds a just-woken free instance needs to load it at 0.1 CPU.
DERMAI_EARLY_LOAD = env_flag("DERMAI_EARLY_LOAD", True)
DERMAI_API_TOKEN = os.environ.get("DERMAI_API_TOKEN", "").strip()
# How long the history keeps an analysis (its probabilities, the patient's age, sex and body site, the photo's
# SHA-256; never the photo): older rows are pruned now and then by the service and by `manage.py prune_history`.
# 0 keeps them for ever.
DERMAI_HISTORY_DAYS = max(0, int(os.environ.get("DERMAI_HISTORY_DAYS", 90)))

if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_flag("SECURE_SSL_REDIRECT", True)
    # Render's health checks reach the container over plain HTTP.
    SECURE_REDIRECT_EXEMPT = [r"^health/$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", 31536000))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

SECURE_CONTENT_TYPE_NOSNIFF = True
CSRF_FAILURE_VIEW = "Dermal.views.csrf_failure"
# The pages run only their own scripts and styles (static files, nothing inline), show their own images plus
# the photo and heatmap inlined as data: URIs and the chosen photo's preview (blob:), and post only to
# themselves; everything else is refused.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [NONE],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:", "blob:"],
        "connect-src": [SELF],
        "form-action": [SELF],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
    },
}
# The camera for the upload page itself (to photograph a lesion); no other sensor or capability, for anyone.
PERMISSIONS_POLICY = {
    "camera": ["self"],
    **{feature: [] for feature in ("microphone", "geolocation", "payment", "usb", "serial", "hid",
                                   "display-capture", "browsing-topics", "accelerometer", "gyroscope",
                                   "magnetometer")},
}
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {"dermai": {"level": os.environ.get("DERMAI_LOG_LEVEL", "INFO")}},
}
