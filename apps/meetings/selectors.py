"""Meeting reads. Everything org-owned goes through apps.accounts.scope; compliance numbers come
from the rollup tables (apps.meetings.rollups), never from scans of raw meetings."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied
from django.db.models import Count, F, Prefetch, Q, QuerySet, Sum
from django.http import Http404
from django.utils import timezone

from apps.accounts.scope import get_scoped_or_404, scoped
from apps.core.periods import Period, PeriodKind, local_date, local_midnight, local_today
from apps.core.rules import rule_value
from apps.meetings import rollups, rules
from apps.meetings.models import (
    ALL_KINDS,
    PRESENT_STATUSES,
    Appraisal,
    Attendance,
    BranchPeriodStat,
    Exemption,
    Meeting,
    MeetingFlag,
    MeetingState,
    OrgPeriodStat,
    RollupDirty,
)
from apps.organizations.models import Org


def meetings_visible_to(user, capability: str = "view") -> QuerySet[Meeting]:
    return scoped(
        Meeting.objects.select_related("branch", "party_group"),
        user,
        path_field="branch__path",
        capability=capability,
    )


def meeting_for(user, pk, capability: str = "view") -> Meeting:
    """The meeting with full access if it lies in the user's `view` scope (404 otherwise); 403
    when seen but `capability` is missing. A meeting the user sees only as an expected attendee
    (`self` scope, see `meeting_read`) answers 403 here: visible, but not this part of it."""
    from apps.accounts.scope import require

    try:
        meeting = get_scoped_or_404(
            Meeting.objects.select_related("branch", "party_group"),
            user,
            path_field="branch__path",
            pk=pk,
        )
    except Http404:
        if str(pk).isdigit() and meetings_attended_by(user).filter(pk=int(pk)).exists():
            raise PermissionDenied("没有权限执行此操作。") from None
        raise
    require(user, capability, meeting.branch)
    return meeting


def member_record_of(user):
    """The member record linked to the user's account (None when there is none)."""
    from apps.members.models import Member

    if not getattr(user, "is_authenticated", False):
        return None
    return Member.objects.filter(user=user).select_related("branch").first()


def meetings_attended_by(user) -> QuerySet[Meeting]:
    """The `self` scope of meetings: those where the user's own member record is an expected
    attendee (planned, held or cancelled), in any branch. Nothing else."""
    member = member_record_of(user)
    if member is None:
        return Meeting.objects.none()
    return Meeting.objects.select_related("branch", "party_group").filter(
        pk__in=Attendance.objects.filter(member=member).values("meeting_id")
    )


def meeting_read(user, pk) -> tuple[Meeting, bool]:
    """A meeting for reading: (meeting, full). `full` is True when the meeting lies in the
    user's `view` scope; False when the user sees it only as an expected attendee (read-only,
    own attendance only). Neither: 404 like a missing id."""
    try:
        return get_scoped_or_404(
            Meeting.objects.select_related("branch", "party_group"),
            user,
            path_field="branch__path",
            pk=pk,
        ), True
    except Http404:
        pass
    try:
        return meetings_attended_by(user).get(pk=int(pk)), False
    except (Meeting.DoesNotExist, TypeError, ValueError):
        raise Http404("未找到。") from None


def own_attendance(meeting: Meeting, user) -> Attendance | None:
    member = member_record_of(user)
    if member is None:
        return None
    return Attendance.objects.filter(meeting=meeting, member=member).first()


def my_meetings(
    user, *, start: dt.datetime | None = None, end: dt.datetime | None = None
) -> list[tuple[Meeting, Attendance]]:
    """The user's own meetings (as an expected attendee) with their attendance row, by start."""
    member = member_record_of(user)
    if member is None:
        return []
    qs = Attendance.objects.filter(member=member).select_related(
        "meeting", "meeting__branch", "meeting__party_group"
    )
    if start is not None:
        qs = qs.filter(meeting__starts_at__gte=start)
    if end is not None:
        qs = qs.filter(meeting__starts_at__lt=end)
    return [(a.meeting, a) for a in qs.order_by("meeting__starts_at", "meeting_id")]


