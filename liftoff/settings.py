"""Liftoff settings: everything a deployment changes is read from the environment.

Every variable is listed, with its default, in `.env.example` and the README.
"""

from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

from liftoff.env import (
    data_dir,
    dev_env_load,
    dev_env_path,
    env_bool,
    env_int,
    env_list,
    env_path,
    env_str,
)

BASE_DIR = Path(__file__).resolve().parent.parent

# All local state of the embedded default (SQLite, broker folders, git mirrors, demo repo).
# Decided before the development file is read, because that file lives in it.
DATA_DIR = data_dir()
DATA_DIR.mkdir(parents=True, exist_ok=True)
# `make run` writes DATA_DIR/dev.env (DEBUG=1 and a generated SECRET_KEY), so that every
# command in the README works in a new shell of this checkout. It never overrides a
# variable already set; without it (production), SECRET_KEY is still required.
dev_env_load()

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is required when DEBUG is off. Production: set it in the "
            f"environment. Development: `make install` (and every other make target) "
            f"writes {dev_env_path()} (DEBUG=1 and a generated key) for the commands of "
            "this checkout."
        )
    SECRET_KEY = "django-insecure-development-only-key-never-use-in-production"  # noqa: S105

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
TIME_ZONE = env_str("TIME_ZONE", "UTC")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "rest_framework",
    "drf_spectacular",
    "axes",
    "liftoff",
    "runs",
    "releases",
    "checklists",
    "gates",
    "deployments",
    "incidents",
    "metrics",
    "notifications",
    "dashboard",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "liftoff.middleware.RequestIdMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "liftoff.middleware.IdleSessionMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: it turns a lockout raised by the backend into a response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "liftoff.urls"
WSGI_APPLICATION = "liftoff.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "dashboard.context_processors.navigation",
                "incidents.context_processors.critical_banner",
                "notifications.context_processors.inbox",
            ],
            "builtins": ["liftoff.templatetags.liftoff_tags"],
        },
    },
]

# --- Database -------------------------------------------------------------------------
DB_CONNECT_TIMEOUT = env_int("DB_CONNECT_TIMEOUT", 5, minimum=1)
_database_url = env_str("DATABASE_URL", "")
if _database_url:
    DATABASES = {
        "default": dj_database_url.parse(
            _database_url,
            conn_max_age=env_int("DB_CONN_MAX_AGE", 60, minimum=0),
            conn_health_checks=True,
        )
    }
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = DB_CONNECT_TIMEOUT
else:
    # Embedded default. The web process, the worker and beat write at once: IMMEDIATE
    # transactions and WAL keep SQLite from answering "database is locked".
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": DATA_DIR / "liftoff.sqlite3",
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
            # On disk, not in memory, so that a real worker process sees the test data.
            "TEST": {"NAME": str(DATA_DIR / "test-liftoff.sqlite3")},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Broker (Celery) ------------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL", "")
BROKER_DIR = env_path("LIFTOFF_BROKER_DIR", DATA_DIR / "broker")
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
else:
    CELERY_BROKER_URL = "filesystem://"
    # kombu's transport, writing each message whole before a worker can see it.
    CELERY_BROKER_TRANSPORT = "liftoff.broker:Transport"
    for _sub in ("queue", "processed", "control"):
        (BROKER_DIR / _sub).mkdir(parents=True, exist_ok=True)

