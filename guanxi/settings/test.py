"""Settings for the test suite. DATABASE_URL picks SQLite (default) or PostgreSQL."""

import tempfile
from pathlib import Path

from .base import *  # noqa: F403

DEBUG = False
SECRET_KEY = "test-only-secret-key-not-used-anywhere-else-0123456789"  # noqa: S105
# A fixed, test-only Fernet key so encrypted values are reproducible across test processes.
GUANXI_FIELD_ENCRYPTION_KEYS = ["dGVzdC1vbmx5LWtleS1ub3QtYS1zZWNyZXQtMDAwMDA="]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
MEDIA_ROOT = Path(tempfile.gettempdir()) / "guanxi-test-media"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# WhiteNoise looks for collected files at start-up; tests serve static files from the apps.
STATIC_ROOT = Path(tempfile.gettempdir()) / "guanxi-test-static"
STATIC_ROOT.mkdir(exist_ok=True)
# Tasks run at once, inside the request or service that queues them.
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