def meeting_detail(meeting: Meeting) -> Meeting:
    return (
        Meeting.objects.select_related(
            "branch", "party_group", "host", "recorder", "lecturer", "reviewed_by"
        )
        .prefetch_related(
            Prefetch(
                "attendances",
                queryset=Attendance.objects.select_related("member").order_by(
                    "member__name", "member_id"
                ),
            ),
            "guests",
            "votes",
            "attachments",
            "versions",
            Prefetch(
                "flags", queryset=MeetingFlag.objects.select_related("other", "other__branch")
            ),
            Prefetch(
                "appraisals",
                queryset=Appraisal.objects.select_related("member").order_by("member__name"),
            ),
            "criticism_notes__member",
        )
        .get(pk=meeting.pk)
    )


@dataclass
class SheetRow:
    """One person on the 民主评议 or 批评与自我批评 sheet of a meeting."""

    member: object
    probationary: bool
    grade: str = ""
    comment: str = ""
    self_criticism: str = ""
    criticism_received: str = ""


def meeting_sheet(meeting: Meeting) -> list[SheetRow]:
    """The party members expected at the meeting (预备 and 正式 in good standing), with their
    recorded 民主评议 grade and 批评与自我批评 notes. `meeting` comes from `meeting_detail`."""
    from apps.members.models import MEMBER_STATUSES, PROBATIONARY_STATUSES

    grades = {a.member_id: a for a in meeting.appraisals.all()}
    notes = {c.member_id: c for c in meeting.criticism_notes.all()}
    rows = []
    for a in meeting.attendances.all():
        m = a.member
        if m.status not in MEMBER_STATUSES and m.pk not in grades and m.pk not in notes:
            continue
        g, c = grades.get(m.pk), notes.get(m.pk)
        rows.append(
            SheetRow(
                member=m,
                probationary=m.status in PROBATIONARY_STATUSES,
                grade=g.grade if g else "",
                comment=g.comment if g else "",
                self_criticism=c.self_criticism if c else "",
                criticism_received=c.criticism_received if c else "",
            )
        )
    return rows


def flags_for_viewer(user, meeting: Meeting) -> list[MeetingFlag]:
    """The meeting's 纸上党建 flags as `user` may read them: the other meeting of a similarity
    flag (its branch, title, date, id) only when it lies in the user's scope; otherwise the
    flag says only that another organisation holds a nearly identical record.
    Sets `other_visible` and `shown_detail` on each flag. `meeting` comes from `meeting_detail`."""
    flags = list(meeting.flags.all())
    other_ids = {f.other_id for f in flags if f.other_id}
    visible = (
        set(meetings_visible_to(user).filter(pk__in=other_ids).values_list("pk", flat=True))
        if other_ids
        else set()
    )
    for f in flags:
        f.other_visible = f.other_id in visible
        if f.other_id and not f.other_visible:
            f.shown_detail = "与其他组织的一条记录高度相似"
        else:
            f.shown_detail = f.detail
    return flags


def meetings_in_month(branch: Org, month: Period) -> list[Meeting]:
    return list(
        Meeting.objects.filter(
            branch=branch, starts_at__gte=month.start_at, starts_at__lt=month.end_at
        )
        .exclude(state=MeetingState.CANCELLED)
        .order_by("starts_at", "id")
    )


def meetings_due_for_reminder(
    *, now: dt.datetime | None = None, within: dt.timedelta = dt.timedelta(days=1)
) -> QuerySet[Meeting]:
    """Planned meetings starting in (now, now + within]: for the notifications sweeper."""
    now = now or timezone.now()
    return Meeting.objects.filter(
        state=MeetingState.PLANNED, starts_at__gt=now, starts_at__lte=now + within
    ).select_related("branch")


def meetings_awaiting_record(
    *, now: dt.datetime | None = None, after_days: int = 3
) -> QuerySet[Meeting]:
    """Planned meetings that ended `after_days` or more ago and still have no record."""
    cutoff = (now or timezone.now()) - dt.timedelta(days=after_days)
    return Meeting.objects.filter(state=MeetingState.PLANNED, ends_at__lte=cutoff).select_related(
        "branch"
    )


