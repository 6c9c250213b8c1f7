"""Domain errors. Services raise `django.core.exceptions.ValidationError` (with a dict of
field → message where a field is to blame) for bad input and broken rules; views show the
messages on the form, the API answers 400 with the field errors (apps.core.api)."""

from __future__ import annotations

from django.core.exceptions import ValidationError


class RuleViolation(ValidationError):
    """A regulation rule (DOMAIN.md) forbids the action. The message says which and why."""


def field_error(field: str, message: str) -> ValidationError:
    return ValidationError({field: [message]})


def check_lengths(model, **values) -> None:
    """Raise a ValidationError naming every text value longer than its model field allows (the
    database would refuse it with a 500 otherwise). `values` are field names and values."""
    errors = {}
    for name, value in values.items():
        limit = model._meta.get_field(name).max_length
        if limit and value is not None and len(str(value)) > limit:
            label = model._meta.get_field(name).verbose_name
            errors[name] = [f"{label}不能超过{limit}个字（现为{len(str(value))}个）。"]
    if errors:
        raise ValidationError(errors)
