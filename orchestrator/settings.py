"""Settings, read from the environment (see the README's configuration table).

With nothing set, the project runs embedded: SQLite under DATA_DIR, the in-memory channel
layer and background work in the server process. Production sets DATABASE_URL and REDIS_URL.
"""

from __future__ import annotations

import base64
import hashlib
import os
import sys
import tempfile
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import environ
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

DEBUG = env.bool("DEBUG", default=False)
DATA_DIR = Path(env.str("DATA_DIR", default=str(BASE_DIR / "var"))).resolve()
# The SQLite file and workspaces live here; make sure it exists before anything opens it.
DATA_DIR.mkdir(parents=True, exist_ok=True)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    # Only ever used for local development: DEBUG on and no key given.
    SECRET_KEY = "insecure-development-key-do-not-use-in-production"

# Fernet keys (first encrypts, all decrypt: add a new key first, re-encrypt with
# `manage.py rotate_field_encryption`, then drop the old one) for secrets kept in the
# database, such as organizations' git credentials.
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[])
if not FIELD_ENCRYPTION_KEYS:
    if not DEBUG:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEYS must be set when DEBUG is off "
            '(python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key())").'
        )
    # Development only: a key derived from the (development) SECRET_KEY.
    FIELD_ENCRYPTION_KEYS = [
        base64.urlsafe_b64encode(
            hashlib.sha256(f"field-encryption:{SECRET_KEY}".encode()).digest()
        ).decode()
    ]
try:
    [Fernet(key) for key in FIELD_ENCRYPTION_KEYS]
except ValueError as exc:
    raise ImproperlyConfigured(
        "FIELD_ENCRYPTION_KEYS holds a key that is not a Fernet key (32 url-safe base64 bytes)."
    ) from exc

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
# The address Claude Code reaches this server at (hook-config); default: the request's.
PUBLIC_URL = env.str("PUBLIC_URL", default="").rstrip("/")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# Transport security in production (`manage.py check --deploy` is clean with DEBUG off):
# HTTPS only, secure cookies, HSTS. Behind a proxy that terminates TLS, set
# SECURE_PROXY_SSL_HEADER=HTTP_X_FORWARDED_PROTO,https (and make the proxy set that header,
# overwriting the client's) so Django knows the request was https and does not redirect.
_proxy_ssl_header = env.list("SECURE_PROXY_SSL_HEADER", default=[])
if _proxy_ssl_header and len(_proxy_ssl_header) != 2:
    raise ImproperlyConfigured(
        "SECURE_PROXY_SSL_HEADER is 'HEADER,value', e.g. HTTP_X_FORWARDED_PROTO,https."
    )
SECURE_PROXY_SSL_HEADER = tuple(_proxy_ssl_header) or None
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 365 * 24 * 3600)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)

# The operator's outer bound for local folders: each organization's own local roots (granted
# in the admin or by a superuser through the API) must sit inside one of these.
LOCAL_PROJECT_ROOTS = [Path(p).resolve() for p in env.list("LOCAL_PROJECT_ROOTS", default=[])]

REDIS_URL = env.str("REDIS_URL", default="")

# Where "owner/name" repositories are cloned from (GitHub Enterprise or a mirror works too).
GIT_BASE_URL = env.str("GIT_BASE_URL", default="https://github.com").rstrip("/")
# The sources a session may clone (sessions/workspaces/sources.py): https on these hosts...
GIT_ALLOWED_HOSTS = env.list(
    "GIT_ALLOWED_HOSTS",
    default=list(
        dict.fromkeys(h for h in (urlsplit(GIT_BASE_URL).hostname, "github.com", "gitlab.com") if h)
    ),
)
# ...whose every address is global, unless the host is listed here (a mirror on the LAN).
GIT_ALLOWED_PRIVATE_HOSTS = env.list("GIT_ALLOWED_PRIVATE_HOSTS", default=[])
# ...and file:// only inside these folders (never inside DATA_DIR, whatever is listed here).
GIT_FILE_ROOTS = [Path(p).resolve() for p in env.list("GIT_FILE_ROOTS", default=[])]
# A CA bundle git trusts instead of the system's (an internal CA); empty: the system's.
GIT_CA_BUNDLE = env.str("GIT_CA_BUNDLE", default="")
WORKSPACES_DIR = DATA_DIR / "workspaces"

