"""The one settings module. Everything that varies between deployments comes from the
environment (see config/env.py and .env.example)."""

from __future__ import annotations

import os
import sys

from django.core.exceptions import ImproperlyConfigured

from config import env

BASE_DIR = env.BASE_DIR
TESTING = "pytest" in sys.modules or (len(sys.argv) > 1 and sys.argv[1] == "test")

DEBUG = env.boolean("DJANGO_DEBUG", False)
SECRET_KEY = env.string("DJANGO_SECRET_KEY", "" if not (DEBUG or TESTING) else "dev-insecure-key")
if not SECRET_KEY:
    raise ImproperlyConfigured(
        "Environment variable DJANGO_SECRET_KEY is required when DJANGO_DEBUG is off."
    )
ALLOWED_HOSTS = env.listing("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],0.0.0.0,testserver")
CSRF_TRUSTED_ORIGINS = env.listing("DJANGO_CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "apps.core.admin_site.ScopedAdminConfig",  # django.contrib.admin, scoped by the org tree
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "treebeard",
    "apps.core",
    "apps.accounts",
    "apps.organizations",
    "apps.members",
    "apps.meetings",
    "apps.assessments",
    "apps.notifications",
    "apps.reports",
    "apps.dashboards",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "apps.core.context.RequestContextMiddleware",
]

if not (DEBUG or TESTING):
    # Production serves collected static files through WhiteNoise; runserver serves them in DEBUG.
    MIDDLEWARE.insert(1, "whitenoise.middleware.WhiteNoiseMiddleware")

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
                "apps.core.context.navigation",
                "apps.notifications.context.unread_badge",
            ],
        },
    }
]

DATABASES = {"default": env.database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.redis_url()
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        # Each pytest-xdist worker gets its own prefix: tests clear the cache, and a shared one
        # would wipe another worker's cached rule parameters mid-test.
        "KEY_PREFIX": env.string("CACHE_KEY_PREFIX", "dj")
        + (f"-test-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}" if TESTING else ""),
        "TIMEOUT": 300,
    }
}

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["apps.accounts.backends.UsernameOrPhoneBackend"]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "accounts:home"
LOGOUT_REDIRECT_URL = "accounts:login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 8},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if TESTING:
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

SESSION_COOKIE_AGE = env.integer("SESSION_COOKIE_AGE", 8 * 3600)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env.boolean("DJANGO_SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env.boolean("DJANGO_BEHIND_PROXY", False) else None
)
X_FRAME_OPTIONS = "SAMEORIGIN"

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文")]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
FORMAT_MODULE_PATH = ["config.formats"]  # ISO first for <input type="date">
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "var" / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = env.string("MEDIA_ROOT", str(BASE_DIR / "var" / "media"))
# Set behind nginx (e.g. "/protected-media/"): Django authorises, nginx sends the file.
MEDIA_ACCEL_REDIRECT = env.string("MEDIA_ACCEL_REDIRECT", "")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if not (DEBUG or TESTING)
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 20 * 1024 * 1024

# Personal data encryption (apps/core/crypto.py). FIELD_ENCRYPTION_KEYS is a comma-separated
# list of `key_id:base64key`; the first is used to encrypt, all are used to decrypt.
FIELD_ENCRYPTION_KEYS = env.string("FIELD_ENCRYPTION_KEYS", "", required=not (DEBUG or TESTING))
BLIND_INDEX_KEY = env.string("BLIND_INDEX_KEY", "", required=not (DEBUG or TESTING))