def meetings_planned_between(*, start: dt.datetime, end: dt.datetime) -> QuerySet[Meeting]:
    """Planned (not yet recorded) meetings starting in [start, end): for the notifications
    sweeper's "still unrecorded" reminder."""
    return Meeting.objects.filter(
        state=MeetingState.PLANNED, starts_at__gte=start, starts_at__lt=end
    ).select_related("branch", "host")


def meeting_attendee_user_ids(meeting_ids) -> dict[int, list[int]]:
    """{meeting id: ids of the active user accounts of its expected attendees} (attendance rows
    not excluded from the expected count, whose member has an account)."""
    out: dict[int, list[int]] = {}
    rows = (
        Attendance.objects.filter(
            meeting_id__in=list(meeting_ids),
            excluded_from_expected=False,
            member__user__isnull=False,
            member__user__is_active=True,
        )
        .order_by("meeting_id", "member__user_id")
        .values_list("meeting_id", "member__user_id")
    )
    for meeting_id, user_id in rows:
        out.setdefault(meeting_id, []).append(user_id)
    return out


def compliance_gaps(
    *, window: Period, today: dt.date | None = None, branch_ids: list[int] | None = None
) -> dict[int, list[rollups.RequirementResult]]:
    """{branch id: requirements of `window`'s own kind (a monthly rule for a month ...) neither
    met nor exempt in `window`}, for every branch (or `branch_ids`), read from the branch
    rollup (layer 2) with a fixed number of queries: the notifications compliance reminders."""
    today = today or local_today()
    requirements = [r for r in rollups.active_requirements() if r.period == window.kind]
    if not requirements:
        return {}
    branches = rollups.load_branches(window=window, branch_ids=branch_ids)
    if not branches:
        return {}
    org_ids = None
    if branch_ids is not None:
        org_ids = [b.id for b in branches] + [g for b in branches for g in b.group_ids]
    stats = rollups.load_stats(
        keys=rollups.needed_keys(requirements, window) | {window.key}, org_ids=org_ids
    )
    exemptions = rollups.load_exemptions(window=window, branch_ids=branch_ids)
    due_soon = int(rule_value("meetings.due_soon_days"))
    out = {}
    for branch in branches:
        gaps = [
            r
            for r in rollups.evaluate_branch(
                branch,
                requirements=requirements,
                window=window,
                stats=stats,
                exemptions=exemptions,
                today=today,
                due_soon_days=due_soon,
            )
            if r.status not in (rules.MET, rules.EXEMPT)
        ]
        if gaps:
            out[branch.id] = gaps
    return out


def review_queue(
    user,
    *,
    state: str | None = MeetingState.SUBMITTED,
    flagged: bool | None = None,
    kind: str | None = None,
    org: Org | None = None,
) -> QuerySet[Meeting]:
    """Records across the user's subtree for superiors, newest first, with their flags."""
    qs = meetings_visible_to(user).exclude(state=MeetingState.CANCELLED)
    if state:
        qs = qs.filter(state=state)
    if kind:
        qs = qs.filter(kinds__contains=[kind])
    if org is not None:
        qs = qs.filter(branch__path__startswith=org.path)
    if flagged is not None:
        qs = (
            qs.filter(flags__isnull=not flagged).distinct()
            if flagged
            else qs.filter(flags__isnull=True)
        )
    return (
        qs.annotate(flag_count=Count("flags"))
        .prefetch_related("flags")
        .order_by("-starts_at", "-id")
    )


def exemptions_visible_to(
    user, *, org: Org | None = None, period_key: str = ""
) -> QuerySet[Exemption]:
    """Exemptions of the branches in the user's `view` scope (and `org`'s subtree), newest
    period first, with the approver."""
    qs = scoped(
        Exemption.objects.select_related("branch", "approved_by"),
        user,
        path_field="branch__path",
    )
    if org is not None:
        qs = qs.filter(branch__path__startswith=org.path)
    if period_key:
        qs = qs.filter(period_key=period_key)
    return qs.order_by("-period_key", "branch__path", "kind", "id")


@dataclass
class ElectionContest:
    contest: str
    seats: int
    candidates: list  # VoteItem, highest votes first
    valid: bool

    @property
    def elected(self) -> list:
        return [c for c in self.candidates if c.passed]

    @property
    def runoff(self) -> list:
        return [c for c in self.candidates if c.runoff]

    @property
    def unfilled(self) -> int:
        return max(0, self.seats - len(self.elected))


