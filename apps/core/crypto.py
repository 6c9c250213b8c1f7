"""Encryption of personal data at rest (身份证号, phone) and keyed hashes for exact lookup.

Values are encrypted with AES-256-GCM (authenticated). The stored text is
`v1:<key id>:<urlsafe base64(nonce || ciphertext+tag)>`, so each value names the key that
encrypted it and keys can be rotated (`manage.py rotate_field_keys`). Exact-match search goes
through `blind_index`, an HMAC-SHA256 with a separate key. Masked forms for display are computed
when the value is written and stored in clear: they are what every screen shows by default.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

PREFIX = "v1"
# Deterministic keys used only when DEBUG/tests run without configured keys.
_FALLBACK_KEY = ("dev", b"\x00" * 16 + b"insecure-dev-key")
_FALLBACK_INDEX_KEY = b"insecure-dev-blind-index-key-000"


class DecryptionError(ValueError):
    pass


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@lru_cache(maxsize=8)
def _parse_keys(spec: str) -> tuple[tuple[str, bytes], ...]:
    keys: list[tuple[str, bytes]] = []
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        kid, sep, encoded = part.partition(":")
        if not sep or not kid:
            raise ImproperlyConfigured(
                "FIELD_ENCRYPTION_KEYS must look like `k1:<base64 32 bytes>,k0:...`."
            )
        try:
            key = _b64decode(encoded)
        except ValueError as exc:
            raise ImproperlyConfigured(
                f"FIELD_ENCRYPTION_KEYS: key {kid!r} is not base64."
            ) from exc
        if len(key) != 32:
            raise ImproperlyConfigured(f"FIELD_ENCRYPTION_KEYS: key {kid!r} must be 32 bytes.")
        keys.append((kid, key))
    return tuple(keys)


def keyring() -> tuple[tuple[str, bytes], ...]:
    keys = _parse_keys(settings.FIELD_ENCRYPTION_KEYS or "")
    return keys or (_FALLBACK_KEY,)


def current_key_id() -> str:
    return keyring()[0][0]


def encrypt(plaintext: str) -> str:
    kid, key = keyring()[0]
    nonce = os.urandom(12)
    sealed = AESGCM(key).encrypt(nonce, plaintext.encode("utf-8"), kid.encode("ascii"))
    return f"{PREFIX}:{kid}:{base64.urlsafe_b64encode(nonce + sealed).decode('ascii').rstrip('=')}"


def decrypt(token: str) -> str:
    try:
        prefix, kid, payload = token.split(":", 2)
    except ValueError as exc:
        raise DecryptionError("not an encrypted value") from exc
    if prefix != PREFIX:
        raise DecryptionError(f"unknown format {prefix!r}")
    keys = dict(keyring())
    if kid not in keys:
        raise DecryptionError(f"key {kid!r} is not in FIELD_ENCRYPTION_KEYS")
    raw = _b64decode(payload)
    try:
        return AESGCM(keys[kid]).decrypt(raw[:12], raw[12:], kid.encode("ascii")).decode("utf-8")
    except InvalidTag as exc:
        raise DecryptionError("value was tampered with or the key is wrong") from exc


def key_id_of(token: str) -> str:
    return token.split(":", 2)[1]


def blind_index(purpose: str, value: str) -> str:
    """Keyed hash of a normalised value, for exact-match lookup of encrypted columns."""
    key = (
        settings.BLIND_INDEX_KEY.encode("utf-8")
        if settings.BLIND_INDEX_KEY
        else _FALLBACK_INDEX_KEY
    )
    message = f"{purpose}:{value.strip().upper()}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def mask_id_number(value: str) -> str:
    """`110101199003071234` → `110101********1234`."""
    value = (value or "").strip()
    if len(value) <= 10:
        return "*" * len(value)
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def mask_phone(value: str) -> str:
    """`13812345678` → `138****5678`."""
    value = (value or "").strip()
    if len(value) < 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]
