"""Django settings, all read from the environment (documented in the README)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import dj_database_url

PACKAGE_DIR = Path(__file__).resolve().parent
# var/ holds everything a running instance writes: the SQLite database, the generated secret key,
# uploaded media. By default it sits in the current directory (the clone when started by `make run`).
VAR_DIR = Path(os.environ.get("MEDTUTOR_VAR_DIR", Path.cwd() / "var")).resolve()


def _env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _secret_key() -> str:
    """SECRET_KEY from the environment, else one generated once and kept in var/secret_key."""
    if key := os.environ.get("SECRET_KEY"):
        return key
    path = VAR_DIR / "secret_key"
    if path.exists():
        return path.read_text().strip()
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(50)
    # O_EXCL: two processes starting at once must not end up with different keys.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


SECRET_KEY = _secret_key()
DEBUG = _env_bool("DEBUG")
ALLOWED_HOSTS = [h.strip() for h in os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h.strip()]
# Behind TLS (directly or via a proxy that sets X-Forwarded-Proto): secure, __Host- cookies and HSTS.
HTTPS = _env_bool("MEDTUTOR_HTTPS")
# xAPI: statements go to this LRS endpoint (…/xAPI) through a durable outbox; empty = off.
XAPI_URL = os.environ.get("MEDTUTOR_XAPI_URL", "")
XAPI_USERNAME = os.environ.get("MEDTUTOR_XAPI_USERNAME", "")
XAPI_PASSWORD = os.environ.get("MEDTUTOR_XAPI_PASSWORD", "")
XAPI_HOMEPAGE = os.environ.get("MEDTUTOR_XAPI_HOMEPAGE", "https://medtutor.invalid")
# /metrics answers a scraper that sends this bearer token; without one, only this machine (loopback).
METRICS_TOKEN = os.environ.get("MEDTUTOR_METRICS_TOKEN", "")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "axes",
    "ninja",  # serves Swagger UI from our own static files, not a CDN
    "django_prometheus",  # request counts and latencies by view at /metrics
    "medtutor.core",
    "medtutor.accounts",
    "medtutor.content",
    "medtutor.learning",
    "medtutor.governance",
    "medtutor.analytics",
    "medtutor.assessment",
    "medtutor.simulation",
    "medtutor.decision",
    "medtutor.integrations",
    "medtutor.web",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "medtutor.core.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "medtutor.core.middleware.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
    "medtutor.core.middleware.DomainErrorMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "medtutor.urls"
WSGI_APPLICATION = "medtutor.wsgi.application"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    }
]

DATABASE_URL = os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'medtutor.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    if DATABASES["default"]["NAME"] not in ("", ":memory:"):
        Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets readers work while one writer commits; IMMEDIATE takes the write lock at BEGIN so
        # concurrent writers wait (busy timeout) instead of failing half-way with "database is locked".
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }

REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "medtutor.core.cache.ReusingRedisCache", "LOCATION": REDIS_URL,
                          "KEY_PREFIX": os.environ.get("MEDTUTOR_CACHE_PREFIX", "medtutor")}}
    # Sessions read from the shared cache, written through to the database (which stays the record, so a
    # Redis restart signs nobody out): one query less on every request. Only with a shared cache: a
    # per-process cache would keep a session another process has ended.
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

# Single sign-on with OpenID Connect (accounts.sso): on when a client id is set. Endpoints come from
# the provider's /.well-known/openid-configuration.
OIDC_RP_CLIENT_ID = os.environ.get("MEDTUTOR_OIDC_CLIENT_ID", "")
OIDC_RP_CLIENT_SECRET = os.environ.get("MEDTUTOR_OIDC_CLIENT_SECRET", "")
OIDC_OP_ISSUER = os.environ.get("MEDTUTOR_OIDC_ISSUER", "")
OIDC_OP_AUTHORIZATION_ENDPOINT = os.environ.get("MEDTUTOR_OIDC_AUTHORIZATION_URL", "")
OIDC_OP_TOKEN_ENDPOINT = os.environ.get("MEDTUTOR_OIDC_TOKEN_URL", "")
OIDC_OP_USER_ENDPOINT = os.environ.get("MEDTUTOR_OIDC_USERINFO_URL", "")
OIDC_OP_JWKS_ENDPOINT = os.environ.get("MEDTUTOR_OIDC_JWKS_URL", "")
OIDC_RP_SIGN_ALGO = "RS256"
OIDC_RP_SCOPES = "openid email profile"
OIDC_TIMEOUT = 10
OIDC_GROUPS_CLAIM = os.environ.get("MEDTUTOR_OIDC_GROUPS_CLAIM", "groups")
OIDC_FACULTY_GROUPS = [g.strip() for g in os.environ.get("MEDTUTOR_OIDC_FACULTY_GROUPS", "faculty").split(",") if g.strip()]
OIDC_ADMIN_GROUPS = [g.strip() for g in os.environ.get("MEDTUTOR_OIDC_ADMIN_GROUPS", "medtutor-admins").split(",") if g.strip()]
if OIDC_RP_CLIENT_ID:
    AUTHENTICATION_BACKENDS.append("medtutor.accounts.sso.SchoolOIDCBackend")

# Login throttling (django-axes): lock a username+address pair after repeated failures.
AXES_FAILURE_LIMIT = int(os.environ.get("MEDTUTOR_LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = 0.25  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_VERBOSE = False

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = 60 * 60 * 12
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if HTTPS:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_NAME = "__Host-csrftoken"
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = _env_bool("MEDTUTOR_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = 31536000
    CSRF_TRUSTED_ORIGINS = [f"https://{h}" for h in ALLOWED_HOSTS if h not in ("*",)]

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(os.environ.get("MEDTUTOR_STATIC_ROOT", VAR_DIR / "static"))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns about a missing folder
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("MEDTUTOR_MEDIA_ROOT", VAR_DIR / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Short answers graded with a confidence below this go to the faculty review queue (0..1).
MEDTUTOR_ASAG_REVIEW_THRESHOLD = float(os.environ.get("MEDTUTOR_ASAG_REVIEW_THRESHOLD", "0.6"))
# Retention (governance/privacy.py, `medtutor privacy purge`, daily job): days to keep; 0 keeps forever.
MEDTUTOR_RETENTION_DAYS_API_TOKENS = int(os.environ.get("MEDTUTOR_RETENTION_DAYS_API_TOKENS", "365"))
MEDTUTOR_RETENTION_DAYS_LOGIN_RECORDS = int(os.environ.get("MEDTUTOR_RETENTION_DAYS_LOGIN_RECORDS", "90"))
MEDTUTOR_RETENTION_DAYS_XAPI_SENT = int(os.environ.get("MEDTUTOR_RETENTION_DAYS_XAPI_SENT", "30"))
MEDTUTOR_RETENTION_DAYS_DELETION_REQUESTS = int(os.environ.get("MEDTUTOR_RETENTION_DAYS_DELETION_REQUESTS", "365"))
MEDTUTOR_RETENTION_DAYS_INACTIVE_STUDENTS = int(os.environ.get("MEDTUTOR_RETENTION_DAYS_INACTIVE_STUDENTS", "0"))
MEDTUTOR_RETENTION_DAYS_DELETED_ANSWERS = int(os.environ.get("MEDTUTOR_RETENTION_DAYS_DELETED_ANSWERS", "0"))

LOG_FORMAT = os.environ.get("MEDTUTOR_LOG_FORMAT", "text")  # "json": one object per line, for log shippers
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "medtutor.core.log.RequestIdFilter"}},
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {"()": "medtutor.core.log.JsonFormatter"},
    },
    "handlers": {"console": {"class": "medtutor.core.log.StderrHandler", "filters": ["request_id"],
                             "formatter": "json" if LOG_FORMAT == "json" else "text"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}
