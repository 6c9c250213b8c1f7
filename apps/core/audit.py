"""The audit log writer. Call it inside the service's transaction so that the entry and the
change commit or roll back together."""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Any

from django.db import models

from apps.core.context import current_ip
from apps.core.models import AuditAction, AuditEntry


def _plain(value: Any) -> Any:
    if isinstance(value, models.Model):
        return {"id": value.pk, "str": str(value)}
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """{field: [old, new]} for the fields whose value changed."""
    return {
        key: [_plain(before.get(key)), _plain(after.get(key))]
        for key in sorted(set(before) | set(after))
        if before.get(key) != after.get(key)
    }


def snapshot(obj: models.Model, fields: list[str]) -> dict[str, Any]:
    return {name: getattr(obj, name) for name in fields}


def audit_log(
    *,
    actor,
    action: str | AuditAction,
    obj: models.Model | None = None,
    org=None,
    verb: str = "",
    changes: dict[str, Any] | None = None,
    reason: str = "",
    object_type: str = "",
    object_id: str = "",
    object_repr: str = "",
    ip: str | None = None,
) -> AuditEntry:
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
        object_repr = object_repr or str(obj)[:200]
        if org is None:
            org = _org_of(obj)
    actor_obj = actor if actor is not None and getattr(actor, "is_authenticated", False) else None
    return AuditEntry.objects.create(
        actor=actor_obj,
        actor_name=(actor_obj.get_full_name() or actor_obj.get_username()) if actor_obj else "",
        action=str(action),
        verb=verb,
        object_type=object_type,
        object_id=object_id,
        object_repr=object_repr[:200],
        org=org,
        changes=_plain(changes or {}),
        reason=reason[:500],
        ip=ip if ip is not None else current_ip(),
    )


def _org_of(obj: models.Model):
    from apps.organizations.models import Org

    if isinstance(obj, Org):
        return obj
    for attr in ("org", "branch"):
        value = getattr(obj, attr, None)
        if isinstance(value, Org):
            return value
    return None