_EMAIL_BACKEND = env.string("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
_SMTP_OPTIONS = {
    "host": env.string("EMAIL_HOST", "localhost"),
    "port": env.integer("EMAIL_PORT", 25),
    "username": env.string("EMAIL_HOST_USER", ""),
    "password": env.string("EMAIL_HOST_PASSWORD", ""),
    "use_tls": env.boolean("EMAIL_USE_TLS", False),
    "timeout": env.integer("EMAIL_TIMEOUT", 20),
}
# Django 6.1 mailers (replace the deprecated EMAIL_* settings). SMTP options only for SMTP.
MAILERS = {
    "default": {
        "BACKEND": _EMAIL_BACKEND,
        "OPTIONS": _SMTP_OPTIONS if _EMAIL_BACKEND.endswith("smtp.EmailBackend") else {},
    }
}
DEFAULT_FROM_EMAIL = env.string("DEFAULT_FROM_EMAIL", "dangjian@localhost")
SMS_BACKEND = env.string("SMS_BACKEND", "apps.notifications.sms.LoggingSMSBackend")
SITE_URL = env.string("SITE_URL", "http://127.0.0.1:8000")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "apps.core.api.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "apps.core.api.exception_handler",
    "DEFAULT_THROTTLE_RATES": {"login": "10/min"},
}
SPECTACULAR_SETTINGS = {
    "TITLE": "基层党建工作管理平台 API",
    "DESCRIPTION": "Grassroots party-building management platform, REST API v1.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI from the drf-spectacular-sidecar package (our static files), not a CDN:
    # the API docs work on an intranet with no internet access.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "MeetingKindEnum": "apps.meetings.models.MeetingKind",
        "MeetingStateEnum": "apps.meetings.models.MeetingState",
        "MeetingAttachmentKindEnum": "apps.meetings.models.AttachmentKind",
        "MeetingVoteKindEnum": "apps.meetings.models.VoteKind",
        "MeetingAttendanceStatusEnum": "apps.meetings.models.AttendanceStatus",
        "MeetingAppraisalGradeEnum": "apps.meetings.models.AppraisalGrade",
    },
}

# Celery: Redis broker, late acks, one task at a time per process, time limits below the
# broker's visibility timeout so an unacknowledged task is redelivered only after its limit.
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_ENABLE_UTC = False
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_VISIBILITY_TIMEOUT = env.integer("CELERY_VISIBILITY_TIMEOUT", 3600)
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_BROKER_VISIBILITY_TIMEOUT}
CELERY_TASK_SOFT_TIME_LIMIT = env.integer("CELERY_TASK_SOFT_TIME_LIMIT", 600)
CELERY_TASK_TIME_LIMIT = env.integer("CELERY_TASK_TIME_LIMIT", 900)
if CELERY_TASK_TIME_LIMIT >= CELERY_BROKER_VISIBILITY_TIMEOUT:
    raise ImproperlyConfigured(
        "CELERY_TASK_TIME_LIMIT must be below CELERY_VISIBILITY_TIMEOUT, or tasks are delivered twice."
    )
CELERY_TASK_ALWAYS_EAGER = False
# Report jobs still pending this many seconds after their task was published are published
# again by the reports-jobs-sweep beat job (a lost message, an interrupted fan-out).
REPORTS_REQUEUE_AFTER = env.integer("REPORTS_REQUEUE_AFTER", 7200)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# Reminder lead times (apps/notifications/rules.py; docs/operations.md "Reminder outbox").
# Meeting reminders to the expected attendees, in hours before the start ("the day before" and
# "2 hours before" by default); the host's "still unrecorded" reminder, in days after the date.
NOTIFICATIONS_MEETING_LEAD_HOURS = [
    int(h) for h in env.listing("NOTIFICATIONS_MEETING_LEAD_HOURS", "24,2")
]
NOTIFICATIONS_MEETING_UNRECORDED_DAYS = env.integer("NOTIFICATIONS_MEETING_UNRECORDED_DAYS", 2)
# Compliance (三会一课 frequency): to the secretary this many days before a period ends with a
# requirement unmet, again when it is overdue, and to the superior's staff this many days later.
NOTIFICATIONS_COMPLIANCE_LEAD_DAYS = env.integer("NOTIFICATIONS_COMPLIANCE_LEAD_DAYS", 7)
NOTIFICATIONS_COMPLIANCE_ESCALATE_DAYS = env.integer("NOTIFICATIONS_COMPLIANCE_ESCALATE_DAYS", 10)
if not NOTIFICATIONS_MEETING_LEAD_HOURS or min(NOTIFICATIONS_MEETING_LEAD_HOURS) <= 0:
    raise ImproperlyConfigured(
        "NOTIFICATIONS_MEETING_LEAD_HOURS must list positive hours, e.g. 24,2."
    )

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.string("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