def election_contests(meeting: Meeting) -> list[ElectionContest]:
    """The meeting's elections grouped per contest: who is elected, who is tied at the cut-off
    (a further round is needed) and how many seats stay unfilled."""
    groups: dict[str, list] = {}
    for v in meeting.votes.all():
        if v.kind == "election":
            groups.setdefault(v.contest, []).append(v)
    return [
        ElectionContest(
            contest=name,
            seats=items[0].seats,
            candidates=sorted(items, key=lambda v: (-v.yes, v.id or 0)),
            valid=items[0].quorum_met,
        )
        for name, items in groups.items()
    ]


# --- compliance -----------------------------------------------------------------------------------


@dataclass
class BranchCompliance:
    branch: Org
    period: Period
    state: str
    results: list[rollups.RequirementResult]
    compliant: bool
    meeting_count: int
    expected: int
    present: int
    leave: int

    @property
    def state_label(self) -> str:
        return rules.STATE_LABELS[self.state]

    @property
    def attendance_rate(self) -> float | None:
        return self.present / self.expected if self.expected else None


def compliance_for_branch(
    branch: Org, period: Period, *, today: dt.date | None = None
) -> BranchCompliance:
    """Each requirement met / due soon / overdue for one branch in a month, quarter or year,
    read from the branch rollup (a handful of rows)."""
    today = today or local_today()
    requirements = rollups.active_requirements()
    infos = rollups.load_branches(window=period, branch_ids=[branch.pk])
    if not infos:  # founded after / abolished before the period
        return BranchCompliance(branch, period, rules.STATE_GREEN, [], True, 0, 0, 0, 0)
    info = infos[0]
    stats = rollups.load_stats(
        keys=rollups.needed_keys(requirements, period) | {period.key},
        org_ids=[branch.pk, *info.group_ids],
    )
    results = rollups.evaluate_branch(
        info,
        requirements=requirements,
        window=period,
        stats=stats,
        exemptions=rollups.load_exemptions(window=period, branch_ids=[branch.pk]),
        today=today,
        due_soon_days=int(rule_value("meetings.due_soon_days")),
    )
    statuses = [r.status for r in results]
    total = BranchPeriodStat.objects.filter(
        org=branch, period_key=period.key, kind=ALL_KINDS
    ).first()
    return BranchCompliance(
        branch=branch,
        period=period,
        state=rules.state_of(statuses),
        results=results,
        compliant=all(rules.is_ok(s) for s in statuses),
        meeting_count=total.meeting_count if total else 0,
        expected=total.expected if total else 0,
        present=total.present if total else 0,
        leave=total.leave if total else 0,
    )


def _ensure_org_stats(period: Period) -> None:
    if period.kind == PeriodKind.MONTH:
        raise ValueError("subtree compliance is kept per quarter and per year")
    if not OrgPeriodStat.objects.filter(period_key=period.key).exists():
        rollups.org_stats_refresh(period)


@dataclass
class SubtreeRow:
    org_id: int
    name: str
    org_type: str
    path: str
    branch_count: int
    compliant_count: int
    green: int
    yellow: int
    red: int
    meeting_count: int
    expected: int
    present: int
    per_kind: dict

    @property
    def compliant_share(self) -> float | None:
        return self.compliant_count / self.branch_count if self.branch_count else None

    @property
    def attendance_rate(self) -> float | None:
        return self.present / self.expected if self.expected else None

    def kind_share(self, kind: str) -> float | None:
        pk = self.per_kind.get(kind)
        return pk["ok"] / pk["applicable"] if pk and pk["applicable"] else None


def _row(stat: OrgPeriodStat, org: Org) -> SubtreeRow:
    return SubtreeRow(
        org_id=org.pk,
        name=org.name,
        org_type=org.org_type,
        path=stat.path,
        branch_count=stat.branch_count,
        compliant_count=stat.compliant_count,
        green=stat.green,
        yellow=stat.yellow,
        red=stat.red,
        meeting_count=stat.meeting_count,
        expected=stat.expected,
        present=stat.present,
        per_kind=stat.per_kind,
    )


