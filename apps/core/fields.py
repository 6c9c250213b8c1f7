"""Model fields for personal data."""

from __future__ import annotations

from django.db import models

from apps.core import crypto


class EncryptedTextField(models.TextField):
    """Text encrypted at rest with apps.core.crypto. Not searchable: pair it with a
    blind-index column for exact lookup and a masked column for display."""

    description = "Encrypted text"

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return crypto.encrypt(str(value))

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        return crypto.decrypt(value)

    def get_lookup(self, lookup_name):
        if lookup_name not in {"isnull"}:
            raise TypeError(
                f"EncryptedTextField does not support `{lookup_name}` lookups: use its blind index."
            )
        return super().get_lookup(lookup_name)
