"""Reads: a user's inbox and preferences, and who receives a reminder (via role grants)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from django.db.models import QuerySet

from apps.accounts.models import Role, RoleGrant
from apps.notifications.models import Channel, InboxItem, Preference


def inbox_for(*, user, unread_only: bool = False) -> QuerySet[InboxItem]:
    """The user's own inbox, newest first. Nobody reads another person's inbox."""
    qs = InboxItem.objects.filter(user=user).order_by("-created_at", "-id")
    if unread_only:
        qs = qs.filter(read_at__isnull=True)
    return qs


def unread_count(*, user) -> int:
    return InboxItem.objects.filter(user=user, read_at__isnull=True).count()


def preferences_of(*, user) -> dict[str, bool]:
    from apps.notifications.services import CHANNEL_DEFAULTS

    stored = dict(Preference.objects.filter(user=user).values_list("channel", "enabled"))
    prefs = {
        channel.value: stored.get(channel.value, CHANNEL_DEFAULTS[channel]) for channel in Channel
    }
    prefs[Channel.INBOX.value] = True
    return prefs


# --- recipients -------------------------------------------------------------------------------


def _grants(role: str, org_paths: Iterable[str]) -> dict[str, list[int]]:
    """{org path: [active user ids holding `role` there]}."""
    result: dict[str, list[int]] = defaultdict(list)
    rows = (
        RoleGrant.objects.filter(role=role, org__path__in=set(org_paths), user__is_active=True)
        .order_by("org__path", "user_id")
        .values_list("org__path", "user_id")
    )
    for path, user_id in rows:
        result[path].append(user_id)
    return result


def branch_people(orgs: Iterable) -> dict[int, list[int]]:
    """{org id: user ids of the org's secretaries (支部书记 grants at the org itself)}; for a
    committee without a secretary grant, its own org_staff (the committee's office)."""
    orgs = list(orgs)
    secretaries = _grants(Role.SECRETARY, [o.path for o in orgs])
    staff = _grants(Role.ORG_STAFF, [o.path for o in orgs if not secretaries.get(o.path)])
    return {o.pk: secretaries.get(o.path) or staff.get(o.path, []) for o in orgs}


def superior_staff(orgs: Iterable) -> dict[int, list[int]]:
    """{org id: user ids of the org_staff of its superior committee}: the parent's staff, or if
    the parent has none, the nearest ancestor's that has (the reminder must reach someone)."""
    return {org_id: users for org_id, (_path, users) in superior_with_staff(orgs).items()}


def superior_with_staff(orgs: Iterable) -> dict[int, tuple[str | None, list[int]]]:
    """{org id: (path of the superior whose staff are told, their user ids)}; see
    `superior_staff`. (None, []) when no ancestor has staff."""
    orgs = list(orgs)
    paths = {p for o in orgs for p in o.ancestor_paths()}
    staff = _grants(Role.ORG_STAFF, paths)
    result: dict[int, tuple[str | None, list[int]]] = {}
    for org in orgs:
        result[org.pk] = (None, [])
        for path in reversed(org.ancestor_paths()):
            if staff.get(path):
                result[org.pk] = (path, staff[path])
                break
    return result