@dataclass
class SubtreeCompliance:
    org: Org
    period: Period
    total: SubtreeRow | None
    children: list[SubtreeRow]
    refreshed_at: dt.datetime | None
    stale: bool


def compliance_for_subtree(org: Org, period: Period) -> SubtreeCompliance:
    """The org's own totals and one row per direct child (share of fully compliant branches per
    kind and overall, attendance) from the tree rollup: a few rows by parent id."""
    if period.kind == PeriodKind.MONTH:
        raise ValueError("subtree compliance is kept per quarter and per year")

    def read():  # the org's own row and its children's in one query
        rows = list(
            OrgPeriodStat.objects.filter(
                Q(org=org) | Q(parent_id_copy=org.pk), period_key=period.key
            )
            .select_related("org")
            .order_by("path")
        )
        own = next((r for r in rows if r.org_id == org.pk), None)
        return own, [r for r in rows if r.org_id != org.pk]

    own, stats = read()
    if own is None and not OrgPeriodStat.objects.filter(period_key=period.key).exists():
        _ensure_org_stats(period)
        own, stats = read()
    return SubtreeCompliance(
        org=org,
        period=period,
        total=_row(own, org) if own else None,
        children=[_row(s, s.org) for s in stats],
        refreshed_at=own.refreshed_at if own else None,
        stale=RollupDirty.objects.filter(period_key=period.key).exists(),
    )


def compliance_for_branches(
    branches: list[Org], period: Period, *, today: dt.date | None = None
) -> list[BranchCompliance]:
    """`compliance_for_branch` for many branches with a fixed number of queries (layer 2
    rollup rows, exemptions, settings), in the order given."""
    today = today or local_today()
    if not branches:
        return []
    requirements = rollups.active_requirements()
    ids = [b.pk for b in branches]
    infos = {i.id: i for i in rollups.load_branches(window=period, branch_ids=ids)}
    org_ids = [*ids, *(g for i in infos.values() for g in i.group_ids)]
    stats = rollups.load_stats(
        keys=rollups.needed_keys(requirements, period) | {period.key}, org_ids=org_ids
    )
    exemptions = rollups.load_exemptions(window=period, branch_ids=ids)
    totals = {
        t.org_id: t
        for t in BranchPeriodStat.objects.filter(
            org_id__in=ids, period_key=period.key, kind=ALL_KINDS
        )
    }
    due_soon = int(rule_value("meetings.due_soon_days"))
    out = []
    for branch in branches:
        info = infos.get(branch.pk)
        if info is None:  # founded after / abolished before the period
            out.append(BranchCompliance(branch, period, rules.STATE_GREEN, [], True, 0, 0, 0, 0))
            continue
        results = rollups.evaluate_branch(
            info,
            requirements=requirements,
            window=period,
            stats=stats,
            exemptions=exemptions,
            today=today,
            due_soon_days=due_soon,
        )
        statuses = [r.status for r in results]
        total = totals.get(branch.pk)
        out.append(
            BranchCompliance(
                branch=branch,
                period=period,
                state=rules.state_of(statuses),
                results=results,
                compliant=all(rules.is_ok(s) for s in statuses),
                meeting_count=total.meeting_count if total else 0,
                expected=total.expected if total else 0,
                present=total.present if total else 0,
                leave=total.leave if total else 0,
            )
        )
    return out


def overdue_requirements(org: Org, period: Period, *, limit: int = 200) -> list[BranchCompliance]:
    """The branches of the subtree in the red state (from the tree rollup), each with its
    overdue requirements (evaluated from the branch rollup in one batch)."""
    from apps.organizations.models import BRANCH_TYPES

    _ensure_org_stats(period)
    branches = [
        s.org
        for s in OrgPeriodStat.objects.filter(
            period_key=period.key,
            path__startswith=org.path,
            branch_count=1,
            red=1,
            org__org_type__in=BRANCH_TYPES,
        )
        .select_related("org")
        .order_by("path")[:limit]
    ]
    out = compliance_for_branches(branches, period)
    for c in out:
        c.results = [r for r in c.results if r.status == rules.OVERDUE]
    return out


@dataclass
class AttendanceRate:
    expected: int
    present: int
    leave: int

    @property
    def rate(self) -> float | None:
        return self.present / self.expected if self.expected else None