# Tool output kept per command log; the original size is recorded alongside.
HOOK_RESULT_MAX_BYTES = env.int("HOOK_RESULT_MAX_BYTES", default=64 * 1024)
# Largest hook post accepted (413 above it).
HOOK_MAX_BODY_BYTES = env.int("HOOK_MAX_BODY_BYTES", default=5 * 1024 * 1024)
# Tool input kept per command log, and the raw event kept per hook post, as JSON: longer
# strings in them are cut to fit; the original size is recorded alongside.
HOOK_INPUT_MAX_BYTES = env.int("HOOK_INPUT_MAX_BYTES", default=64 * 1024)
# Hook events one session may take per window (429 with Retry-After beyond); 0: no limit.
# Generous: a busy Claude Code with parallel subagents stays far below 20 events a second.
HOOK_RATE_LIMIT = env.int("HOOK_RATE_LIMIT", default=1200)
HOOK_RATE_WINDOW_SECONDS = env.int("HOOK_RATE_WINDOW_SECONDS", default=60)
# Group commit (README, "Ingestion"): the writer commits at most INGEST_BATCH_MAX events per
# transaction, waiting INGEST_BATCH_LINGER_MS for more after the first (0: only what piled up
# while the previous batch committed, so a lone event is never held back). INGEST_WRITER
# "inline" writes each event in its caller's thread instead (debugging).
INGEST_BATCH_MAX = env.int("INGEST_BATCH_MAX", default=200)
INGEST_BATCH_LINGER_MS = env.float("INGEST_BATCH_LINGER_MS", default=0.0)
INGEST_WRITER = env.str("INGEST_WRITER", default="thread")

# The agent runner. Per-session metadata (permissionMode, allowedTools, model, maxTurns,
# maxDuration) overrides these defaults.
ANTHROPIC_API_KEY = env.str("ANTHROPIC_API_KEY", default="")
ANTHROPIC_BASE_URL = env.str("ANTHROPIC_BASE_URL", default="")
# The scripted demo model stands in for the API only when asked, or in DEBUG with no key.
SCRIPTED_MODEL = env.bool("SCRIPTED_MODEL", default=DEBUG and not ANTHROPIC_API_KEY)
SCRIPTED_MODEL_URL = env.str("SCRIPTED_MODEL_URL", default="")
AGENT_PERMISSION_MODE = env.str("AGENT_PERMISSION_MODE", default="default")
AGENT_ALLOWED_TOOLS = env.list(
    "AGENT_ALLOWED_TOOLS", default=["Bash", "Read", "Write", "Edit", "Glob", "Grep"]
)
AGENT_MODEL = env.str("AGENT_MODEL", default="")
AGENT_MAX_TURNS = env.int("AGENT_MAX_TURNS", default=50)
# Claude Code's own API retry count (unset: its default, which retries for a while).
AGENT_API_MAX_RETRIES = env.str("AGENT_API_MAX_RETRIES", default="")
AGENT_MAX_DURATION = env.int("AGENT_MAX_DURATION", default=3600)
AGENT_HEARTBEAT_SECONDS = env.float("AGENT_HEARTBEAT_SECONDS", default=1.0)
# Each session's own Claude Code state (config, transcripts) lives in <org>/<session> here.
AGENT_CONFIG_DIR = Path(env.str("AGENT_CONFIG_DIR", default=str(DATA_DIR / "claude")))
# The agent's jail: `required` refuses a turn without it, `auto` jails when bubblewrap can and
# labels the session unsandboxed otherwise, `off` never jails (labelled the same way).
AGENT_SANDBOX = env.str("AGENT_SANDBOX", default="auto" if DEBUG else "required")
AGENT_BWRAP = env.str("AGENT_BWRAP", default="bwrap")  # the bubblewrap program, or its path
if AGENT_SANDBOX not in ("required", "auto", "off"):
    raise ImproperlyConfigured("AGENT_SANDBOX must be required, auto or off.")
# host[:port] the jailed agent may open a tunnel to, beside the model endpoint (port 443 if
# none is given): package indexes, the git host, ...
AGENT_EGRESS_ALLOWED_HOSTS = env.list("AGENT_EGRESS_ALLOWED_HOSTS", default=[])
AGENT_DISPATCH = env.str("AGENT_DISPATCH", default="celery" if REDIS_URL else "thread")
AGENT_EMBEDDED_WORKERS = env.int("AGENT_EMBEDDED_WORKERS", default=4)
WORKSPACE_GIT_TIMEOUT = env.int("WORKSPACE_GIT_TIMEOUT", default=600)

DATA_UPLOAD_MAX_MEMORY_SIZE = max(HOOK_MAX_BODY_BYTES + 1024, 2_621_440)

# Seconds of silence after which SSE streams send a keep-alive comment.
LIVE_HEARTBEAT_SECONDS = env.float("LIVE_HEARTBEAT_SECONDS", default=15.0)

# Idempotency keys (see tenants/idempotency.py) and the reconciler (sessions/reconcile.py).
IDEMPOTENCY_KEY_TTL_HOURS = env.int("IDEMPOTENCY_KEY_TTL_HOURS", default=24)
IDEMPOTENCY_WAIT_SECONDS = env.float("IDEMPOTENCY_WAIT_SECONDS", default=10.0)
WORKSPACE_RETENTION_HOURS = env.int("WORKSPACE_RETENTION_HOURS", default=72)
STUCK_SESSION_AFTER_SECONDS = env.int("STUCK_SESSION_AFTER_SECONDS", default=300)

