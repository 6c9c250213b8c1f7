"""The one scoping door (STYLE.md #3).

Every query of org-owned data starts here. A user's role grants give capabilities over the
subtree of the granted node. An object outside the user's scope behaves exactly like one that
does not exist: `get_*_or_404` raise Http404; visible but not writable raises PermissionDenied (403).

Capabilities (one module; change them here only):
- view          read org-owned data in the subtree
- branch_write  write branch work (meetings, members, dues, development) in the subtree
- superior      superior-committee actions (accept/return records, approve, assessments)
- reveal        see 身份证号 / phone in full (with a reason; audited)
- admin_tree    create/move/merge/abolish orgs in the subtree
- admin_users   manage users and role grants in the subtree
- admin_rules   edit local-practice rule parameters
- audit_view    read the audit log of the subtree
- self          only one's own member record and the meetings one attends
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404
from django.urls import NoReverseMatch, reverse

from apps.accounts.models import Role

CAPABILITIES: dict[str, frozenset[str]] = {
    Role.SYSADMIN: frozenset({"view", "admin_tree", "admin_users", "admin_rules", "audit_view"}),
    Role.ORG_STAFF: frozenset({"view", "superior", "reveal"}),
    Role.SECRETARY: frozenset({"view", "branch_write", "reveal"}),
    Role.COMMITTEE: frozenset({"view", "branch_write"}),
    Role.MEMBER: frozenset({"self"}),
}
ALL_CAPABILITIES = frozenset().union(*CAPABILITIES.values())


@dataclass(frozen=True)
class Scope:
    user_id: int | None
    unrestricted: bool = False
    # capability -> minimal set of path prefixes (no prefix contained in another)
    paths: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # orgs where the user holds only the 党员 role (own branch: read its basic page)
    member_org_ids: tuple[int, ...] = ()

    def has(self, capability: str) -> bool:
        return self.unrestricted or bool(self.paths.get(capability))

    def covers(self, capability: str, path: str) -> bool:
        if self.unrestricted:
            return True
        return any(path.startswith(prefix) for prefix in self.paths.get(capability, ()))


def _minimal(paths: Iterable[str]) -> tuple[str, ...]:
    result: list[str] = []
    for path in sorted(set(paths)):
        if not any(path.startswith(kept) for kept in result):
            result.append(path)
    return tuple(result)


def scope_of(user) -> Scope:
    """The user's scope, computed once per request (cached on the user object)."""
    cached = getattr(user, "_dj_scope", None)
    if cached is not None:
        return cached
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        scope = Scope(user_id=None)
    elif user.is_superuser:
        scope = Scope(user_id=user.pk, unrestricted=True)
    else:
        by_cap: dict[str, list[str]] = {}
        member_orgs: list[int] = []
        grants = user.grants.select_related("org").filter(org__abolished_on__isnull=True)
        for grant in grants:
            for cap in CAPABILITIES.get(grant.role, ()):
                by_cap.setdefault(cap, []).append(grant.org.path)
            if grant.role == Role.MEMBER:
                member_orgs.append(grant.org_id)
        scope = Scope(
            user_id=user.pk,
            paths={cap: _minimal(paths) for cap, paths in by_cap.items()},
            member_org_ids=tuple(member_orgs),
        )
    with contextlib.suppress(AttributeError):
        user._dj_scope = scope
    return scope


def forget_scope(user) -> None:
    """Drop the cached scope after grants change."""
    if hasattr(user, "_dj_scope"):
        del user._dj_scope


def path_q(user, capability: str = "view", field: str = "path") -> Q:
    """A Q matching rows whose `field` (a path, e.g. "branch__path") lies in the scope.
    Each prefix is passed as a literal so PostgreSQL uses the path index (performance.md §2)."""
    scope = scope_of(user)
    if scope.unrestricted:
        return Q()
    prefixes = scope.paths.get(capability, ())
    if not prefixes:
        return Q(pk__in=[])
    q = Q()
    for prefix in prefixes:
        q |= Q(**{f"{field}__startswith": prefix})
    return q


def scoped(qs: QuerySet, user, *, path_field: str, capability: str = "view") -> QuerySet:
    """Filter any queryset of org-owned rows to the user's scope."""
    return qs.filter(path_q(user, capability, path_field))


