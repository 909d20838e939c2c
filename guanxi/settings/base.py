"""Settings shared by every environment. Everything that differs between machines comes from the
environment (12-factor style), so the same code runs the demo, CI and production."""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

PACKAGE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("GUANXI_DATA_DIR", "var")).resolve()


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int, *, minimum: int = 0) -> int:
    """An integer setting from the environment; a value that is not a whole number of at least
    ``minimum`` stops start-up with a message naming the variable, rather than a bare
    ``ValueError`` from deep inside the settings."""
    value = os.environ.get(name)
    if value is None or not value.strip():
        return default
    try:
        number = int(value.strip())
    except ValueError:
        number = None
    if number is None or number < minimum:
        raise ImproperlyConfigured(
            f"{name} must be a whole number of at least {minimum}; it is {value!r}"
        )
    return number


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("GUANXI_DEBUG")
ALLOWED_HOSTS = env_list("GUANXI_ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = env_list("GUANXI_CSRF_TRUSTED_ORIGINS")
# How many reverse proxies stand in front of the site, each adding the address it was reached
# from to X-Forwarded-For: the client's address (in audit rows, and for the limit on asking for
# password links) is then read from that header, the proxies' entries counted from the right.
# 0, the default, reads the address the server received the request from and ignores the
# header, which anyone can send. Never set more than there are, and let the site be reached
# through them only: otherwise the entry counted to is one the client wrote.
GUANXI_TRUSTED_PROXIES = env_int("GUANXI_TRUSTED_PROXIES", 0)

INSTALLED_APPS = [
    # Django's admin, its site reading each page's query string first (guanxi.web.admin_site).
    "guanxi.web.admin_site.GuanxiAdminConfig",
    # Before Django's auth app: its changepassword command gives way to Guanxi's, which records
    # the change (of two commands of one name, Django runs the earlier app's).
    "guanxi.accounts",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "django_tasks",
    # The task queue's database backend, its app named in the reader's language.
    "guanxi.scheduling.tasks_app.TasksDatabaseConfig",
    "ninja",
    "guanxi.core",
    "guanxi.audit",
    "guanxi.customers",
    "guanxi.interactions",
    "guanxi.orders",
    "guanxi.dedup",
    "guanxi.imports",
    "guanxi.service",
    "guanxi.knowledge",
    "guanxi.analytics",
    "guanxi.scheduling",
    "guanxi.api",
    "guanxi.web",
    "guanxi.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "guanxi.core.uploads.RequestBodyLimitMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "guanxi.accounts.middleware.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "guanxi.audit.middleware.AuditContextMiddleware",
    "guanxi.web.middleware.BusyDatabaseMiddleware",
]

ROOT_URLCONF = "guanxi.urls"
WSGI_APPLICATION = "guanxi.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "guanxi.web.context_processors.navigation",
            ],
        },
    }
]

