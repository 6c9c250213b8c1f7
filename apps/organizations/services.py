"""Writes to the organization tree. Every operation is one transaction with its audit entry."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction

from apps.core.audit import audit_log
from apps.core.models import AuditAction
from apps.core.periods import local_today
from apps.organizations.models import Org, OrgParentLink, OrgType
from apps.organizations.rules import check_parent_allowed


@transaction.atomic
def org_create(
    *,
    actor,
    parent: Org | None,
    name: str,
    code: str,
    org_type: str,
    founded_on: dt.date | None = None,
    **attrs,
) -> Org:
    """Create an org under `parent` (a root when parent is None)."""
    check_parent_allowed(parent_type=parent.org_type if parent else None, child_type=org_type)
    if Org.objects.filter(code=code).exists():
        raise ValidationError({"code": [f"组织代码“{code}”已被使用。"]})
    fields = {"name": name, "code": code, "org_type": org_type, "founded_on": founded_on, **attrs}
    org = Org(**fields)
    org.full_clean(exclude=["path", "depth", "numchild", "parent"], validate_unique=False)
    if parent is None:
        org = Org.objects.add_root(instance=org)
    else:
        parent.refresh_from_db()
        org.parent = parent
        org = Org.objects.add_child(parent, instance=org)
    OrgParentLink.objects.create(
        org=org, parent=parent, valid_from=founded_on or local_today(), changed_by=_user(actor), reason="成立"
    )
    audit_log(actor=actor, action=AuditAction.CREATE, obj=org, verb="org_create", changes={"name": [None, name]})
    return org


def _user(actor):
    return actor if actor is not None and getattr(actor, "is_authenticated", False) else None


__all__ = ["OrgType", "org_create"]