def orgs_visible_to(user, capability: str = "view") -> QuerySet:
    from apps.organizations.models import Org

    q = path_q(user, capability, "path")
    scope = scope_of(user)
    if capability == "view" and scope.member_org_ids and not scope.unrestricted:
        q |= Q(pk__in=scope.member_org_ids)
    return Org.objects.filter(q)


def can(user, capability: str, org) -> bool:
    return scope_of(user).covers(capability, org.path)


def can_see(user, org) -> bool:
    scope = scope_of(user)
    return scope.covers("view", org.path) or org.pk in scope.member_org_ids


def require(user, capability: str, org) -> None:
    """404 when the org is not visible at all; 403 when visible but the capability is missing."""
    if not can_see(user, org):
        raise Http404("未找到。")
    if capability != "view" and not can(user, capability, org):
        raise PermissionDenied("没有权限执行此操作。")


def require_capability(user, capability: str) -> None:
    """403 unless the user holds `capability` somewhere (pages that are not about one org)."""
    if not scope_of(user).has(capability):
        raise PermissionDenied("没有权限访问此页面。")


def get_org_or_404(user, pk, capability: str = "view"):
    """The org with `pk` if the user may see it (404 otherwise), checked for `capability`."""
    from apps.organizations.models import Org

    try:
        org = Org.objects.get(pk=int(pk))
    except (Org.DoesNotExist, TypeError, ValueError):
        raise Http404("未找到。") from None
    require(user, capability, org)
    return org


def get_scoped_or_404(qs: QuerySet, user, *, path_field: str, capability: str = "view", **lookup):
    """Fetch one row through the scope; a row outside it is a 404 like a missing id."""
    try:
        return scoped(qs, user, path_field=path_field, capability=capability).get(**lookup)
    except (qs.model.DoesNotExist, ValueError, TypeError):
        raise Http404("未找到。") from None


def scoped_ids(
    qs: QuerySet, user, ids: Iterable, *, path_field: str, capability: str = "view"
) -> list:
    """Validate ids given in a body, filter or bulk action: all must be in scope, else 404."""
    try:
        wanted = {int(i) for i in ids}
    except (TypeError, ValueError):
        raise Http404("未找到。") from None
    found = list(
        scoped(qs.filter(pk__in=wanted), user, path_field=path_field, capability=capability)
    )
    if len(found) != len(wanted):
        raise Http404("未找到。")
    return found


# --- navigation -------------------------------------------------------------------------

NAVIGATION = [
    # (label, url name, bootstrap icon, capability needed: any of)
    ("首页", "accounts:home", "house", {"view", "self", "admin_tree", "admin_users"}),
    ("通知", "notifications:inbox", "bell", {"view", "self", "admin_tree", "admin_users"}),
    ("党组织", "organizations:tree", "diagram-3", {"view"}),
    ("党员", "members:list", "people", {"view"}),
    ("发展党员", "members:pipeline", "person-up", {"view"}),
    ("党费", "members:dues", "cash-coin", {"view"}),
    ("三会一课", "meetings:calendar", "calendar-check", {"view", "self"}),
    ("我的", "members:me", "person-badge", {"self"}),
    ("考核评议", "assessments:home", "clipboard-check", {"view"}),
    ("数据看板", "dashboards:home", "bar-chart", {"view"}),
    ("季度报告", "reports:list", "file-earmark-text", {"view"}),
    ("用户与角色", "accounts:users", "person-gear", {"admin_users"}),
    ("规则参数", "core:rules", "sliders", {"admin_rules"}),
    ("审计日志", "accounts:audit", "journal-text", {"audit_view"}),
    ("后台管理", "admin:index", "gear", {"admin_tree", "admin_users"}),
]


def navigation_for(user) -> list[dict]:
    scope = scope_of(user)
    items = []
    for label, name, icon, caps in NAVIGATION:
        if not any(scope.has(cap) for cap in caps):
            continue
        try:
            url = reverse(name)
        except NoReverseMatch:
            continue  # the page is not built yet
        items.append({"label": label, "url": url, "icon": icon, "name": name})
    return items
