"""Reads for members. Every selector takes the user and goes through the scoping door."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Exists, F, Max, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce, Reverse

from apps.accounts.scope import scoped
from apps.core.periods import Period, add_months, add_years, local_today
from apps.core.rules import rule_value
from apps.members import rules
from apps.members.idcard import normalize
from apps.members.models import (
    MEMBER_STATUSES,
    PROBATIONARY_STATUSES,
    DevelopmentStep,
    DuesBranchMonth,
    DuesMonth,
    ManagementStatus,
    Member,
    MemberStatus,
    PendingItem,
    Step,
    StudyRecord,
    Transfer,
    TransferState,
)
from apps.organizations.models import CommitteePosition, Org

COUNT_CAP = 1000


def members_visible_to(user, capability: str = "view") -> QuerySet[Member]:
    return scoped(Member.objects.all(), user, path_field="branch__path", capability=capability)


def member_search(
    *,
    user,
    org: Org | None = None,
    q: str = "",
    status: str = "",
    occupation: str = "",
    management_status: str = "",
    include_all: bool = False,
) -> QuerySet[Member]:
    """Name prefix, ID-number suffix (≤4 characters; 18 characters = exact match via the keyed
    hash), status and category, inside the user's scope (and `org`'s subtree if given)."""
    # Lists show the masked columns; skip loading (and decrypting) the ciphertexts per row.
    qs = members_visible_to(user).select_related("branch").defer("id_number", "phone")
    if org is not None:
        qs = qs.filter(branch__path__startswith=org.path)
    if not status and not include_all:
        qs = qs.filter(
            status__in=[*MEMBER_STATUSES, MemberStatus.SUSPENDED], transferred_out_on__isnull=True
        )
    elif status:
        qs = qs.filter(status=status)
    if occupation:
        qs = qs.filter(occupation=occupation)
    if management_status:
        qs = qs.filter(management_status=management_status)
    q = (q or "").strip()
    if q:
        text = normalize(q)
        if len(text) == 18 and text[:17].isdigit():
            from apps.core.crypto import blind_index

            qs = qs.filter(id_number_hash=blind_index("id_number", text))
        elif (
            text[:1].isdigit()
            and len(text) <= 4
            and (text[:-1].isdigit() and text[-1:] in "0123456789X")
        ):
            qs = qs.annotate(id_rev=Reverse("id_number_masked")).filter(
                id_rev__startswith=text[::-1]
            )
        else:
            qs = qs.filter(name__startswith=q)
    return qs.order_by("name", "id")


def capped_count(qs: QuerySet, cap: int = COUNT_CAP) -> tuple[int, bool]:
    """(count, capped): counts at most cap+1 rows so broad filters stay cheap."""
    n = qs.order_by()[: cap + 1].count()
    return (cap, True) if n > cap else (n, False)


# --- timeline ------------------------------------------------------------------------------------
@dataclass
class TimelineEntry:
    on: dt.date
    kind: str
    title: str
    detail: str = ""


def member_timeline(*, member: Member) -> list[TimelineEntry]:
    entries: list[TimelineEntry] = []
    for c in member.status_changes.select_related("deciding_org"):
        title = f"{c.get_from_status_display() or '建档'} → {c.get_to_status_display()}"
        entries.append(
            TimelineEntry(
                c.changed_on,
                "status",
                title,
                " · ".join(
                    x for x in (c.reason, c.deciding_org.name if c.deciding_org else "") if x
                ),
            )
        )
    for s in member.steps.select_related("deciding_org").prefetch_related("people"):
        people = "、".join(p.name for p in s.people.all())
        entries.append(
            TimelineEntry(
                s.done_on,
                "step",
                f"第{s.step}步 {s.get_step_display()}",
                " · ".join(
                    x for x in (people, s.note, s.deciding_org.name if s.deciding_org else "") if x
                ),
            )
        )
    for t in member.transfers.prefetch_related("events"):
        target = t.target_org.name if t.target_org_id else t.external_org
        entries.append(
            TimelineEntry(
                t.applied_on,
                "transfer",
                f"组织关系转接：{t.get_state_display()}",
                f"{t.get_kind_display()} → {target}",
            )
        )
    for p in member.dues_payments.all()[:24]:
        entries.append(
            TimelineEntry(
                p.paid_on,
                "dues",
                f"交纳党费 {p.amount} 元",
                f"{p.get_mode_display()} {'、'.join(m[:7] for m in p.months)}",
            )
        )
    for r in member.study_records.all()[:24]:
        entries.append(TimelineEntry(r.held_on, "study", f"学习 {r.hours} 学时", r.course))
    for c in member.contacts.all()[:12]:
        entries.append(
            TimelineEntry(c.contacted_on, "contact", "联系记录", f"{c.way} {c.note}".strip())
        )
    from apps.meetings.selectors import appraisal_timeline_entries

    for on, title, detail in appraisal_timeline_entries(member=member):
        entries.append(TimelineEntry(on, "appraisal", title, detail))
    return sorted(entries, key=lambda e: e.on, reverse=True)


def member_contacts(*, member: Member) -> QuerySet:
    """联系记录 of a member already fetched through the door, newest first."""
    return member.contacts.select_related("actor").order_by("-contacted_on", "-id")


def pending_items_visible_to(user, *, org: Org | None = None) -> QuerySet[PendingItem]:
    """Open 待处理事项 of members in the user's scope (or `org`'s subtree), oldest first, the
    same items the member page and the due list show."""
    qs = scoped(
        PendingItem.objects.filter(resolved_on__isnull=True),
        user,
        path_field="member__branch__path",
    ).select_related("member", "member__branch")
    if org is not None:
        qs = qs.filter(member__branch__path__startswith=org.path)
    return qs.order_by("raised_on", "id")


# --- development due list ------------------------------------------------------------------------
def _step_on(n: int):
    return Subquery(
        DevelopmentStep.objects.filter(member=OuterRef("pk"), step=n)
        .order_by("-done_on")
        .values("done_on")[:1]
    )


def _has_step(n: int):
    return Exists(DevelopmentStep.objects.filter(member=OuterRef("pk"), step=n))


@dataclass
class DueItem:
    member: Member
    kind: str
    label: str
    due_on: dt.date | None
    overdue: bool


DUE_KINDS = {
    "talk": "待谈话",
    "activist_review": "待考察积极分子",
    "may_candidate": "可确定为发展对象",
    "probation_ends": "本月预备期满",
    "confirmation_late": "预备期满未讨论转正",
    "contact_due": "应联系（每半年至少1次）",
    "approval_late": "上级审批逾期",
    "pending": "待处理事项",
}


def development_due(*, user, org: Org | None = None, today: dt.date | None = None) -> list[DueItem]:
    """Who needs a talk, who may become 发展对象, whose probation ends this month, whose approval
    is late, and the branch's pending items — for a branch or a whole subtree. Notifications and
    dashboards call this."""
    today = today or local_today()
    base = members_visible_to(user).select_related("branch")
    if org is not None:
        base = base.filter(branch__path__startswith=org.path)
    items: list[DueItem] = []
    for m in (
        base.filter(status=MemberStatus.APPLICANT)
        .annotate(applied=_step_on(1), talked=_has_step(2))
        .filter(talked=False, applied__isnull=False)
    ):
        due = add_months(m.applied, rules.TALK_WITHIN_MONTHS)
        items.append(DueItem(m, "talk", f"应于{due:%m月%d日}前谈话", due, due < today))
    year_ago = add_years(today, -rules.ACTIVIST_MIN_YEARS)
    for m in (
        base.filter(status=MemberStatus.ACTIVIST)
        .annotate(activist_on=_step_on(3))
        .filter(activist_on__lte=year_ago)
    ):
        items.append(
            DueItem(
                m,
                "may_candidate",
                f"{m.activist_on:%Y-%m-%d}确定为积极分子，已满一年",
                add_years(m.activist_on, 1),
                False,
            )
        )
    # 培养教育考察 (step 6) at least every `members.activist_review_months` (⚠️ local practice,
    # default half a year), counted from the last review or from becoming 积极分子: listed
    # from a month before it is due.
    every = rules.activist_review_months()
    for m in (
        base.filter(status=MemberStatus.ACTIVIST)
        .annotate(activist_on=_step_on(3), reviewed_on=_step_on(6))
        .filter(activist_on__isnull=False)
    ):
        since = max(filter(None, (m.activist_on, m.reviewed_on)))
        due = add_months(since, every)
        if due <= today + dt.timedelta(days=30):
            label = (
                f"上次考察{m.reviewed_on:%Y-%m-%d}"
                if m.reviewed_on
                else f"{m.activist_on:%Y-%m-%d}确定为积极分子"
            ) + f"，应于{due:%Y-%m-%d}前考察"
            items.append(DueItem(m, "activist_review", label, due, due < today))
    month = Period.containing("month", today)
    for m in base.filter(
        status__in=PROBATIONARY_STATUSES,
        probation_ends_on__gte=month.start,
        probation_ends_on__lte=month.end,
    ):
        items.append(
            DueItem(
                m,
                "probation_ends",
                f"预备期{m.probation_ends_on:%m月%d日}届满",
                m.probation_ends_on,
                m.probation_ends_on < today,
            )
        )
    # Probation over (before this month) and no 支部大会 on the confirmation since: due at once,
    # or within 6 months for a probationer who transferred in (推迟讨论转正≤6个月).
    transferred_in = Transfer.objects.filter(
        member=OuterRef("pk"),
        target_branch=OuterRef("branch"),
        state__in=[TransferState.ACCEPTED, TransferState.RECEIPT_RETURNED],
    )
    discussed = DevelopmentStep.objects.filter(
        member=OuterRef("pk"),
        step=Step.CONFIRMATION_MEETING,
        done_on__gte=OuterRef("probation_ends_on"),
    )
    for m in (
        base.filter(status__in=PROBATIONARY_STATUSES, probation_ends_on__lt=month.start)
        .annotate(moved_in=Exists(transferred_in), discussed=Exists(discussed))
        .filter(discussed=False)
    ):
        if m.moved_in:
            due = add_months(m.probation_ends_on, rules.TRANSFERRED_POSTPONE_MONTHS)
            label = f"转入的预备党员，预备期{m.probation_ends_on:%Y年%m月%d日}届满，可推迟讨论转正至{due:%Y年%m月%d日}"
        else:
            due = m.probation_ends_on
            label = f"预备期{m.probation_ends_on:%Y年%m月%d日}届满，支部大会尚未讨论转正"
        items.append(DueItem(m, "confirmation_late", label, due, due < today))
    # 出国（境）and 流出 members: the branch keeps in touch at least every half year.
    for m in base.filter(
        status__in=[MemberStatus.FULL, *PROBATIONARY_STATUSES],
        management_status__in=[ManagementStatus.ABROAD, ManagementStatus.MOBILE_OUT],
    ).annotate(last_contact=Max("contacts__contacted_on")):
        since = m.last_contact or (
            m.abroad_since if m.management_status == ManagementStatus.ABROAD else None
        )
        if since is None:
            items.append(DueItem(m, "contact_due", "尚无联系记录", today, False))
            continue
        due = add_months(since, rules.CONTACT_EVERY_MONTHS)
        if due <= add_months(today, 1):
            what = "上次联系" if m.last_contact else "出国（境）"
            items.append(
                DueItem(
                    m,
                    "contact_due",
                    f"{what}{since:%Y年%m月%d日}，应于{due:%m月%d日}前联系",
                    due,
                    due < today,
                )
            )
    late = add_months(today, -rules.APPROVAL_MONTHS)
    for m in (
        base.filter(status=MemberStatus.CANDIDATE)
        .annotate(
            meeting=_step_on(Step.ADMISSION_MEETING), approved=_has_step(Step.ADMISSION_APPROVAL)
        )
        .filter(meeting__lt=late, approved=False)
    ):
        items.append(
            DueItem(
                m,
                "approval_late",
                f"{m.meeting:%Y-%m-%d}支部大会通过接收，上级党委3个月内未审批",
                add_months(m.meeting, 3),
                True,
            )
        )
    for m in (
        base.filter(status__in=PROBATIONARY_STATUSES)
        .annotate(
            meeting=_step_on(Step.CONFIRMATION_MEETING),
            approved=_step_on(Step.CONFIRMATION_APPROVAL),
        )
        .filter(meeting__lt=late)
        .filter(Q(approved__isnull=True) | Q(approved__lt=F("meeting")))
    ):
        items.append(
            DueItem(
                m,
                "approval_late",
                f"{m.meeting:%Y-%m-%d}支部大会讨论转正，上级党委3个月内未审批",
                add_months(m.meeting, 3),
                True,
            )
        )
    pending = PendingItem.objects.filter(
        resolved_on__isnull=True, member__in=base.values("pk")
    ).select_related("member", "member__branch")
    for p in pending:
        items.append(DueItem(p.member, "pending", p.get_kind_display(), p.raised_on, True))
    return sorted(items, key=lambda i: (not i.overdue, i.due_on or today))


def pipeline_board(*, user, org: Org | None = None) -> dict[str, list[Member]]:
    """Members at each stage, latest step annotated (the 发展党员 board)."""
    qs = members_visible_to(user).select_related("branch")
    if org is not None:
        qs = qs.filter(branch__path__startswith=org.path)
    latest = DevelopmentStep.objects.filter(member=OuterRef("pk")).order_by("-step", "-done_on")
    qs = qs.filter(
        status__in=[
            MemberStatus.APPLICANT,
            MemberStatus.ACTIVIST,
            MemberStatus.CANDIDATE,
            *PROBATIONARY_STATUSES,
        ]
    ).annotate(
        last_step=Subquery(latest.values("step")[:1]),
        last_on=Subquery(latest.values("done_on")[:1]),
    )
    board: dict[str, list[Member]] = {
        s: [] for s in ("applicant", "activist", "candidate", "probationary")
    }
    for m in qs.order_by("status_since", "name")[:800]:
        key = "probationary" if m.status in PROBATIONARY_STATUSES else m.status
        board[key].append(m)
    return board


# --- dues ------------------------------------------------------------------------------------------
def dues_sheet(*, user, branch: Org, month: dt.date) -> list[DuesMonth]:
    qs = scoped(DuesMonth.objects.all(), user, path_field="branch__path")
    return list(
        qs.filter(branch=branch, month=month)
        .select_related("member", "payment")
        .order_by("member__name")
    )


def dues_rollup(*, user, org: Org, month: dt.date) -> dict:
    """Totals for a subtree from the per-branch rollup (no scan of the ledger)."""
    qs = scoped(DuesBranchMonth.objects.all(), user, path_field="branch__path").filter(
        branch__path__startswith=org.path, month=month
    )
    agg = qs.aggregate(
        expected=Coalesce(Sum("expected"), Decimal("0")),
        paid=Coalesce(Sum("paid"), Decimal("0")),
        members=Coalesce(Sum("members"), 0),
        in_arrears=Coalesce(Sum("in_arrears"), 0),
    )
    return agg


def dues_member_ledger(*, member: Member, year: int) -> list[DuesMonth]:
    return list(
        member.dues_months.filter(month__year=year).select_related("payment").order_by("month")
    )


# --- study hours -----------------------------------------------------------------------------------
def leader_member_ids(member_ids) -> set[int]:
    """Secretaries and committee members: open CommitteePosition rows (not group leaders)."""
    return set(
        CommitteePosition.objects.filter(member_id__in=member_ids, ended_on__isnull=True)
        .exclude(position="group_leader")
        .values_list("member_id", flat=True)
    )


def study_required(is_leader: bool) -> Decimal:
    return rules.STUDY_HOURS_LEADER if is_leader else rules.STUDY_HOURS_MEMBER


def study_totals(*, user, branch: Org, year: int) -> list[dict]:
    members = list(members_visible_to(user).filter(branch=branch).party_members().order_by("name"))
    ids = [m.pk for m in members]
    hours = dict(
        StudyRecord.objects.filter(member_id__in=ids, held_on__year=year)
        .values("member_id")
        .annotate(h=Sum("hours"))
        .values_list("member_id", "h")
    )
    leaders = leader_member_ids(ids)
    rows = []
    for m in members:
        need = study_required(m.pk in leaders)
        got = hours.get(m.pk) or Decimal("0")
        rows.append(
            {
                "member": m,
                "hours": got,
                "required": need,
                "leader": m.pk in leaders,
                "met": got >= need,
            }
        )
    return rows


@dataclass
class StudyBranchRow:
    branch: Org
    members: int
    met: int
    hours: Decimal
    leaders: int
    leaders_met: int

    @property
    def rate(self) -> int:
        return round(100 * self.met / self.members) if self.members else 0

    @property
    def average(self) -> Decimal:
        return (self.hours / self.members).quantize(Decimal("0.1")) if self.members else Decimal(0)


def study_subtree(*, user, org: Org, year: int, limit: int = 500) -> list[StudyBranchRow]:
    """Yearly study hours per branch across `org`'s subtree (one grouped query): party members,
    how many reached their 32 (members) or 56 (secretaries and committee members) hours."""
    from django.db.models import Case, Count, DecimalField, When
    from django.db.models import Value as V

    hours = (
        StudyRecord.objects.filter(member=OuterRef("pk"), held_on__year=year)
        .values("member")
        .annotate(h=Sum("hours"))
        .values("h")
    )
    leader = CommitteePosition.objects.filter(member=OuterRef("pk"), ended_on__isnull=True).exclude(
        position="group_leader"
    )
    per_member = (
        members_visible_to(user)
        .party_members()
        .filter(branch__path__startswith=org.path)
        .annotate(
            got=Coalesce(Subquery(hours, output_field=DecimalField()), V(Decimal("0"))),
            is_leader=Exists(leader),
        )
        .annotate(
            need=Case(
                When(is_leader=True, then=V(rules.STUDY_HOURS_LEADER)),
                default=V(rules.STUDY_HOURS_MEMBER),
                output_field=DecimalField(),
            )
        )
    )
    grouped = (
        per_member.order_by()
        .values("branch_id")
        .annotate(
            n=Count("id"),
            n_met=Count("id", filter=Q(got__gte=F("need"))),
            total=Sum("got"),
            n_leaders=Count("id", filter=Q(is_leader=True)),
            n_leaders_met=Count("id", filter=Q(is_leader=True, got__gte=F("need"))),
        )
    )
    by_branch = {g["branch_id"]: g for g in grouped}
    branches = Org.objects.filter(pk__in=list(by_branch)).order_by("path")[:limit]
    return [
        StudyBranchRow(
            branch=b,
            members=by_branch[b.pk]["n"],
            met=by_branch[b.pk]["n_met"],
            hours=by_branch[b.pk]["total"] or Decimal("0"),
            leaders=by_branch[b.pk]["n_leaders"],
            leaders_met=by_branch[b.pk]["n_leaders_met"],
        )
        for b in branches
    ]


def member_study_total(*, member: Member, year: int) -> dict:
    got = member.study_records.filter(held_on__year=year).aggregate(
        h=Coalesce(Sum("hours"), Decimal("0"))
    )["h"]
    need = study_required(member.pk in leader_member_ids([member.pk]))
    return {"hours": got, "required": need, "met": got >= need}


def transfers_visible_to(user) -> QuerySet[Transfer]:
    """Transfers the user's subtree is involved in: as source or as target."""
    from apps.accounts.scope import path_q

    return Transfer.objects.filter(
        path_q(user, "view", "source_branch__path") | path_q(user, "view", "target_org__path")
    ).select_related("member", "source_branch", "target_org", "target_branch")


__all__ = ["rule_value"]


# --- dues waivers (减免) ---------------------------------------------------------------------------
def waivers_visible_to(user, *, state: str = "") -> QuerySet:
    """减免 requests of members in the user's scope, newest first (`state` filters)."""
    from apps.members.models import DuesWaiver

    qs = scoped(
        DuesWaiver.objects.select_related("member", "member__branch", "requested_by", "decided_by"),
        user,
        path_field="member__branch__path",
    )
    if state:
        qs = qs.filter(state=state)
    return qs.order_by("-created_at", "-id")
