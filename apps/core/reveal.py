"""Revealing personal data (身份证号, phone) in full: the one service every app uses.

Personal data is masked everywhere by default. Seeing a value in full needs the `reveal`
capability on the object's org, a reason, and leaves an audit entry (action=reveal).

- Register what may be revealed: `register_revealable("members.member", org_path="branch__path",
  fields={"id_number": "id_number_masked", "phone": "phone_masked"})` (field → its masked column).
- Pages: `{% load reveal %}{% reveal member "id_number" %}` renders components/_reveal.html
  (masked value + 查看 button → reason form → full value, through HTMX).
- API: `POST /api/v1/reveal/` with {"object": "members.member", "id": 1, "field": "id_number",
  "reason": "..."} → {"value": "..."}; or reuse `reveal_api_response(request, obj)` in a
  viewset `@action(detail=True, methods=["post"])`.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.http import Http404

from apps.core.audit import audit_log
from apps.core.models import AuditAction


@dataclass(frozen=True)
class Revealable:
    label: str  # "app_label.modelname"
    org_path: str  # lookup from the model to its org's path, e.g. "branch__path"
    fields: dict[str, str]  # revealable field -> masked column

    @property
    def model(self) -> type[models.Model]:
        return apps.get_model(self.label)

    def org_of(self, obj):
        org = obj
        for part in self.org_path.split("__")[:-1]:
            org = getattr(org, part)
        return org


_REGISTRY: dict[str, Revealable] = {}


def register_revealable(label: str, *, org_path: str, fields: dict[str, str]) -> Revealable:
    entry = Revealable(label=label.lower(), org_path=org_path, fields=dict(fields))
    _REGISTRY[entry.label] = entry
    return entry


def revealable(label: str) -> Revealable:
    try:
        return _REGISTRY[label.lower()]
    except KeyError:
        raise Http404("未找到。") from None


def revealable_for(obj: models.Model) -> Revealable:
    return revealable(obj._meta.label_lower)


def load_revealable(user, label: str, pk) -> models.Model:
    """Fetch a registered object through the scope (404 outside it, like a missing id)."""
    from apps.accounts.scope import get_scoped_or_404

    entry = revealable(label)
    return get_scoped_or_404(entry.model.objects.all(), user, path_field=entry.org_path, pk=pk)


@transaction.atomic
def personal_data_reveal(*, actor, obj: models.Model, field: str, reason: str) -> str:
    """Return the clear value of `obj.field`, audited. 404 when the object is outside the actor's
    scope, 403 without the `reveal` capability on its org, 400 without a reason."""
    from apps.accounts.scope import require

    entry = revealable_for(obj)
    org = entry.org_of(obj)
    require(actor, "reveal", org)
    if field not in entry.fields:
        raise ValidationError({"field": ["该字段不可查看。"]})
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": ["请填写查看原因。"]})
    audit_log(
        actor=actor,
        action=AuditAction.REVEAL,
        obj=obj,
        org=org,
        verb="personal_data_reveal",
        changes={"field": field},
        reason=reason,
    )
    return getattr(obj, field) or ""


def masked_value(obj: models.Model, field: str) -> str:
    entry = revealable_for(obj)
    return getattr(obj, entry.fields[field], "") or ""


# Registered here for the models the foundation defines; other apps register theirs in ready().
register_revealable(
    "members.member",
    org_path="branch__path",
    fields={"id_number": "id_number_masked", "phone": "phone_masked"},
)


def reveal_context(user, obj: models.Model, field: str, *, state: str = "masked", **extra) -> dict:
    """Template context of components/_reveal.html (state: masked | form | value)."""
    from django.urls import reverse

    from apps.accounts.scope import can

    entry = revealable_for(obj)
    masked = masked_value(obj, field)
    return {
        "state": state,
        "masked": masked,
        "can_reveal": bool(masked) and user is not None and can(user, "reveal", entry.org_of(obj)),
        "url": reverse("core:reveal", args=[entry.label, obj.pk, field]),
        "dom_id": f"reveal-{entry.label.replace('.', '-')}-{obj.pk}-{field}",
        **extra,
    }
