"""Production settings: everything secret or site-specific comes from the environment.

Required: GUANXI_SECRET_KEY, GUANXI_FIELD_ENCRYPTION_KEYS, GUANXI_ALLOWED_HOSTS, DATABASE_URL.
"""

import os

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import GUANXI_FIELD_ENCRYPTION_KEYS, env_bool


def _required(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise ImproperlyConfigured(f"Set the {name} environment variable for production.")
    return value


DEBUG = False
SECRET_KEY = _required("GUANXI_SECRET_KEY")
if not GUANXI_FIELD_ENCRYPTION_KEYS:
    raise ImproperlyConfigured("Set GUANXI_FIELD_ENCRYPTION_KEYS for production.")

SECURE_SSL_REDIRECT = env_bool("GUANXI_SSL_REDIRECT", True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = int(os.environ.get("GUANXI_HSTS_SECONDS", str(60 * 60 * 24 * 365)))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("GUANXI_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("GUANXI_HSTS_PRELOAD", True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
EMAIL_BACKEND = os.environ.get(
    "GUANXI_EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend"
)
