"""Encryption at rest for sensitive personal data, and keyed hashes for looking it up.

Values are encrypted with Fernet (AES-128-CBC + HMAC-SHA256, from the ``cryptography`` package)
under the keys in ``settings.GUANXI_FIELD_ENCRYPTION_KEYS``; MultiFernet lets an operator rotate
keys by putting the new key first. Equality lookups (has this ID number been seen before?) use an
HMAC of the normalised value, so the database never needs the plaintext to match records.
"""

import hashlib
import hmac
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


@cache
def _fernet() -> MultiFernet:
    keys = settings.GUANXI_FIELD_ENCRYPTION_KEYS
    if not keys:
        raise ImproperlyConfigured("GUANXI_FIELD_ENCRYPTION_KEYS is empty.")
    return MultiFernet([Fernet(key.encode() if isinstance(key, str) else key) for key in keys])


def encrypt_text(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode("utf-8")).decode("ascii")


def decrypt_text(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode("ascii")).decode("utf-8")
    except InvalidToken as exc:  # wrong key or tampered data: never return garbage silently
        raise ValueError("Encrypted value cannot be decrypted with the configured keys.") from exc


def lookup_hash(normalised_value: str) -> str:
    """A keyed hash for equality lookups; stable for one deployment, useless without its keys."""
    key = hashlib.sha256(("lookup:" + settings.GUANXI_FIELD_ENCRYPTION_KEYS[-1]).encode()).digest()
    return hmac.new(key, normalised_value.encode("utf-8"), hashlib.sha256).hexdigest()