# The longest a task may run; the visibility timeout must exceed it, or Redis hands a
# task that is still running to a second worker.
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 3600, minimum=10)
CELERY_TASK_SOFT_TIME_LIMIT = CELERY_TASK_TIME_LIMIT - 5
BROKER_CONNECT_TIMEOUT = env_int("BROKER_CONNECT_TIMEOUT", 2, minimum=1)
CELERY_BROKER_TRANSPORT_OPTIONS = (
    {
        "visibility_timeout": CELERY_TASK_TIME_LIMIT + 600,
        "socket_connect_timeout": BROKER_CONNECT_TIMEOUT,
        "socket_timeout": BROKER_CONNECT_TIMEOUT * 5,
        # Publishing must not block a request on a dead broker: fail fast instead.
        "max_retries": 1,
        "interval_start": 0,
        "interval_step": 0.2,
        "interval_max": 0.5,
    }
    if REDIS_URL
    else {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
        "polling_interval": 0.1,
    }
)
CELERY_BROKER_CONNECTION_TIMEOUT = BROKER_CONNECT_TIMEOUT
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_PUBLISH_RETRY = True
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}
# One queue name per installation, so a test run never feeds a development worker.
CELERY_TASK_DEFAULT_QUEUE = env_str("LIFTOFF_QUEUE", "liftoff")
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# Results live in the database rows the tasks update, never in the broker.
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_WORKER_SEND_TASK_EVENTS = False
# Without this, Celery's Django fix-up closes the database connections before and after
# every task, so every run paid a new PostgreSQL connection (about 8 ms here) between its
# message and its claim. The worker keeps its connection as a web process does:
# liftoff.celery calls close_old_connections around every task (DB_CONN_MAX_AGE and the
# health checks apply), and the fix-up still closes it every 1,000 tasks.
CELERY_DB_REUSE_MAX = 1000
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")
# Periodic work is a static schedule; each task asks the database what is due.
CELERY_BEAT_SCHEDULE = {
    "worker-heartbeat": {"task": "liftoff.worker_heartbeat", "schedule": 15.0},
    "runs-reap": {"task": "runs.reap", "schedule": float(env_int("RUN_REAPER_SECONDS", 10))},
    "runs-sweep": {"task": "runs.sweep", "schedule": float(env_int("RUN_SWEEPER_SECONDS", 10))},
    "deployments-due": {"task": "deployments.start_due", "schedule": 15.0},
    # The incidents' response clocks: breach and escalation steps (each claimed once).
    "incidents-sla": {"task": "incidents.sla_check", "schedule": 30.0},
    "deployments-health": {
        "task": "deployments.health",
        "schedule": float(env_int("HEALTH_CHECK_SECONDS", 60, minimum=5)),
    },
    # Shipped releases' SBOMs that were never sent (metrics.services.sboms_sweep).
    "metrics-sbom-sweep": {"task": "metrics.sbom_sweep", "schedule": 60.0},
    "notifications-sweep": {
        "task": "notifications.sweep",
        "schedule": float(env_int("NOTIFICATIONS_SWEEP_SECONDS", 30, minimum=1)),
    },
}
# --- Notifications (docs/notifications.md) ----------------------------------------------
# Links in e-mails are absolute: the address people open Liftoff at.
LIFTOFF_BASE_URL = env_str("LIFTOFF_BASE_URL", "http://localhost:8000").rstrip("/")
# E-mails and webhooks go on their own queue, so a slow receiver never holds up a
# deployment's task; workers listen on both (Makefile, docker-compose.yml).
NOTIFICATIONS_QUEUE = env_str("LIFTOFF_NOTIFICATIONS_QUEUE", f"{CELERY_TASK_DEFAULT_QUEUE}-notify")
CELERY_TASK_ROUTES = {"notifications.*": {"queue": NOTIFICATIONS_QUEUE}}
# How often the header asks for the inbox's unread count (a 204 while it holds).
INBOX_POLL_SECONDS = env_int("INBOX_POLL_SECONDS", 15, minimum=1)
# Two lanes, each with a worker of its own (docs/notifications.md, "Delivery"): the fast
# lane gives a webhook WEBHOOK_FAST_SECONDS to answer; one that does not is moved, with
# its endpoint for WEBHOOK_SLOW_LANE_SECONDS, to the slow lane, which waits up to
# WEBHOOK_TIMEOUT_SECONDS. A slow or dead receiver then holds slow-lane threads only, and
# the fast ones are not kept waiting behind it (docs/performance.md).
NOTIFICATIONS_SLOW_QUEUE = env_str(
    "LIFTOFF_NOTIFICATIONS_SLOW_QUEUE", f"{NOTIFICATIONS_QUEUE}-slow"
)
WEBHOOK_TIMEOUT_SECONDS = float(env_str("WEBHOOK_TIMEOUT_SECONDS", "15"))
WEBHOOK_FAST_SECONDS = float(env_str("WEBHOOK_FAST_SECONDS", "1"))
# A PEM file of the CAs that https receivers' certificates are checked against instead of
# the public ones (a chat server behind an internal CA); always checked for the host name.
WEBHOOK_CA_FILE = env_str("WEBHOOK_CA_FILE", "")
WEBHOOK_SLOW_LANE_SECONDS = env_int("WEBHOOK_SLOW_LANE_SECONDS", 600, minimum=0)
# On the slow lane, at most this many deliveries to one endpoint are sent at once; the
# others wait their turn, so a dead receiver holds four threads, not the whole lane.
WEBHOOK_SLOW_LANE_PER_ENDPOINT = env_int("WEBHOOK_SLOW_LANE_PER_ENDPOINT", 4, minimum=1)
# The Standard Webhooks retry schedule (seconds after each failed attempt); the scale
# shrinks it (tests use a thousandth). Each delay gets up to 10 % of random jitter.
WEBHOOK_RETRY_SCHEDULE = (5, 300, 1800, 7200, 18000, 36000, 36000)
WEBHOOK_RETRY_SCALE = float(env_str("WEBHOOK_RETRY_SCALE", "1"))
# A delivery due this long and still pending (its doorbell was lost: broker down) is sent
# again by the sweeper; one left `sending` longer than the timeout plus this is retried.
NOTIFICATIONS_DISPATCH_GRACE_SECONDS = env_int(
    "NOTIFICATIONS_DISPATCH_GRACE_SECONDS", 30, minimum=1
)
# The periodic health check asks this many endpoints at once, and gives up on the rest
# after HEALTH_CHECK_BUDGET_SECONDS (they are shown unknown until the next round).
HEALTH_CHECK_CONCURRENCY = env_int("HEALTH_CHECK_CONCURRENCY", 32, minimum=1)
HEALTH_CHECK_BUDGET_SECONDS = env_int("HEALTH_CHECK_BUDGET_SECONDS", 30, minimum=1)
# The run engine's clocks. A running run beats every RUN_HEARTBEAT_SECONDS; the reaper
# fails one whose last beat is older than RUN_STALE_AFTER_SECONDS. So a killed worker's run
# is failed within STALE + REAPER seconds (30 + 10 by default) of its last beat.
RUN_HEARTBEAT_SECONDS = env_int("RUN_HEARTBEAT_SECONDS", 5, minimum=1)
RUN_STALE_AFTER_SECONDS = env_int("RUN_STALE_AFTER_SECONDS", 30, minimum=3)
RUN_CANCEL_POLL_SECONDS = 0.5
# A dispatched run no worker has claimed for this long is sent again by the sweeper.
RUN_DISPATCH_GRACE_SECONDS = env_int("RUN_DISPATCH_GRACE_SECONDS", 60, minimum=5)
RUN_LOG_MAX_CHARS = env_int("RUN_LOG_MAX_CHARS", 5_000_000, minimum=10_000)
# A worker that has not beaten for this long is shown as missing on the dashboard.
WORKER_STALE_AFTER = timedelta(seconds=env_int("WORKER_STALE_AFTER", 60, minimum=15))

