"""payops settings: every value that varies by environment is read here, through ``config.env``.

With no environment at all the project runs on an embedded default: SQLite under ``var/`` and a
filesystem Celery broker, so a worker and beat really run on a bare machine.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

from config import env

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"
VAR_DIR.mkdir(exist_ok=True)

# `make run` writes .env (DEBUG=1, a SECRET_KEY); real environment variables win over it.
env.load_dotenv_file(Path(env.string("PAYOPS_DOTENV", default=str(BASE_DIR / ".env"))))

DEBUG = env.boolean("DEBUG", default=False)
SECRET_KEY = env.string("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set; set it (50+ random characters), or DEBUG=1 for development."
        )
    SECRET_KEY = "django-insecure-development-only-key-do-not-use-in-production-0123456789"  # noqa: S105

ALLOWED_HOSTS = env.csv_list(
    "ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"] if DEBUG else []
)
if not DEBUG and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS is not set; list the host names payops serves.")
CSRF_TRUSTED_ORIGINS = env.csv_list("CSRF_TRUSTED_ORIGINS", default=[])

# The built-in sandbox gateway and its test helpers: on by default only in development.
PAYOPS_SANDBOX = env.boolean("PAYOPS_SANDBOX", default=DEBUG)
# Where payops reaches its sandbox gateway over HTTP; unset: in process (payments.sandbox).
PAYOPS_SANDBOX_URL = env.string("PAYOPS_SANDBOX_URL", default="")
# Gateway API hosts allowed for provider accounts beyond the built-in list (a bank's own BPC
# host): "arca:ipay.mybank.am,ameria:vpos.example.am".
PAYOPS_GATEWAY_HOSTS = env.provider_hosts("PAYOPS_GATEWAY_HOSTS")
# Outgoing webhooks to loopback/private/link-local targets (SSRF guard): off unless asked.
PAYOPS_WEBHOOKS_ALLOW_PRIVATE = env.boolean("PAYOPS_WEBHOOKS_ALLOW_PRIVATE", default=False)
# How long a claimed webhook attempt holds its delivery (the attempt's deadline is at most a
# quarter of it); a worker killed mid-attempt leaves the delivery to the sweeper after it.
PAYOPS_WEBHOOKS_LEASE_SECONDS = env.integer("PAYOPS_WEBHOOKS_LEASE_SECONDS", default=60)
PAYOPS_DESK_IMPORT_LEASE_SECONDS = env.integer("PAYOPS_DESK_IMPORT_LEASE_SECONDS", default=900)
# Public base URL of this deployment (callbacks and return URLs given to gateways).
PAYOPS_BASE_URL = env.string("PAYOPS_BASE_URL", default="http://127.0.0.1:8000")
PAYOPS_API_RATE = env.string("PAYOPS_API_RATE", default="600/minute")
# How long a worker remembers an API token it found (core/api/auth.py); 0: read it every time.
PAYOPS_API_TOKEN_CACHE_SECONDS = env.integer("PAYOPS_API_TOKEN_CACHE_SECONDS", default=5)

INSTALLED_APPS = [
    "ops.apps.PayopsAdminConfig",  # django.contrib.admin with the second-factor site
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "simple_history",
    # The shared kernel: every domain depends on these, never the reverse.
    "core",
    "exceptionqueue",
    "webhooks",
    "payments",
    # The domains.
    "payouts",
    "billing",
    "appointments",
    "reconciliation",
    # The accountants' desk (/desk/): reads every domain through its registry.
    "django_htmx",
    "desk",
    # Operations: staff login rate limit, second factor, metrics.
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "ops.apps.OpsConfig",
]

MIDDLEWARE = [
    "core.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",  # last: answers a locked-out login with 429
]

# Admin messages live in the (database) session, never in a cookie: a webhook secret is shown
# once through a message.
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "desk.context.desk",
            ],
        },
    },
]

DATABASES = {"default": env.database("DATABASE_URL", default_sqlite=VAR_DIR / "payops.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("hy", "Armenian"), ("ru", "Russian")]
TIME_ZONE = "Asia/Yerevan"
USE_I18N = True
USE_TZ = True
# Armenian number and date formats (Django ships none for hy); the others are Django's.
FORMAT_MODULE_PATH = ["desk.formats"]

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
# Uploads waiting for a worker (the desk's imports); removed once imported.
MEDIA_ROOT = env.string("MEDIA_ROOT", default=str(VAR_DIR / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# --- Redis, Celery, cache -------------------------------------------------------------------
REDIS_URL = env.redis_url("REDIS_URL")
BROKER_DIR = VAR_DIR / "broker"

if REDIS_URL:
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # Longer than any task may run (CELERY_TASK_TIME_LIMIT) so a running task is never
        # redelivered to a second worker; long waits live in database columns, not countdowns.
        "visibility_timeout": 3600,
    }
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            # The cache only carries the rate limit, which fails open: a dead or silent Redis
            # must cost a request a quarter of a second at most, once (no retry), not the OS's
            # connect timeout times redis-py's retries.
            "OPTIONS": {
                "socket_connect_timeout": 0.25,
                "socket_timeout": 0.25,
                "retry": Retry(NoBackoff(), 0),
            },
        }
    }
else:
    # Embedded broker: kombu's filesystem transport, so a real worker and beat run with no Redis.
    for sub in ("queue", "processed", "control"):
        (BROKER_DIR / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
    }
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_TIME_LIMIT = 900
CELERY_TASK_SOFT_TIME_LIMIT = 840
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# Each app adds its periodic tasks here (one entry per task, named "<app>.<what>").
CELERY_BEAT_SCHEDULE = {
    "core.heartbeat": {"task": "core.tasks.heartbeat", "schedule": timedelta(seconds=30)},
    "payments.janitor": {"task": "payments.tasks.janitor", "schedule": timedelta(minutes=1)},
    "payments.refunds": {"task": "payments.tasks.refund_janitor", "schedule": timedelta(minutes=5)},
    "webhooks.sweep": {"task": "webhooks.tasks.sweep", "schedule": timedelta(seconds=10)},
    "core.purge_idempotency_keys": {
        "task": "core.tasks.purge_idempotency_keys",
        "schedule": crontab(minute=17),
    },
    "core.run_due_work": {"task": "core.tasks.run_due_work", "schedule": timedelta(minutes=1)},
    "desk.requeue_import_jobs": {
        "task": "desk.tasks.requeue_import_jobs",
        "schedule": timedelta(minutes=1),
    },
    "payouts.build_closed_periods": {
        "task": "payouts.tasks.build_closed_periods",
        "schedule": crontab(minute="*/15"),
    },
    "appointments.reconcile_yesterday": {
        "task": "appointments.tasks.reconcile_yesterday",
        "schedule": crontab(hour=2, minute=10),
    },
    "appointments.customer_context_retention": {
        "task": "appointments.tasks.customer_context_retention",
        "schedule": crontab(hour=3, minute=20),
    },
}
# Appointment payments: days after the end of an appointment's slot its customer context
# (name, phone) is erased (docs/appointments.md).
APPOINTMENTS_CUSTOMER_CONTEXT_RETENTION_DAYS = env.integer(
    "APPOINTMENTS_CUSTOMER_CONTEXT_RETENTION_DAYS", default=30
)

# --- REST API --------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["core.api.auth.ApiClientTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["core.api.permissions.IsApiClient"],
    "DEFAULT_THROTTLE_CLASSES": ["core.api.throttling.ApiClientRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"api_client": PAYOPS_API_RATE},
    "DEFAULT_PAGINATION_CLASS": "core.api.pagination.IdCursorPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["core.api.filters.PayopsFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "core.api.schema.PayopsAutoSchema",
    "EXCEPTION_HANDLER": "core.api.errors.exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "COERCE_DECIMAL_TO_STRING": True,
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "payops API",
    "DESCRIPTION": "Payment operations back office: payments, QR payouts, subscriptions, "
    "appointment payments, reconciliation. Auth: `Authorization: Token <key>`.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # One stable, readable name per choice set (several models have a "status" or a "kind").
    "ENUM_NAME_OVERRIDES": {
        "PaymentStatusEnum": "payments.models.Payment.Status",
        # pending/succeeded/failed: refunds and webhook deliveries share this set.
        "AttemptStatusEnum": "payments.models.Refund.Status",
        "ProviderCallbackStatusEnum": "payments.models.ProviderCallback.Status",
        "PaymentEventKindEnum": "payments.models.PaymentEvent.Kind",
        "PayoutStatusEnum": "payouts.models.Payout.Status",
        "PayoutTransitionTargetEnum": ["processing", "completed", "cancelled", "reversed"],
        "PayoutPeriodStatusEnum": "payouts.models.PayoutPeriod.Status",
        "PayoutPeriodKindEnum": "payouts.models.PayoutPeriod.Kind",
        "PayoutLineKindEnum": "payouts.models.PayoutLine.Kind",
        "PayoutEventKindEnum": "payouts.models.PayoutEvent.Kind",
        # The registered kinds (exceptionqueue.kinds), whichever apps registered them.
        "ExceptionKindEnum": "exceptionqueue.kinds.kind_choices",
        "ExceptionStatusEnum": "exceptionqueue.models.ExceptionCase.Status",
        "ExceptionSeverityEnum": "exceptionqueue.models.ExceptionCase.Severity",
        "ExceptionEventActionEnum": "exceptionqueue.models.ExceptionCaseEvent.Action",
        "AppointmentStatusEnum": "appointments.models.Appointment.Status",
        "AppointmentCancelledByEnum": "appointments.models.Appointment.CancelledBy",
        "AppointmentPaymentRequestStatusEnum": "appointments.models.PaymentRequest.Status",
        "AppointmentPaymentRequestKindEnum": "appointments.models.PaymentRequest.Kind",
        "AppointmentEventKindEnum": "appointments.models.AppointmentEvent.Kind",
        "SubscriptionStatusEnum": "billing.models.Subscription.Status",
        "SubscriptionCollectionEnum": "billing.models.Subscription.Collection",
        "BillingPeriodStatusEnum": "billing.models.BillingPeriod.Status",
        "BillingAttemptStatusEnum": "billing.models.Attempt.Status",
        "BillingNotificationStatusEnum": "billing.models.Notification.Status",
        "BillingLanguageEnum": "billing.models.Language",
        "BillingEffectiveEnum": ["now", "period_end"],
    },
}

# --- Outgoing mail and SMS (billing reminders) -------------------------------------------------
# EMAIL_HOST set: SMTP with these settings; unset: the console (development).
EMAIL_HOST = env.string("EMAIL_HOST", default="")
EMAIL_BACKEND = (
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend"
)
EMAIL_PORT = env.integer("EMAIL_PORT", default=587)
EMAIL_HOST_USER = env.string("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.string("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.boolean("EMAIL_USE_TLS", default=True)
DEFAULT_FROM_EMAIL = env.string("DEFAULT_FROM_EMAIL", default="payops <noreply@localhost>")
# A class with send(to, text) (billing.sms); the console one prints the message.
PAYOPS_SMS_BACKEND = env.string("PAYOPS_SMS_BACKEND", default="billing.sms.ConsoleBackend")

# --- Audit -----------------------------------------------------------------------------------
SIMPLE_HISTORY_HISTORY_CHANGE_REASON_USE_TEXT_FIELD = True
SIMPLE_HISTORY_REVERT_DISABLED = True
IDEMPOTENCY_KEY_TTL = timedelta(hours=24)
# A request holding a key this long without finishing is taken as dead (its transaction was
# rolled back with it), and the key may be used again.
IDEMPOTENCY_STALE_AFTER = timedelta(minutes=5)

# --- Staff sign-in: rate limit (django-axes) and second factor (django-otp) --------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Failed attempts live in the database (AccessAttempt, shown in the admin), never in the cache:
# a Redis outage neither blocks staff sign-in nor lifts the limit.
AXES_ENABLED = env.boolean("AXES_ENABLED", default=True)
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_FAILURE_LIMIT = env.integer("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.integer("AXES_COOLOFF_MINUTES", default=15))
# A user name from one address: guessing at one account is stopped, and nobody can lock a
# colleague out from elsewhere.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_SENSITIVE_PARAMETERS = ["password", "otp_token"]
# Behind a proxy that sets X-Forwarded-For, say how many: AXES_IPWARE_PROXY_COUNT=1.
AXES_IPWARE_PROXY_COUNT = env.integer("AXES_IPWARE_PROXY_COUNT", default=0) or None
# Staff who can move money (these permissions, or superusers) sign in with a TOTP code
# (ops.admin_site); on by default outside development. Enrol: manage.py totp_enroll <user>.
PAYOPS_ADMIN_OTP_REQUIRED = env.boolean("PAYOPS_ADMIN_OTP_REQUIRED", default=not DEBUG)
PAYOPS_OTP_PERMISSIONS = ["payouts.complete_payout", "payments.refund_payment"]
OTP_TOTP_ISSUER = "payops"

# --- Metrics (ops.metrics): GET /metrics with "Authorization: Bearer <token>" ----------------
PAYOPS_METRICS_TOKEN = env.string("PAYOPS_METRICS_TOKEN", default="")

# --- Logging: one JSON object per line, with the request id -----------------------------------
LOG_LEVEL = env.string("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "core.logging.RequestIdFilter"}},
    "formatters": {"json": {"()": "core.logging.JsonFormatter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # Django's own default config gives "django" a plain console handler too: replace it,
        # so each line is written once, as JSON.
        "django": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False},
        "django.db.backends": {"level": "WARNING"},
        # django-axes logs "AXES: BEGIN version …" at INFO whenever Django starts (every
        # manage.py command); its warnings still show.
        "axes.apps": {"level": "WARNING"},
    },
}

# --- Production hardening (passes `manage.py check --deploy` with no warning) ------------------
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.boolean("SECURE_SSL_REDIRECT", default=True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SECURE_HSTS_SECONDS = 60 * 60 * 24 * 365
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
    X_FRAME_OPTIONS = "DENY"
