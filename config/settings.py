"""Settings for every mode; values come from environment variables through config.env."""

from __future__ import annotations

from pathlib import Path

from django.utils.translation import gettext_lazy as _

from config import env

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = env.data_dir()
PRODUCTION = env.is_production()

SECRET_KEY = env.secret_key()
ENCRYPTION_KEY = env.encryption_key()
DEBUG = env.env_bool("CRM_DEBUG", False)
ALLOWED_HOSTS = [
    h.strip() for h in env.env_str("CRM_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h
]
# Behind a reverse proxy that sets X-Forwarded-For, set this so audit entries log the client.
TRUST_X_FORWARDED_FOR = env.env_bool("CRM_TRUST_X_FORWARDED_FOR", False)
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in env.env_str("CRM_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "axes",
    "django_tasks",
    "django_tasks_db",
    "ninja",
    "crm.core",
    "crm.access",
    "crm.audit",
    "crm.scheduler",
    "crm.customfields",
    "crm.timeline",
    "crm.search",
    "crm.customers",
    "crm.notifications",
    "crm.reminders",
    "crm.activities",
    "crm.leads",
    "crm.opportunities",
    "crm.quotes",
    "crm.contracts",
    "crm.forecast",
    "crm.imports",
    "crm.dedupe",
    "crm.exports",
    "crm.backup",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "crm.core.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "crm.audit.middleware.AuditContextMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "crm" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "crm.core.context_processors.navigation",
            ],
        },
    },
]

DATABASES = {"default": env.database_config()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "access.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 8},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# django-axes: lock an account+IP pair after repeated failures.
AXES_FAILURE_LIMIT = env.env_int("CRM_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = env.env_int("CRM_LOGIN_COOLOFF_MINUTES", 15) / 60  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = env.env_int("CRM_SESSION_HOURS", 12) * 3600
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env.env_int("CRM_HSTS_SECONDS", 0)

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("简体中文")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "crm" / "locale"]
TIME_ZONE = env.env_str("CRM_TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise warns on every start when it is missing
STATICFILES_DIRS = [
    ("vendor/tabler", BASE_DIR / "node_modules" / "@tabler" / "core" / "dist"),
    ("vendor/htmx", BASE_DIR / "node_modules" / "htmx.org" / "dist"),
    ("vendor/alpinejs", BASE_DIR / "node_modules" / "alpinejs" / "dist"),
    ("vendor/sortablejs", BASE_DIR / "node_modules" / "sortablejs"),
    ("vendor/echarts", BASE_DIR / "node_modules" / "echarts" / "dist"),
    BASE_DIR / "crm" / "static",
]
# Assets are served from the finders: nothing to collect before `crm serve`, nothing from a CDN.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
MEDIA_ROOT = DATA_DIR / "media"
MEDIA_URL = "/media/"

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "crm",
    }
}
if env.env_str("CRM_CACHE") == "db":
    CACHES["default"] = {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "crm_cache",
    }

TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": ["default"],
    }
}

# API
API_RATE_LIMIT = env.env_str("CRM_API_RATE_LIMIT", "600/min")
API_ANON_RATE_LIMIT = env.env_str("CRM_API_ANON_RATE_LIMIT", "30/min")
API_PAGE_SIZE = 50
API_MAX_PAGE_SIZE = 200

DEMO_PASSWORD = env.env_str("CRM_DEMO_PASSWORD", "crm-demo-2026")

EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
DEFAULT_FROM_EMAIL = env.env_str("CRM_DEFAULT_FROM_EMAIL", "crm@localhost")
globals().update(env.email_config())
# Without CRM_EMAIL_URL no mail deliveries are queued (they could only fail and pile up).
EMAIL_CONFIGURED = bool(env.env_str("CRM_EMAIL_URL"))
# Links in mail and robot messages need the address users reach the CRM at.
SITE_URL = env.env_str("CRM_SITE_URL", "http://127.0.0.1:8000").rstrip("/")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.env_str("CRM_LOG_LEVEL", "INFO")},
    "loggers": {"axes": {"level": "WARNING"}},
}
