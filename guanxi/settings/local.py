"""Settings for running Guanxi on one's own machine (the demo and development).

Secrets are generated on first use and kept in the data directory, which is never committed.
"""

import secrets

from .base import *  # noqa: F403
from .base import DATA_DIR, GUANXI_FIELD_ENCRYPTION_KEYS, env_bool


def _data_file_secret(name: str, make) -> str:
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    path = DATA_DIR / name
    if not path.exists():
        path.write_text(make())
        path.chmod(0o600)
    return path.read_text().strip()


DEBUG = env_bool("GUANXI_DEBUG", False)
SECRET_KEY = _data_file_secret("secret_key", lambda: secrets.token_urlsafe(50))
if not GUANXI_FIELD_ENCRYPTION_KEYS:
    from cryptography.fernet import Fernet

    GUANXI_FIELD_ENCRYPTION_KEYS = [
        _data_file_secret("field_encryption_key", lambda: Fernet.generate_key().decode())
    ]