# daphne's app only makes `runserver` an ASGI server (development: `make run`, the tests'
# servers). Production runs uvicorn (or daphne) directly, and every web process would
# otherwise load Twisted for nothing.
INSTALLED_APPS = ["daphne"] if DEBUG else []
INSTALLED_APPS += [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "guardian",
    "channels",
    "django_celery_beat",
    "axes",
    "tenants",
    "sessions.apps.AgentSessionsConfig",
    "templates.apps.SessionTemplatesConfig",
    "alerts.apps.AlertsConfig",
    "integrations.apps.IntegrationsConfig",
    "billing.apps.BillingConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "tenants.context.AuditAddressMiddleware",
    # The request's tenant context (row-level security), from its authenticated user.
    "tenants.tenancy.TenantContextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last: turns a login the throttle refused into a 429 (orchestrator/lockout.py).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "orchestrator.urls"
WSGI_APPLICATION = "orchestrator.wsgi.application"
ASGI_APPLICATION = "orchestrator.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "orchestrator" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{DATA_DIR / 'db.sqlite3'}"),
}
# PostgreSQL: the application connects (DATABASE_URL) as a role that owns no table and has no
# BYPASSRLS, so the row-level security policies hold it; the tables belong to the owner role
# (DATABASE_OWNER_URL), which `manage.py migrate` connects as. Unset: one role does both (fine
# for SQLite, where row-level security does not exist). See the README, "Tenancy in the
# database", and `manage.py ensure_db_roles`.
DATABASE_OWNER_URL = env.str("DATABASE_OWNER_URL", default="")
# The application's URL, whichever role this process connects as: migrate grants it rights.
DATABASE_APP_URL = env.str("DATABASE_URL", default="") if DATABASE_OWNER_URL else ""
OWNER_COMMANDS = {"migrate"}
if DATABASE_OWNER_URL and len(sys.argv) > 1 and sys.argv[1] in OWNER_COMMANDS:
    DATABASES["default"] = env.db_url_config(DATABASE_OWNER_URL)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Writers wait for the lock instead of failing at once; WAL lets readers run meanwhile.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            # Take the write lock when a transaction begins: a deferred transaction that
            # upgrades later fails at once under concurrent writers instead of waiting.
            "transaction_mode": "IMMEDIATE",
        }
    )
    # Tests use a file too: an in-memory shared-cache database fails concurrent writers at
    # once ("table is locked") instead of waiting, and the agent runner writes from threads.
    # One file per test run, so parallel runs never share (and corrupt) a database.
    DATABASES["default"]["TEST"] = {
        "NAME": str(Path(tempfile.gettempdir()) / f"orchestrator-test-{os.getpid()}.sqlite3")
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Django's backend, setting the tenant context in every transaction (tenants/postgresql).
    DATABASES["default"]["ENGINE"] = "tenants.postgresql"
    # Under ASGI each request may run on a new thread, so persistent connections pile up
    # rather than being reused; a pool hands out a few open connections instead.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "pool",
        {
            "min_size": env.int("DB_POOL_MIN", default=2),
            "max_size": env.int("DB_POOL_MAX", default=10),
        },
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "tenants.User"
AUTHENTICATION_BACKENDS = [
    # First: refuses a locked-out user or address before any password is checked.
    "orchestrator.lockout.LoginThrottleBackend",
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

# Mail (the member invitations): Django's SMTP backend unless EMAIL_BACKEND says otherwise.
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_USE_SSL = env.bool("EMAIL_USE_SSL", default=False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
DEFAULT_FROM_EMAIL = env.str(
    "DEFAULT_FROM_EMAIL", default="claude-orchestrator <noreply@localhost>"
)
# How long an invitation link (Django's password-reset token) stays valid, in seconds.
PASSWORD_RESET_TIMEOUT = env.int("INVITE_LINK_TTL_HOURS", default=72) * 3600

# Alerting (alerts/): where Slack's Web API and PagerDuty's Events API v2 are reached (a
# proxy or a test server may stand in), how long an alert group waits for more alerts of its
# rule before it is sent, how deliveries are retried, and webhook hosts that may be private.
SLACK_API_URL = env.str("SLACK_API_URL", default="https://slack.com/api/")
PAGERDUTY_EVENTS_URL = env.str(
    "PAGERDUTY_EVENTS_URL", default="https://events.pagerduty.com/v2/enqueue"
)
ALERT_GROUP_WAIT_SECONDS = env.int("ALERT_GROUP_WAIT_SECONDS", default=10)
ALERT_DELIVERY_MAX_ATTEMPTS = env.int("ALERT_DELIVERY_MAX_ATTEMPTS", default=8)
ALERT_TRANSPORT_TIMEOUT = env.float("ALERT_TRANSPORT_TIMEOUT", default=10.0)
ALERT_WEBHOOK_ALLOWED_PRIVATE_HOSTS = env.list("ALERT_WEBHOOK_ALLOWED_PRIVATE_HOSTS", default=[])
# Billing (billing/): how long a process keeps tool rates and model prices in memory; a change
# made in another process applies within this many seconds (the ingestion hot path reads them).
BILLING_RATE_CACHE_SECONDS = env.int("BILLING_RATE_CACHE_SECONDS", default=30)

ALERT_DISPATCH = env.str("ALERT_DISPATCH", default="celery" if REDIS_URL else "thread")
if ALERT_DISPATCH not in ("celery", "thread", "off"):
    raise ImproperlyConfigured("ALERT_DISPATCH must be celery, thread or off.")

# Integrations (integrations/): GitHub and GitLab webhooks. API hosts a configured api_url may
# resolve to loopback, link-local or private addresses (GitHub Enterprise or GitLab on the LAN),
# how long one API call may take, the largest webhook body, and where the work runs.
INTEGRATION_ALLOWED_PRIVATE_HOSTS = env.list("INTEGRATION_ALLOWED_PRIVATE_HOSTS", default=[])
INTEGRATION_API_TIMEOUT = env.float("INTEGRATION_API_TIMEOUT", default=10.0)
INTEGRATION_WEBHOOK_MAX_BYTES = min(
    env.int("INTEGRATION_WEBHOOK_MAX_BYTES", default=5 * 1024 * 1024), DATA_UPLOAD_MAX_MEMORY_SIZE
)
INTEGRATION_DISPATCH = env.str("INTEGRATION_DISPATCH", default="celery" if REDIS_URL else "thread")
if INTEGRATION_DISPATCH not in ("celery", "thread"):
    raise ImproperlyConfigured("INTEGRATION_DISPATCH must be celery or thread.")

LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"

# API tokens are stored hashed and expire after this many days (0: never).
API_TOKEN_TTL_DAYS = env.int("API_TOKEN_TTL_DAYS", default=30)

# Login throttling (django-axes) on /api/auth/token/, /login/ and /admin/login/: after
# LOGIN_FAILURE_LIMIT failures for one username, or from one address, further attempts
# (right password included) answer 429 with Retry-After for LOGIN_LOCKOUT_MINUTES, each
# failure meanwhile starting the wait again. Failures are rows in the database (shared by
# every server process; listed in the console under Axes), successful log-ins are not logged.
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_LOCKOUT_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_DISABLE_ACCESS_LOG = True
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "orchestrator.lockout.lockout_response"
AXES_CLIENT_IP_CALLABLE = "orchestrator.lockout.client_address"
# Proxies in front that append to X-Forwarded-For (0: the peer address is the client's).
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"

if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            # Redis pub/sub: one PUBLISH per batch per session, and one subscription per
            # server process per watched session, fanned out to its viewers in memory (the
            # list-based RedisChannelLayer pushes once per viewer per event instead).
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL]},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# Counters of the hook rate limit and the login throttle. Several server processes must
# share them, so production (REDIS_URL) keeps them in Redis; embedded, in process memory.
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "orchestrator",
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Celery: with no REDIS_URL there is no broker; background work runs in the server process.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "memory://")
CELERY_RESULT_BACKEND = None
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = TIME_ZONE

REST_FRAMEWORK = {
    # Token first: its WWW-Authenticate header makes a missing credential a 401, not a 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "tenants.api.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON bodies are checked against tenants.json_rules before any view sees them.
    "DEFAULT_PARSER_CLASSES": [
        "tenants.api.parsers.CheckedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "orchestrator.api.exception_handler",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "claude-orchestrator API",
    "DESCRIPTION": "Runs and supervises Claude Code sessions for teams.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI and ReDoc from our own static files (drf-spectacular-sidecar), never a CDN:
    # the docs work offline and the pinned version is the one that was tested.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # No "valid" badge: Swagger UI would send the schema's URL to validator.swagger.io.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    "COMPONENT_SPLIT_REQUEST": True,
    # Alerting's choices share field names (status, kind) with others': named apart here
    # (the sessions' status keeps the name it had).
    "ENUM_NAME_OVERRIDES": {
        "StatusEnum": "sessions.choices.SessionStatus",
        "AlertStatusEnum": "alerts.choices.AlertStatus",
        "DeliveryStatusEnum": "alerts.choices.DeliveryStatus",
        "ChannelKindEnum": "alerts.choices.ChannelKind",
        "AlertRuleKindEnum": "alerts.conditions.KIND_CHOICES",
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}