def attendance_rate(*, period: Period, branch: Org | None = None, member=None) -> AttendanceRate:
    """Attendance over counted meetings in a period: per branch (from the rollup) or per
    member (from the member's own attendance rows, ~100 a year)."""
    if branch is not None:
        row = BranchPeriodStat.objects.filter(
            org=branch, period_key=period.key, kind=ALL_KINDS
        ).first()
        return (
            AttendanceRate(row.expected, row.present, row.leave) if row else AttendanceRate(0, 0, 0)
        )
    if member is not None:
        from apps.meetings.models import COUNTED_STATES

        agg = Attendance.objects.filter(
            member=member,
            excluded_from_expected=False,
            meeting__state__in=COUNTED_STATES,
            meeting__starts_at__gte=period.start_at,
            meeting__starts_at__lt=period.end_at,
        ).aggregate(
            expected=Count("id"),
            present=Count("id", filter=Q(status__in=PRESENT_STATUSES)),
            leave=Count("id", filter=Q(status="leave")),
        )
        return AttendanceRate(agg["expected"], agg["present"], agg["leave"])
    raise ValueError("attendance_rate needs a branch or a member")


def attendance_by_member(branch: Org, period: Period) -> list[dict]:
    """Per-member attendance for one branch and period (its own attendance rows)."""
    from apps.meetings.models import COUNTED_STATES

    rows = (
        Attendance.objects.filter(
            meeting__branch=branch,
            excluded_from_expected=False,
            meeting__state__in=COUNTED_STATES,
            meeting__starts_at__gte=period.start_at,
            meeting__starts_at__lt=period.end_at,
        )
        .values("member_id", "member__name")
        .annotate(
            expected=Count("id"),
            present=Count("id", filter=Q(status__in=PRESENT_STATUSES)),
            leave=Count("id", filter=Q(status="leave")),
        )
        .order_by("member__name")
    )
    return [dict(r, rate=(r["present"] / r["expected"]) if r["expected"] else None) for r in rows]


def appraisals_for_member(member) -> list[dict]:
    """民主评议 results for the member's timeline (newest first)."""
    rows = (
        Appraisal.objects.filter(member=member)
        .exclude(meeting__state=MeetingState.CANCELLED)
        .select_related("meeting")
        .order_by("-meeting__starts_at")
    )
    return [
        {
            "date": r.meeting.starts_at,
            "meeting_id": r.meeting_id,
            "title": r.meeting.title,
            "grade": r.grade,
            "grade_label": r.get_grade_display() if r.grade else "参加评议（预备党员不评定等次）",
            "comment": r.comment,
        }
        for r in rows
    ]


def appraisal_timeline_entries(*, member) -> list[tuple[dt.date, str, str]]:
    """民主评议 results for `apps.members.selectors.member_timeline`: (date, title, detail) per
    reported (submitted or accepted) appraisal meeting, newest first. 预备党员 take part
    without a grade (不评定等次)."""
    rows = (
        Appraisal.objects.filter(
            member=member, meeting__state__in=[MeetingState.SUBMITTED, MeetingState.ACCEPTED]
        )
        .select_related("meeting")
        .order_by("-meeting__starts_at", "-meeting_id")
    )
    return [
        (
            local_date(r.meeting.starts_at),
            f"民主评议：{r.get_grade_display() if r.grade else '参加评议（不评定等次）'}",
            " · ".join(x for x in (r.meeting.title, r.comment) if x),
        )
        for r in rows
    ]


# --- facts for responsibility assessments (apps/assessments/sources.py) -------------------------


@dataclass
class MissedPeriod:
    """One judged period in which a requirement was not met (and not exempt)."""

    requirement: str
    period_key: str  # 2026-03 / 2026-Q1 / 2026
    label: str  # 2026年3月
    count: int


@dataclass
class MeetingRow:
    id: int
    branch_id: int
    title: str
    kinds: list[str]
    date: dt.date
    expected: int = 0
    present: int = 0
    note: str = ""