# --- Auth, sessions and login throttling -----------------------------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    # ModelBackend that reads the user's roles in the user's own query (one per request).
    "liftoff.auth.RolesModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# A session ends after this much idleness (the middleware slides the expiry).
SESSION_IDLE_TIMEOUT = env_int("SESSION_IDLE_TIMEOUT", 2 * 3600, minimum=60)
SESSION_COOKIE_AGE = SESSION_IDLE_TIMEOUT
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# Sessions live in the database and are read from the shared `sessions` cache (see
# liftoff/sessions.py): a signed-in request then pays no query for its session.
SESSION_ENGINE = "liftoff.sessions"
SESSION_CACHE_ALIAS = "sessions"
CACHES = {
    # Per process: the kept pages, the workers' last beat, the runs' scopes.
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    # Shared by every web process (a logout anywhere ends the session everywhere).
    "sessions": (
        {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "liftoff",
            # A dead Redis must not hold a page up: the database answers instead.
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
        if REDIS_URL
        else {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(DATA_DIR / "sessions-cache"),
        }
    ),
}

AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_IPWARE_PROXY_COUNT = env_int("AXES_PROXY_COUNT", 0, minimum=0) or None
AXES_VERBOSE = False

DEMO_PASSWORD = env_str("DEMO_PASSWORD", "liftoff-demo")
# Where the demo's environments run PepeluGPT on 127.0.0.1 (seed_demo writes them into the
# environments' commands and health checks when it creates them; README "The demo").
DEMO_STAGING_PORT = env_int("DEMO_STAGING_PORT", 8101, minimum=1)
DEMO_PRODUCTION_PORT = env_int("DEMO_PRODUCTION_PORT", 8100, minimum=1)  # the switch
DEMO_BLUE_PORT = env_int("DEMO_BLUE_PORT", 8102, minimum=1)
DEMO_GREEN_PORT = env_int("DEMO_GREEN_PORT", 8103, minimum=1)

# --- Security headers -----------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# No inline script and no inline style: the only scripts are our static files and the
# htmx script tag, which carries the per-request nonce.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
}
if not DEBUG:
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", True)
    CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", True)
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
    if env_bool("TRUST_X_FORWARDED_PROTO", False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

# --- Static files ----------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = env_path("STATIC_ROOT", DATA_DIR / "static")
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns about a missing folder
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

LANGUAGE_CODE = "en-gb"
USE_I18N = True
USE_TZ = True

# --- Email -----------------------------------------------------------------------------
EMAIL_HOST = env_str("EMAIL_HOST", "")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "liftoff@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Django 6.1's MAILERS. In development with no SMTP host, mail is printed to the console;
# in production it goes to SMTP (localhost:25 unless configured), and failed deliveries
# are logged.
MAILERS = {
    "default": {
        "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "OPTIONS": {
            "host": EMAIL_HOST or "localhost",
            "port": env_int("EMAIL_PORT", 587 if EMAIL_HOST else 25, minimum=1),
            "username": env_str("EMAIL_HOST_USER", ""),
            "password": env_str("EMAIL_HOST_PASSWORD", ""),
            "use_tls": env_bool("EMAIL_USE_TLS", bool(EMAIL_HOST)),
            "timeout": 10,
        },
    }
    if EMAIL_HOST or not DEBUG
    else {"BACKEND": "django.core.mail.backends.console.EmailBackend"}
}
del EMAIL_HOST  # Only MAILERS may configure mail in Django 6.1.

# --- API -------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "liftoff.api_auth.BearerTokenAuthentication",
        # The browser session, CSRF enforced on unsafe methods.
        "rest_framework.authentication.SessionAuthentication",
    ],
    # Deny by default: every endpoint names the roles it accepts.
    "DEFAULT_PERMISSION_CLASSES": ["liftoff.roles.DenyAll"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "liftoff.api.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Liftoff API",
    "DESCRIPTION": "Release management: projects, releases, runs, gates and deployments.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    # Several responses carry a gate's status: one enum for all of them.
    "ENUM_NAME_OVERRIDES": {
        "GateStatusEnum": "gates.models.GateStatus",
        "DeploymentStatusEnum": "deployments.models.DeploymentStatus",
        "DeploymentKindEnum": "deployments.models.DeploymentKind",
        "HealthStatusEnum": "deployments.models.HealthStatus",
    },
}

# --- Logging ---------------------------------------------------------------------------
LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "axes": {"level": "WARNING"},
        # httpx logs every request's full URL at INFO; a webhook's URL may hold a secret
        # (Slack's incoming webhooks carry their token in the path).
        "httpx": {"level": "WARNING"},
    },
}
