"""Reads of the organization tree. Everything a user sees goes through the scoping door
(apps.accounts.scope); path prefixes are always passed as literals (performance.md §2)."""

from __future__ import annotations

import datetime as dt

from django.db import connection
from django.db.models import Count, Q, QuerySet

from apps.accounts import scope
from apps.organizations.models import (
    BRANCH_TYPES,
    CommitteePosition,
    Org,
    OrgParentLink,
    Position,
    Term,
    TermState,
)
from apps.organizations.warnings import Warning, org_warnings, subtree_warnings


def org_subtree(*, user, org: Org, include_self: bool = True, capability: str = "view") -> QuerySet:
    """The visible part of `org`'s subtree, in path order."""
    qs = scope.orgs_visible_to(user, capability).filter(path__startswith=org.path)
    return qs if include_self else qs.exclude(pk=org.pk)


def org_roots_for(*, user) -> QuerySet:
    """The top nodes a user may browse: the orgs of their grants (minimal set) or, for the
    unrestricted, the tree's roots."""
    s = scope.scope_of(user)
    if s.unrestricted:
        return Org.objects.filter(depth=1)
    paths = set(s.paths.get("view", ()))
    q = Q(path__in=paths) | Q(pk__in=s.member_org_ids)
    return Org.objects.filter(q).order_by("path")


def org_children(*, user, org: Org, include_abolished: bool = False) -> list[Org]:
    """The visible children of `org`, each with `member_count` (direct party members of a
    branch) and `child_count` (active children). Two queries whatever the number of children."""
    from apps.members.models import MEMBER_STATUSES, Member

    qs = scope.orgs_visible_to(user).filter(parent=org)
    if not include_abolished:
        qs = qs.filter(abolished_on__isnull=True)
    children = list(
        qs.annotate(child_count=Count("children", filter=Q(children__abolished_on__isnull=True)))
    )
    branch_ids = [c.pk for c in children if c.org_type in BRANCH_TYPES]
    counts = (
        dict(
            Member.objects.filter(branch_id__in=branch_ids, status__in=MEMBER_STATUSES)
            .values("branch_id")
            .annotate(n=Count("id"))
            .order_by()
            .values_list("branch_id", "n")
        )
        if branch_ids
        else {}
    )
    for child in children:
        child.member_count = counts.get(child.pk, 0) if child.org_type in BRANCH_TYPES else None
    return children


def org_search(
    *, user, query: str, capability: str = "view", limit: int = 30, within: Org | None = None
) -> list[Org]:
    """Orgs whose name contains `query` or whose code starts with it, within the user's scope."""
    query = (query or "").strip()
    if not query:
        return []
    qs = scope.orgs_visible_to(user, capability).filter(
        Q(name__icontains=query) | Q(code__istartswith=query)
    )
    if within is not None:
        qs = qs.filter(path__startswith=within.path)
    return list(qs.filter(abolished_on__isnull=True).order_by("depth", "path")[:limit])


def org_breadcrumb(*, user, org: Org) -> list[Org]:
    """The visible ancestors of `org`, root first (the path's slices: one query)."""
    paths = org.ancestor_paths()
    if not paths:
        return []
    return list(scope.orgs_visible_to(user).filter(path__in=paths).order_by("depth"))


def org_positions(*, org: Org, current_only: bool = True) -> list[CommitteePosition]:
    """Positions of an org, 书记 first (in the order of `Position`), then by start date."""
    qs = CommitteePosition.objects.filter(org=org).select_related("member")
    if current_only:
        qs = qs.filter(ended_on__isnull=True)
    rank = {value: i for i, value in enumerate(Position.values)}
    return sorted(
        qs, key=lambda p: (p.ended_on is not None, rank.get(p.position, 99), p.started_on, p.pk)
    )


def org_current_term(*, org: Org) -> Term | None:
    return Term.objects.filter(org=org).exclude(state=TermState.CLOSED).first()


def org_terms(*, org: Org) -> QuerySet:
    return Term.objects.filter(org=org).order_by("-number")


def org_parent_history(*, org: Org) -> QuerySet:
    return (
        OrgParentLink.objects.filter(org=org).select_related("parent").order_by("valid_from", "id")
    )


def warnings_for_org(*, org: Org, today: dt.date) -> list[Warning]:
    return org_warnings(org, today=today)


def warnings_for_subtree(*, user, org: Org, today: dt.date) -> list[tuple[Org, list[Warning]]]:
    """Warnings across the visible subtree of `org`: a constant number of queries."""
    return subtree_warnings(org_subtree(user=user, org=org), prefix=org.path, today=today)


# --- the tree as it was ------------------------------------------------------------------

_AS_OF_SQL = """
WITH RECURSIVE sub(id) AS (
    SELECT %s::bigint
  UNION
    SELECT l.org_id
      FROM organizations_orgparentlink l
      JOIN sub ON l.parent_id = sub.id
     WHERE l.valid_from <= %s AND (l.valid_to IS NULL OR l.valid_to > %s)
)
SELECT id FROM sub
"""


def subtree_as_of(*, org: Org, on: dt.date) -> QuerySet:
    """The orgs that were in `org`'s subtree on day `on`, following the dated parent links
    (OrgParentLink) rather than today's paths: a report for a past quarter sums over the tree
    as it was then. Orgs not yet founded or already abolished on `on` are left out.
    One recursive query over the links (proportional to the subtree), for batch use."""
    with connection.cursor() as cursor:
        cursor.execute(_AS_OF_SQL, [org.pk, on, on])
        ids = [row[0] for row in cursor.fetchall()]
    qs = Org.objects.filter(pk__in=ids).filter(Q(founded_on__isnull=True) | Q(founded_on__lte=on))
    return qs.filter(Q(abolished_on__isnull=True) | Q(abolished_on__gt=on))


def parent_map_as_of(*, on: dt.date) -> dict[int, int | None]:
    """{org_id: parent_id} for every org that existed on day `on` (one query): for batch jobs
    that roll up many subtrees of a past period at once."""
    rows = (
        OrgParentLink.objects.filter(valid_from__lte=on)
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gt=on))
        .values_list("org_id", "parent_id")
    )
    return dict(rows)