@dataclass
class BranchMeetingFacts:
    """What the meetings records say about one branch between 1 January and a cut-off."""

    missed: dict[str, list[MissedPeriod]] = field(default_factory=dict)  # kind -> periods
    applicable: set[str] = field(default_factory=set)  # kinds with a requirement that applies
    exempt: dict[str, str] = field(default_factory=dict)  # yearly kind -> "免于考核"
    held: dict[str, list[MeetingRow]] = field(default_factory=dict)  # yearly kinds
    expected: int = 0
    present: int = 0
    absences: list[MeetingRow] = field(default_factory=list)  # meetings with absentees
    returned: list[MeetingRow] = field(default_factory=list)


YEARLY_KINDS = ("secretary_lecture", "org_life_meeting", "member_appraisal", "talk")


def meeting_facts_for_assessment(
    *, branch_ids: list[int], year: int, cutoff: dt.date
) -> dict[int, BranchMeetingFacts]:
    """Meeting facts for a batch of branches as of `cutoff` (inclusive) within `year`, in a fixed
    number of queries however many branches. The caller has already scoped `branch_ids` (the
    assessments service passes the branches of a cycle it authorised).

    - missed periods per kind: the meetings app's own requirement evaluation
      (`rollups.evaluate_branch` over the branch rollup) with every period that ended on or
      before the cut-off judged; a period still running at the cut-off is not judged;
    - yearly kinds held (书记讲党课, 组织生活会, 民主评议, 谈心谈话): the counted meetings held
      from 1 January to the cut-off;
    - attendance: expected / present over counted meetings in the same stretch (rollup month
      rows for whole months, the meetings themselves for the cut-off's month);
    - returned records: meetings of the branch returned by the superior in the stretch (the
      `meeting_return` audit entries, and records still in the returned state).
    """
    from apps.core.models import AuditEntry
    from apps.meetings.models import COUNTED_STATES

    out = {bid: BranchMeetingFacts() for bid in branch_ids}
    if not branch_ids:
        return out
    window = Period.year_of(year)
    start = window.start
    end = min(cutoff, window.end)
    if end < start:
        return out
    judge_day = end + dt.timedelta(days=1)  # periods ending on the cut-off day are judged

    # 1. requirement evaluation from the branch rollup
    requirements = rollups.active_requirements()
    infos = rollups.load_branches(window=window, branch_ids=list(branch_ids))
    org_ids = [i.id for i in infos] + [g for i in infos for g in i.group_ids]
    stats = rollups.load_stats(
        keys=rollups.needed_keys(requirements, window) | {window.key}, org_ids=org_ids
    )
    exemptions = rollups.load_exemptions(window=window, branch_ids=list(branch_ids))
    for info in infos:
        facts = out[info.id]
        for r in rollups.evaluate_branch(
            info,
            requirements=requirements,
            window=window,
            stats=stats,
            exemptions=exemptions,
            today=judge_day,
            due_soon_days=0,
        ):
            facts.applicable.add(r.kind)
            keys = [p.key for p in rules.sub_periods(r.period, window)]
            for key, (label, status, count) in zip(keys, r.details, strict=True):
                if status == rules.OVERDUE:
                    facts.missed.setdefault(r.kind, []).append(
                        MissedPeriod(r.name, key, label, count)
                    )
                elif status == rules.EXEMPT and r.period == "year":
                    facts.exempt[r.kind] = "已批准免于考核"

    # 2. yearly kinds held, with the meetings behind them
    window_q = Q(
        branch_id__in=branch_ids,
        state__in=COUNTED_STATES,
        starts_at__gte=local_midnight(start),
        starts_at__lt=local_midnight(judge_day),
    )
    for m in (
        Meeting.objects.filter(window_q, kinds__overlap=list(YEARLY_KINDS))
        .order_by("starts_at", "id")
        .values("id", "branch_id", "title", "kinds", "starts_at")
    ):
        row = MeetingRow(
            m["id"], m["branch_id"], m["title"], m["kinds"], local_date(m["starts_at"])
        )
        for kind in set(m["kinds"]) & set(YEARLY_KINDS):
            out[m["branch_id"]].held.setdefault(kind, []).append(row)

    # 3. attendance: whole months from the rollup ("all" kind, branch rows), the rest raw
    months = [p for p in window.months() if p.end <= end]
    month_keys = [p.key for p in months]
    for org_id, expected, present in BranchPeriodStat.objects.filter(
        org_id__in=branch_ids, kind=ALL_KINDS, period_key__in=month_keys
    ).values_list("org_id", "expected", "present"):
        out[org_id].expected += expected
        out[org_id].present += present
    rest_start = months[-1].end + dt.timedelta(days=1) if months else start
    if rest_start <= end:
        for row in (
            Meeting.objects.filter(
                branch_id__in=branch_ids,
                state__in=COUNTED_STATES,
                starts_at__gte=local_midnight(rest_start),
                starts_at__lt=local_midnight(judge_day),
            )
            .values("branch_id")
            .annotate(e=Sum("expected_count"), p=Sum("present_count"))
        ):
            out[row["branch_id"]].expected += row["e"] or 0
            out[row["branch_id"]].present += row["p"] or 0
    for m in (
        Meeting.objects.filter(window_q, present_count__lt=F("expected_count"))
        .order_by("branch_id", F("present_count") - F("expected_count"), "starts_at")
        .values("id", "branch_id", "title", "kinds", "starts_at", "expected_count", "present_count")
    ):
        facts = out[m["branch_id"]]
        if len(facts.absences) < 50:
            facts.absences.append(
                MeetingRow(
                    m["id"],
                    m["branch_id"],
                    m["title"],
                    m["kinds"],
                    local_date(m["starts_at"]),
                    m["expected_count"],
                    m["present_count"],
                )
            )

    # 4. records returned by the superior in the stretch (by the date of the return)
    returned_at: dict[int, tuple[dt.datetime, str]] = {}
    span = (local_midnight(start), local_midnight(judge_day))
    for object_id, at, reason in AuditEntry.objects.filter(
        verb="meeting_return",
        object_type=Meeting._meta.label_lower,
        org_id__in=branch_ids,
        at__gte=span[0],
        at__lt=span[1],
    ).values_list("object_id", "at", "reason"):
        returned_at.setdefault(int(object_id), (at, reason))
    for mid, at, comment in Meeting.objects.filter(
        branch_id__in=branch_ids,
        state=MeetingState.RETURNED,
        reviewed_at__gte=span[0],
        reviewed_at__lt=span[1],
    ).values_list("id", "reviewed_at", "review_comment"):
        returned_at.setdefault(mid, (at, comment))
    if returned_at:
        for m in (
            Meeting.objects.filter(pk__in=list(returned_at), branch_id__in=branch_ids)
            .order_by("starts_at", "id")
            .values("id", "branch_id", "title", "kinds", "starts_at")
        ):
            at, comment = returned_at[m["id"]]
            out[m["branch_id"]].returned.append(
                MeetingRow(
                    m["id"],
                    m["branch_id"],
                    m["title"],
                    m["kinds"],
                    local_date(m["starts_at"]),
                    note=f"{local_date(at)} 被退回" + (f"：{comment}" if comment else ""),
                )
            )
    return out


