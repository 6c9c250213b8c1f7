"""Setup warnings (DOMAIN §1.1–1.3): hints shown on a node and across a subtree. They never
block a save — the regulations let a superior approve exceptions.

The thresholds are fixed by the regulations (✅ in DOMAIN), so they are constants here, not
editable rules. The computation takes pre-aggregated counts so that a whole subtree costs a
constant number of queries (one per table, grouped by org), never one per node.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Q

from apps.organizations.models import (
    BRANCH_TYPES,
    CommitteePosition,
    Org,
    OrgType,
    Position,
    Term,
    TermState,
)
from apps.organizations.rules import term_status

MIN_FULL_MEMBERS = 3  # 正式党员≥3人应成立支部 (《支部条例》第四条)
COMMITTEE_FROM_FULL_MEMBERS = 7  # 正式党员≥7人应设支部委员会
COMMITTEE_MIN, COMMITTEE_MAX = 3, 7  # 支委会3–5人，一般不超过7人
BRANCH_MAX_MEMBERS = 50  # 党员一般不超过50人
PRIMARY_COMMITTEE_FROM = 100  # 党员100人以上可设基层党委


@dataclass(frozen=True)
class Warning:
    org_id: int
    code: str
    message: str
    level: str = "warning"  # warning / danger


@dataclass
class OrgCounts:
    full: int = 0  # 正式党员
    party: int = 0  # 预备 + 正式
    committee: int = 0  # distinct members holding an open committee position
    secretaries: int = 0
    term: Term | None = None


def warnings_for(org_type: str, org_id: int, counts: OrgCounts, today: dt.date) -> list[Warning]:
    """The warnings of one org from its counts (pure; the thresholds live here)."""
    result: list[Warning] = []

    def add(code: str, message: str, level: str = "warning") -> None:
        result.append(Warning(org_id, code, message, level))

    if org_type in BRANCH_TYPES:
        if counts.full < MIN_FULL_MEMBERS:
            add(
                "few_members",
                f"正式党员不足{MIN_FULL_MEMBERS}人（现有{counts.full}人），应与邻近单位联合组建支部。",
            )
        if counts.full >= COMMITTEE_FROM_FULL_MEMBERS:
            if counts.committee < COMMITTEE_MIN:
                add(
                    "no_committee",
                    f"正式党员{counts.full}人（7人以上）应设支部委员会，现有班子成员{counts.committee}人。",
                )
            elif counts.committee > COMMITTEE_MAX:
                add("committee_size", f"支部委员会{counts.committee}人，一般为3–5人、不超过7人。")
        if counts.party > BRANCH_MAX_MEMBERS:
            if counts.party >= PRIMARY_COMMITTEE_FROM:
                add("too_many_members", f"党员{counts.party}人（100人以上），可报批成立基层党委。")
            else:
                add(
                    "too_many_members",
                    f"党员{counts.party}人（超过50人），可报批成立党总支或分设支部。",
                )
    if org_type != OrgType.PARTY_GROUP and counts.secretaries == 0:
        add("no_secretary", "书记空缺，应及时补选（必要时由上级指派）。", "danger")
    status = term_status(counts.term, today) if counts.term is not None else None
    if status is not None and status.overdue:
        add(
            "term_overdue",
            f"任期已于{counts.term.ends_on:%Y-%m-%d}届满，{status.label}。",
            "danger",
        )
    return result


def counts_for(org_filter: Q, member_filter: Q) -> dict[int, OrgCounts]:
    """Counts per org for the orgs selected by `org_filter` (on Org) — three grouped queries.
    `member_filter` selects the members (on Member) of those orgs' branches."""
    from apps.members.models import MEMBER_STATUSES, Member, MemberStatus

    counts: dict[int, OrgCounts] = {}
    rows = (
        Member.objects.filter(member_filter)
        .values("branch_id")
        .annotate(
            full=Count("id", filter=Q(status=MemberStatus.FULL)),
            party=Count("id", filter=Q(status__in=MEMBER_STATUSES)),
        )
        .order_by()
    )
    for row in rows:
        c = counts.setdefault(row["branch_id"], OrgCounts())
        c.full, c.party = row["full"], row["party"]
    org_ids = Org.objects.filter(org_filter).values("id")
    rows = (
        CommitteePosition.objects.filter(org_id__in=org_ids, ended_on__isnull=True)
        .exclude(position=Position.GROUP_LEADER)
        .values("org_id")
        .annotate(
            committee=Count("member_id", distinct=True),
            secretaries=Count("id", filter=Q(position=Position.SECRETARY)),
        )
        .order_by()
    )
    for row in rows:
        c = counts.setdefault(row["org_id"], OrgCounts())
        c.committee, c.secretaries = row["committee"], row["secretaries"]
    for term in Term.objects.filter(org_id__in=org_ids).exclude(state=TermState.CLOSED):
        counts.setdefault(term.org_id, OrgCounts()).term = term
    return counts


def org_warnings(org: Org, *, today: dt.date) -> list[Warning]:
    if not org.is_active:
        return []
    counts = counts_for(Q(pk=org.pk), Q(branch_id=org.pk))
    return warnings_for(org.org_type, org.pk, counts.get(org.pk, OrgCounts()), today)


def subtree_warnings(orgs, *, prefix: str, today: dt.date) -> list[tuple[Org, list[Warning]]]:
    """Warnings for every active org of `orgs` (a queryset already limited to the subtree under
    `prefix` and to the user's scope): 4 queries whatever the size."""
    orgs = list(
        orgs.filter(abolished_on__isnull=True).only(
            "id", "name", "org_type", "path", "depth", "code"
        )
    )
    counts = counts_for(
        Q(path__startswith=prefix, abolished_on__isnull=True), Q(branch__path__startswith=prefix)
    )
    result = []
    for org in orgs:
        found = warnings_for(org.org_type, org.pk, counts.get(org.pk, OrgCounts()), today)
        if found:
            result.append((org, found))
    return result
