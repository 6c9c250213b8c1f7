"""Reads of accounts data, always through the scoping door.

Which users an administrator manages (docs/decisions/0002-user-scope.md): a user is inside an
administrator's subtree when they hold at least one role grant and *every* grant lies at a node
in the administrator's `admin_users` subtree. A user with no grants at all is managed only by
the administrator who created the account (until someone grants them a role). Superusers
manage everyone; nobody but a superuser sees a superuser.
"""

from __future__ import annotations

from django.db.models import CharField, Count, F, Q, QuerySet
from django.db.models.functions import Cast

from apps.accounts.models import RoleGrant, User
from apps.accounts.scope import path_q, scope_of


def users_manageable_by(actor, *, capability: str = "admin_users") -> QuerySet[User]:
    scope = scope_of(actor)
    if scope.unrestricted:
        return User.objects.all()
    if not scope.has(capability):
        return User.objects.none()
    inside = path_q(actor, capability, "grants__org__path")
    return (
        User.objects.filter(is_superuser=False)
        .annotate(
            n_grants=Count("grants", distinct=True),
            n_inside=Count("grants", filter=inside, distinct=True),
        )
        .filter(Q(n_grants__gt=0, n_inside=F("n_grants")) | Q(n_grants=0, created_by=actor))
    )


def user_search(actor, *, q: str = "") -> QuerySet[User]:
    """The users `actor` manages, matching `q`: exact username, a phone number (exact, via its
    blind index) or part of the name."""
    from apps.core import crypto

    qs = users_manageable_by(actor)
    q = (q or "").strip()
    if q:
        match = Q(username=q) | Q(full_name__contains=q)
        if q.isdigit():
            match |= Q(phone_hash=crypto.blind_index("phone", q))
        qs = qs.filter(match)
    return qs.order_by("username")


def grants_visible_to(actor) -> QuerySet[RoleGrant]:
    """Role grants at nodes inside the actor's `admin_users` subtree."""
    scope = scope_of(actor)
    if not scope.has("admin_users"):
        return RoleGrant.objects.none()
    return RoleGrant.objects.filter(path_q(actor, "admin_users", "org__path")).select_related(
        "user", "org"
    )


def audit_entries_visible_to(actor):
    """Audit entries of the actor's `audit_view` subtree: entries whose org lies in it, and
    entries about users the actor manages (sign-in, sign-out, account changes)."""
    from apps.core.models import AuditEntry

    scope = scope_of(actor)
    if scope.unrestricted:
        return AuditEntry.objects.all()
    if not scope.has("audit_view"):
        return AuditEntry.objects.none()
    user_ids = (
        users_manageable_by(actor, capability="audit_view")
        .annotate(id_text=Cast("pk", CharField()))
        .values("id_text")
    )
    return AuditEntry.objects.filter(
        path_q(actor, "audit_view", "org__path")
        | Q(object_type="accounts.user", object_id__in=user_ids)
    )


def audit_search(
    actor,
    *,
    action: str = "",
    object_type: str = "",
    object_id: str = "",
    actor_id: int | str | None = None,
    date_from=None,
    date_to=None,
):
    """Filter the visible audit entries. Dates are local (Asia/Shanghai) calendar days."""
    import datetime as dt

    from apps.core.periods import local_midnight

    qs = audit_entries_visible_to(actor)
    if action:
        qs = qs.filter(action=action)
    if object_type:
        qs = qs.filter(object_type=object_type)
    if object_id:
        qs = qs.filter(object_id=str(object_id))
    if actor_id:
        qs = qs.filter(actor_id=actor_id)
    if date_from:
        qs = qs.filter(at__gte=local_midnight(date_from))
    if date_to:
        qs = qs.filter(at__lt=local_midnight(date_to + dt.timedelta(days=1)))
    return qs.select_related("actor", "org").order_by("-at", "-id")