# --- dashboard reads (apps/dashboards): a fixed number of queries whatever the subtree ----------


def compliance_history(org: Org, periods: list[Period]) -> dict[str, SubtreeRow]:
    """The org's own tree-rollup row for each of `periods` that has been computed (keyed by
    period key; periods never computed are left out, nothing is refreshed here)."""
    stats = OrgPeriodStat.objects.filter(org=org, period_key__in=[p.key for p in periods])
    return {s.period_key: _row(s, org) for s in stats}


def attention_records(period: Period) -> QuerySet[Meeting]:
    """Every meeting record of `period` (whole tree) that was returned (退回) or carries a 纸上
    党建 flag, with its branch and flags; cancelled and planned meetings are left out. Batch use
    (the dashboards' rollup of returned and flagged records), not per request."""
    flagged = (
        MeetingFlag.objects.filter(
            meeting__starts_at__gte=period.start_at, meeting__starts_at__lt=period.end_at
        )
        .exclude(meeting__state__in=[MeetingState.CANCELLED, MeetingState.PLANNED])
        .values("meeting_id")
    )
    return (
        Meeting.objects.filter(starts_at__gte=period.start_at, starts_at__lt=period.end_at)
        .filter(Q(state=MeetingState.RETURNED) | Q(pk__in=flagged))
        .select_related("branch")
        .prefetch_related("flags")
        .order_by("starts_at", "id")
    )
