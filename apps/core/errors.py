"""Domain errors. Services raise `django.core.exceptions.ValidationError` (with a dict of
field → message where a field is to blame) for bad input and broken rules; views show the
messages on the form, the API answers 400 with the field errors (apps.core.api)."""

from __future__ import annotations

from django.core.exceptions import ValidationError


class RuleViolation(ValidationError):
    """A regulation rule (DOMAIN.md) forbids the action. The message says which and why."""


def field_error(field: str, message: str) -> ValidationError:
    return ValidationError({field: [message]})