DATABASE_URL = os.environ.get("DATABASE_URL") or f"sqlite:///{DATA_DIR / 'guanxi.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers run while a writer commits; IMMEDIATE makes a write transaction take
    # the lock up front instead of failing half-way with "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # PostgreSQL's default cost of a random page read (4, four times a sequential one) is meant
    # for spinning disks. With the working set in memory or on SSD it makes the planner read
    # the newest customers one by one where fetching a search's matches from the index is ten
    # times faster: a phone fragment matching 1,400 of a million customers took 45 ms one way
    # and 5 ms the other. 1.1 is the usual value for SSDs.
    # JIT compilation is off: it starts whenever a plan's estimated cost is high, and a page's
    # small query with a generous estimate (the customer page's possible duplicates, filtered
    # through a subquery of the 160,000 customers a rep may see) spent 25-28 ms compiling to run
    # for 0.06 ms. The analytics refresh turns it back on for its own long aggregates.
    # TCP keepalives, asked of the server: a session whose client vanished without closing it
    # (its machine lost power, the network between them broke) holds its locks until the
    # server notices, and the job locks an import runner holds for its whole run (see
    # guanxi/imports/job_locks.py) would keep its job from being taken over. With the
    # operating system's default the server asks after two hours; with these, within about two
    # minutes (60 s idle, then six probes 10 s apart). Sessions over a Unix socket ignore them.
    # Options in DATABASE_URL come after these and win.
    options = DATABASES["default"].setdefault("OPTIONS", {})
    options["options"] = (
        "-c random_page_cost=1.1 -c jit=off -c tcp_keepalives_idle=60"
        f" -c tcp_keepalives_interval=10 -c tcp_keepalives_count=6 {options.get('options', '')}"
    ).strip()

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "customers:list"
LOGOUT_REDIRECT_URL = "accounts:login"
CSRF_FAILURE_VIEW = "guanxi.web.views.csrf_failure"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# The site default: the language of whoever has chosen none, of the sign-in page, of customers
# written to in no language of their own, and of the command line (``guanxi import`` reports in
# it). A regional code (zh-cn) is read as the language it names (``core.languages``).
LANGUAGE_CODE = os.environ.get("GUANXI_LANGUAGE_CODE") or "en"
# Traditional Chinese's catalogue is made from the Simplified one (``make messages``).
LANGUAGES = [
    ("en", _("English")),
    ("zh-hans", _("Simplified Chinese")),
    ("zh-hant", _("Traditional Chinese")),
]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
TIME_ZONE = os.environ.get("GUANXI_TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
MEDIA_URL = "/media/"
MEDIA_ROOT = DATA_DIR / "media"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

EMAIL_BACKEND = os.environ.get(
    "GUANXI_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend"
)
DEFAULT_FROM_EMAIL = os.environ.get("GUANXI_DEFAULT_FROM_EMAIL", "guanxi@localhost")
# The mail server Django's SMTP backend sends through. The timeout (seconds) ends the wait on a
# server that takes the connection and then hangs: a reply would otherwise wait with it, and
# with the row of the customer's email it is sending locked, for as long as the server liked.
EMAIL_HOST = os.environ.get("GUANXI_EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("GUANXI_EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = os.environ.get("GUANXI_EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("GUANXI_EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("GUANXI_EMAIL_USE_TLS")
EMAIL_USE_SSL = env_bool("GUANXI_EMAIL_USE_SSL")
EMAIL_TIMEOUT = env_int("GUANXI_EMAIL_TIMEOUT", 10, minimum=1)
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise ImproperlyConfigured(
        "GUANXI_EMAIL_USE_TLS (STARTTLS, usually port 587) and GUANXI_EMAIL_USE_SSL (TLS from "
        "the start, usually port 465) exclude each other; set one of them."
    )

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# Key for encrypting sensitive fields at rest (national ID numbers). Production must set it;
# local settings derive one and keep it in the data directory. Several comma-separated keys
# allow rotation: the first encrypts, all decrypt.
GUANXI_FIELD_ENCRYPTION_KEYS = env_list("GUANXI_FIELD_ENCRYPTION_KEYS")

# Background jobs (long imports) are queued in the database and run by `guanxi db_worker`,
# which `guanxi serve` starts beside the web server.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
# Periodic jobs, queued by `guanxi scheduler` (see guanxi/scheduling/schedule.py): each entry is
# daily at a local time ("at", "timezone") or "every_minutes".
GUANXI_SCHEDULE = {
    "analytics-refresh": {
        "task": "guanxi.analytics.tasks.refresh_customer_values",
        "at": os.environ.get("GUANXI_ANALYTICS_REFRESH_AT", "02:30"),
        "timezone": TIME_ZONE,
    },
    "sla-sweep": {"task": "guanxi.service.tasks.sweep_service_levels", "every_minutes": 1},
    # Deletes the workbooks of background customer exports once they have been kept 7 days.
    "customer-exports-cleanup": {
        "task": "guanxi.customers.tasks.remove_expired_customer_exports",
        "every_minutes": 60,
    },
    # Deletes the uploaded files of web imports that ended GUANXI_IMPORT_UPLOAD_RETENTION_DAYS ago.
    "import-uploads-cleanup": {
        "task": "guanxi.imports.tasks.remove_expired_import_uploads",
        "every_minutes": 60,
    },
}
# A web or API export to Excel of more customers than this is written in the background and
# downloaded from its own page (the API: 202 with the export's address) when ready: a million
# customers take minutes, longer than a reverse proxy waits for a response (CSV streams, and is
# always sent at once).
GUANXI_EXPORT_BACKGROUND_ROWS = env_int("GUANXI_EXPORT_BACKGROUND_ROWS", 20000)
# The files uploaded to import from the web hold personal data: each is deleted this many days
# after the last job reading it ended (a finished dry run's file is kept as long to be imported
# for real), by the scheduler's hourly clean-up; a cancelled or discarded import's at once,
# unless such a dry run keeps it. An upload not started yet, and an import that stopped short,
# keep their file while they may be started or carried on.
GUANXI_IMPORT_UPLOAD_RETENTION_DAYS = env_int("GUANXI_IMPORT_UPLOAD_RETENTION_DAYS", 7)
# The largest file the import page takes, in MB; a larger one is refused with a word to split
# it or use `guanxi import`, which reads a file of any size from disk.
GUANXI_IMPORT_MAX_UPLOAD_MB = env_int("GUANXI_IMPORT_MAX_UPLOAD_MB", 100)
# The service desk's inbound address: customers write here, replies to its mail come here.
GUANXI_SERVICE_EMAIL = os.environ.get("GUANXI_SERVICE_EMAIL", "service@guanxi.localhost")
# Where links in emails point (status pages, surveys), e.g. https://crm.example.com
GUANXI_BASE_URL = os.environ.get("GUANXI_BASE_URL", "http://127.0.0.1:8000")
# A shared secret an inbound-mail webhook sends in the X-Guanxi-Webhook-Secret header; the
# endpoint refuses everything while it is empty.
GUANXI_INBOUND_WEBHOOK_SECRET = os.environ.get("GUANXI_INBOUND_WEBHOOK_SECRET", "")
# The authserv-ids (comma-separated) of the site's own receiving mail servers, whose
# Authentication-Results headers say whether an inbound email's From address is genuine; unset,
# every sender is taken at their word (see guanxi/service/sender_verification.py).
GUANXI_INBOUND_AUTHSERV_ID = env_list("GUANXI_INBOUND_AUTHSERV_ID")

# Default region for reading phone numbers written without a country code.
GUANXI_DEFAULT_PHONE_REGION = os.environ.get("GUANXI_DEFAULT_PHONE_REGION", "CN")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("GUANXI_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
