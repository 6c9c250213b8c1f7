"""Every reminder rule of the platform, in one module (STYLE.md #4).

A rule is a function `collect(now) -> Iterable[Due]` listing the reminders that should exist at
`now`; the sweeper (`reminders_sweep`, on beat) writes them idempotently. Event-driven reminders
(a planned meeting, a quarterly report) are written by the functions at the bottom, which the
owning app's service calls inside its own transaction.

Timing: date-based reminders are due at `notifications.send_hour` (09:00 Beijing time) on their
nominal day; each stage of a rule has a window (from its nominal day to the next stage), so a
sweeper that starts late creates only the stage that applies now. Lead times are rule parameters
(规则参数) with the defaults of DOMAIN.md / issue #5.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.conf import settings
from django.urls import NoReverseMatch, reverse

from apps.core.periods import (
    SHANGHAI,
    Period,
    PeriodKind,
    add_months,
    add_years,
    local_date,
    local_midnight,
)
from apps.core.rules import register, rule_value
from apps.notifications.models import Channel, Reminder
from apps.notifications.selectors import branch_people, superior_staff, superior_with_staff
from apps.notifications.services import (
    Due,
    reminders_sync,
    reminders_upsert,
    reminders_withdraw,
    reminders_withdraw_ids,
    subject_of,
)

# --- parameters -------------------------------------------------------------------------------
register(
    "notifications.send_hour",
    9,
    "提醒发送时刻（时）",
    "按日期计算的提醒在当天几点发出（北京时间）。",
    min_value=0,
    max_value=23,
)
register(
    "notifications.sms_quiet_start_hour",
    22,
    "短信免打扰开始（时）",
    "此时刻起不发短信，顺延到免打扰结束时发送（不丢弃）。",
    min_value=0,
    max_value=23,
)
register(
    "notifications.sms_quiet_end_hour", 7, "短信免打扰结束（时）", "", min_value=0, max_value=23
)
register(
    "notifications.max_attempts",
    5,
    "邮件/短信最多尝试次数",
    "超过后标记为发送失败。",
    min_value=1,
    max_value=20,
)
register(
    "notifications.term_superior_months",
    6,
    "换届提醒：提前几个月提醒上级",
    "任期届满前几个月提醒上级党组织（DOMAIN §1.3，一般提前6个月）。",
    min_value=1,
    max_value=12,
)
register(
    "notifications.term_branch_months",
    2,
    "换届提醒：提前几个月提醒本级",
    "任期届满前几个月提醒本级党组织向上级请示换届（一般1–2个月）。",
    min_value=1,
    max_value=6,
)
register(
    "notifications.dues_arrears_months",
    "1,3,5",
    "党费欠缴提醒节点（月）",
    "连续欠缴达到这些月数时提醒（逗号分隔）。连续6个月由党员管理生成待处理事项（DOMAIN §4.2）。",
    kind=str,
)
register(
    "notifications.dues_secretary_from_months",
    3,
    "党费欠缴：从第几个月起同时提醒支部书记",
    "",
    min_value=1,
    max_value=6,
)
register(
    "notifications.development_lead_days",
    7,
    "入党谈话时限：提前几天提醒",
    "收到入党申请书1个月内应派人谈话；在期限前几天提醒支部书记。",
    min_value=0,
    max_value=30,
)
register(
    "notifications.development_approval_lead_days",
    14,
    "上级审批时限：提前几天提醒",
    "支部大会决议后上级党委应在3个月内审批；在期限前几天提醒上级和支部。",
    min_value=0,
    max_value=60,
)
register(
    "notifications.probation_notice_months",
    1,
    "预备期满提醒：提前几个月",
    "预备党员预备期满前几个月提醒支部书记准备讨论转正。",
    min_value=1,
    max_value=6,
)

SEVERITY_INFO, SEVERITY_WARNING, SEVERITY_DANGER = "info", "warning", "danger"


@dataclass(frozen=True)
class ReminderRule:
    key: str
    label: str
    collect: Callable[[dt.datetime], Iterable[Due]] | None = None  # None: written by events only
    # Checked by the sender right before a delivery goes out: False withdraws it instead of
    # sending stale news (dues paid overnight while an SMS was held for the quiet hours, ...).
    still_valid: Callable[[Reminder], bool] | None = None
    # Which beat job evaluates `collect`: "sweep" (notifications.sweep, every 5 minutes) or
    # "compliance" (notifications.compliance, hourly: it reads every branch's rollup).
    schedule: str = "sweep"


RULES: dict[str, ReminderRule] = {}


def reminder_rule(
    key: str,
    label: str,
    still_valid: Callable[[Reminder], bool] | None = None,
    schedule: str = "sweep",
):
    def decorate(collect):
        RULES[key] = ReminderRule(
            key=key, label=label, collect=collect, still_valid=still_valid, schedule=schedule
        )
        return collect

    return decorate


def rules_on(schedule: str) -> list[str]:
    """The keys of the rules a beat job evaluates."""
    return [k for k, r in RULES.items() if r.collect is not None and r.schedule == schedule]


def reminder_still_valid(reminder: Reminder) -> bool:
    rule = RULES.get(reminder.rule)
    return rule is None or rule.still_valid is None or bool(rule.still_valid(reminder))


def event_rule(key: str, label: str) -> None:
    RULES[key] = ReminderRule(key=key, label=label)


def rule_label(key: str) -> str:
    rule = RULES.get(key)
    return rule.label if rule else key


# --- helpers ----------------------------------------------------------------------------------


def send_time(day: dt.date) -> dt.datetime:
    """The aware datetime at which a reminder about `day` is sent (09:00 Beijing time)."""
    return local_midnight(day) + dt.timedelta(hours=int(rule_value("notifications.send_hour")))


def url_for(name: str, *args) -> str:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return ""


def cn_date(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def _occurrence_date(text: str) -> dt.date | None:
    """The date an occurrence key carries ("2026-06-30"), None when it is not one."""
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


# --- terms (换届, DOMAIN §1.3) ----------------------------------------------------------------


def term_end(term) -> dt.date:
    """The date the term expires: the approved extension if any, else ends_on."""
    from apps.organizations.models import TermState

    if term.state == TermState.EXTENSION_APPROVED and term.extension_until:
        return term.extension_until
    return term.ends_on


def _open_terms(horizon: dt.date):
    from django.db.models import Q

    from apps.organizations.models import Term, TermState

    return (
        Term.objects.exclude(state__in=[TermState.CLOSED, TermState.RESULT_APPROVED])
        .filter(Q(ends_on__lte=horizon) | Q(extension_until__lte=horizon))
        .filter(org__abolished_on__isnull=True)
        .select_related("org")
    )


def _term_still_valid(reminder: Reminder) -> bool:
    """The term is still open, in a state the rule applies to, and still ends on the reminder's
    day (a new term elected, a request submitted or an extension approved withdraws it)."""
    from apps.organizations.models import Term, TermState

    allowed = {
        "term.superior": {TermState.ACTIVE},
        "term.branch": {TermState.ACTIVE, TermState.EXTENSION_APPROVED},
    }.get(reminder.rule)
    term = (
        Term.objects.filter(pk=reminder.subject_id, org__abolished_on__isnull=True)
        .exclude(state__in=[TermState.CLOSED, TermState.RESULT_APPROVED])
        .first()
    )
    if term is None or (allowed is not None and term.state not in allowed):
        return False
    return term_end(term).isoformat() == reminder.occurrence


@reminder_rule(
    "term.superior", "换届提醒（上级党组织，任期届满前6个月）", still_valid=_term_still_valid
)
def term_superior(now: dt.datetime) -> Iterable[Due]:
    from apps.organizations.models import TermState

    today = local_date(now)
    months = int(rule_value("notifications.term_superior_months"))
    branch_months = int(rule_value("notifications.term_branch_months"))
    terms = [
        t
        for t in _open_terms(add_months(today, months) + dt.timedelta(days=3))
        if t.state == TermState.ACTIVE
        and add_months(term_end(t), -months) <= today < add_months(term_end(t), -branch_months)
    ]
    staff = superior_staff([t.org for t in terms])
    for term in terms:
        end = term_end(term)
        yield Due(
            rule="term.superior",
            subject_type="organizations.term",
            subject_id=term.pk,
            occurrence=end.isoformat(),
            recipient_ids=tuple(staff[term.org_id]),
            due_at=send_time(add_months(end, -months)),
            title=f"{term.org.name}第{term.number}届任期将于{cn_date(end)}届满",
            body="请提前了解换届准备情况，督促其按期请示换届。",
            org_id=term.org_id,
            url=url_for("organizations:detail", term.org_id),
            channels=(Channel.INBOX, Channel.EMAIL),
        )


@reminder_rule(
    "term.branch", "换届提醒（本级党组织，任期届满前2个月）", still_valid=_term_still_valid
)
def term_branch(now: dt.datetime) -> Iterable[Due]:
    from apps.organizations.models import TermState

    today = local_date(now)
    months = int(rule_value("notifications.term_branch_months"))
    terms = [
        t
        for t in _open_terms(add_months(today, months) + dt.timedelta(days=3))
        if t.state in (TermState.ACTIVE, TermState.EXTENSION_APPROVED)
        and add_months(term_end(t), -months) <= today < term_end(t)
    ]
    people = branch_people([t.org for t in terms])
    for term in terms:
        end = term_end(term)
        yield Due(
            rule="term.branch",
            subject_type="organizations.term",
            subject_id=term.pk,
            occurrence=end.isoformat(),
            recipient_ids=tuple(people[term.org_id]),
            due_at=send_time(add_months(end, -months)),
            title=f"本届任期将于{cn_date(end)}届满，请向上级党组织书面请示换届",
            body=f"{term.org.name}第{term.number}届",
            org_id=term.org_id,
            level=SEVERITY_WARNING,
            url=url_for("organizations:detail", term.org_id),
            channels=(Channel.INBOX, Channel.EMAIL, Channel.SMS),
        )


@reminder_rule("term.overdue", "逾期未换届", still_valid=_term_still_valid)
def term_overdue(now: dt.datetime) -> Iterable[Due]:
    today = local_date(now)
    terms = [t for t in _open_terms(today) if term_end(t) <= today]
    people = branch_people([t.org for t in terms])
    staff = superior_staff([t.org for t in terms])
    for term in terms:
        end = term_end(term)
        yield Due(
            rule="term.overdue",
            subject_type="organizations.term",
            subject_id=term.pk,
            occurrence=end.isoformat(),
            recipient_ids=tuple(people[term.org_id] + staff[term.org_id]),
            due_at=send_time(end),
            title=f"{term.org.name}任期已于{cn_date(end)}届满，逾期未换届",
            body=f"第{term.number}届。请尽快完成换届或报批延期。",
            org_id=term.org_id,
            level=SEVERITY_DANGER,
            url=url_for("organizations:detail", term.org_id),
            channels=(Channel.INBOX, Channel.EMAIL, Channel.SMS),
        )


# --- members ----------------------------------------------------------------------------------


def probation_end(member) -> dt.date | None:
    """预备期满日: the member record's own date (kept by the members app, extensions included),
    else one year from the branch meeting that admitted the member (DOMAIN §3.2)."""
    if getattr(member, "probation_ends_on", None):
        return member.probation_ends_on
    return add_years(member.joined_on, 1) if member.joined_on else None


def _probation_still_valid(reminder: Reminder) -> bool:
    """Still a probationary member whose probation ends on the reminder's day (转正, an
    extension or a cancelled probation withdraws it)."""
    from apps.members.models import PROBATIONARY_STATUSES, Member

    member = Member.objects.filter(pk=reminder.subject_id, status__in=PROBATIONARY_STATUSES).first()
    end = probation_end(member) if member is not None else None
    return end is not None and end.isoformat() == reminder.occurrence


@reminder_rule("member.probation_ending", "预备期将满", still_valid=_probation_still_valid)
def member_probation_ending(now: dt.datetime) -> Iterable[Due]:
    from django.db.models import Q

    from apps.members.models import PROBATIONARY_STATUSES, Member

    today = local_date(now)
    months = int(rule_value("notifications.probation_notice_months"))
    horizon = add_months(today, months) + dt.timedelta(days=3)
    # Coarse SQL bound, exact check below (month-end clamping makes add_months one-way).
    candidates = (
        Member.objects.filter(status__in=PROBATIONARY_STATUSES)
        .filter(
            Q(probation_ends_on__isnull=False, probation_ends_on__lte=horizon)
            | Q(probation_ends_on__isnull=True, joined_on__lte=add_months(horizon, -12))
        )
        .select_related("branch")
    )
    members = []
    for member in candidates:
        end = probation_end(member)
        if end and add_months(end, -months) <= today <= add_months(end, 1):
            members.append((member, end))
    people = branch_people({m.branch_id: m.branch for m, _ in members}.values())
    for member, end in members:
        yield Due(
            rule="member.probation_ending",
            subject_type="members.member",
            subject_id=member.pk,
            occurrence=end.isoformat(),
            recipient_ids=tuple(people[member.branch_id]),
            due_at=send_time(add_months(end, -months)),
            title=f"预备党员{member.name}的预备期将于{cn_date(end)}期满",
            body="请及时提醒其提出转正申请，并准备召开支部党员大会讨论转正。",
            org_id=member.branch_id,
            url=url_for("members:detail", member.pk),
            channels=(Channel.INBOX, Channel.SMS),
        )


def _lost_contact_still_valid(reminder: Reminder) -> bool:
    """Still 失联 since the same day (contact restored, or a new episode, withdraws it)."""
    from apps.members.models import MEMBER_STATUSES, ManagementStatus, Member

    since = _occurrence_date(reminder.occurrence)
    return (
        since is not None
        and Member.objects.filter(
            pk=reminder.subject_id,
            status__in=MEMBER_STATUSES,
            management_status=ManagementStatus.LOST_CONTACT,
            lost_contact_since=since,
        ).exists()
    )


@reminder_rule("member.lost_contact", "失联满6个月", still_valid=_lost_contact_still_valid)
def member_lost_contact(now: dt.datetime) -> Iterable[Due]:
    from apps.members.models import MEMBER_STATUSES, ManagementStatus, Member
    from apps.members.rules import LOST_CONTACT_MONTHS

    today = local_date(now)
    members = [
        m
        for m in Member.objects.filter(
            status__in=MEMBER_STATUSES,
            management_status=ManagementStatus.LOST_CONTACT,
            lost_contact_since__lte=add_months(today, -LOST_CONTACT_MONTHS) + dt.timedelta(days=3),
        ).select_related("branch")
        if add_months(m.lost_contact_since, LOST_CONTACT_MONTHS) <= today
    ]
    people = branch_people({m.branch_id: m.branch for m in members}.values())
    for member in members:
        since = member.lost_contact_since
        yield Due(
            rule="member.lost_contact",
            subject_type="members.member",
            subject_id=member.pk,
            occurrence=since.isoformat(),
            recipient_ids=tuple(people[member.branch_id]),
            due_at=send_time(add_months(since, LOST_CONTACT_MONTHS)),
            title=f"党员{member.name}自{cn_date(since)}起失去联系已满6个月",
            body="多方查找仍无法取得联系的，应按规定研究停止其党籍（DOMAIN §3.3）。",
            org_id=member.branch_id,
            level=SEVERITY_DANGER,
            url=url_for("members:detail", member.pk),
            channels=(Channel.INBOX, Channel.EMAIL),
        )


def _dues_streaks(today: dt.date, lengths: Iterable[int]) -> dict[int, list[tuple[int, dt.date]]]:
    """{n: [(member id, first unpaid month)]} for members whose run of consecutive unpaid months,
    counted back from last month, is exactly n months long today."""
    from django.db.models import Count, F

    from apps.members.models import MEMBER_STATUSES, DuesMonth

    last = add_months(today.replace(day=1), -1)
    unpaid = DuesMonth.objects.filter(
        paid__lt=F("expected") - F("waived"), member__status__in=MEMBER_STATUSES
    )
    result: dict[int, list[tuple[int, dt.date]]] = {}
    for n in lengths:
        window = [add_months(last, -i) for i in range(n)]
        ids = set(
            unpaid.filter(month__in=window)
            .values("member_id")
            .annotate(c=Count("id"))
            .filter(c=n)
            .values_list("member_id", flat=True)
        )
        longer = set(
            unpaid.filter(month=add_months(last, -n), member_id__in=ids).values_list(
                "member_id", flat=True
            )
        )
        result[n] = [(member_id, window[-1]) for member_id in sorted(ids - longer)]
    return result


def _dues_still_unpaid(reminder: Reminder) -> bool:
    """The arrears the reminder is about are still unpaid (its first month, at least)."""
    from django.db.models import F

    from apps.members.models import DuesMonth

    first = dt.date.fromisoformat(reminder.occurrence.split("/")[0] + "-01")
    return DuesMonth.objects.filter(
        member_id=reminder.subject_id, month=first, paid__lt=F("expected") - F("waived")
    ).exists()


@reminder_rule("member.dues_arrears", "党费欠缴（1、3、5个月）", still_valid=_dues_still_unpaid)
def member_dues_arrears(now: dt.datetime) -> Iterable[Due]:
    from apps.members.models import Member

    today = local_date(now)
    lengths = [int(x) for x in str(rule_value("notifications.dues_arrears_months")).split(",") if x]
    streaks = _dues_streaks(today, lengths)
    ids = {member_id for rows in streaks.values() for member_id, _ in rows}
    members = {m.pk: m for m in Member.objects.filter(pk__in=ids).select_related("branch", "user")}
    people = branch_people({m.branch_id: m.branch for m in members.values()}.values())
    due_at = send_time(today.replace(day=1))
    secretary_from = int(rule_value("notifications.dues_secretary_from_months"))
    for n, rows in streaks.items():
        for member_id, first in rows:
            member = members[member_id]
            common = {
                "rule": "member.dues_arrears",
                "subject_type": "members.member",
                "subject_id": member_id,
                "occurrence": f"{first:%Y-%m}/{n}",
                "due_at": due_at,
                "org_id": member.branch_id,
                "level": SEVERITY_WARNING if n < 5 else SEVERITY_DANGER,
            }
            # A member without a (working) account cannot be told directly: the branch
            # secretary is, from the first month, to remind them in person.
            has_account = bool(member.user_id and member.user.is_active)
            if has_account:
                yield Due(
                    **common,
                    recipient_ids=(member.user_id,),
                    title=f"您自{first.year}年{first.month}月起已有{n}个月未交纳党费",
                    body="请及时向支部交纳党费；连续6个月不交纳党费的，按自行脱党处理。",
                    url=url_for("members:me"),
                    channels=(Channel.INBOX, Channel.SMS),
                )
            if n >= secretary_from or not has_account:
                no_account = "" if has_account else "该党员未开通平台账号，请当面提醒。"
                yield Due(
                    **common,
                    recipient_ids=tuple(people[member.branch_id]),
                    title=f"党员{member.name}已连续{n}个月未交纳党费",
                    body=f"自{first.year}年{first.month}月起未交。{no_account}"
                    "请谈心谈话、督促交纳。",
                    url=url_for("members:dues"),
                    channels=(Channel.INBOX, Channel.EMAIL),
                )


def _talk_still_valid(reminder: Reminder) -> bool:
    """Still an applicant with no talk recorded, whose latest application gives the reminder's
    deadline (a talk recorded after the reminder was written withdraws it)."""
    from apps.members.models import DevelopmentStep, Member, MemberStatus, Step
    from apps.members.rules import TALK_WITHIN_MONTHS

    if not Member.objects.filter(pk=reminder.subject_id, status=MemberStatus.APPLICANT).exists():
        return False
    steps = DevelopmentStep.objects.filter(member_id=reminder.subject_id)
    if steps.filter(step=Step.TALK).exists():
        return False
    applied_on = (
        steps.filter(step=Step.APPLICATION)
        .order_by("-done_on")
        .values_list("done_on", flat=True)
        .first()
    )
    return (
        applied_on is not None
        and add_months(applied_on, TALK_WITHIN_MONTHS).isoformat() == reminder.occurrence
    )


@reminder_rule("member.development_talk", "入党申请后1个月内谈话", still_valid=_talk_still_valid)
def member_development_talk(now: dt.datetime) -> Iterable[Due]:
    from django.db.models import Exists, OuterRef, Subquery

    from apps.members.models import DevelopmentStep, Member, MemberStatus, Step
    from apps.members.rules import TALK_WITHIN_MONTHS

    today = local_date(now)
    lead = int(rule_value("notifications.development_lead_days"))
    applied = DevelopmentStep.objects.filter(member=OuterRef("pk"), step=Step.APPLICATION)
    talked = DevelopmentStep.objects.filter(member=OuterRef("pk"), step=Step.TALK)
    horizon = add_months(today + dt.timedelta(days=lead), -TALK_WITHIN_MONTHS) + dt.timedelta(
        days=3
    )
    candidates = (
        Member.objects.filter(status=MemberStatus.APPLICANT)
        .annotate(applied_on=Subquery(applied.order_by("-done_on").values("done_on")[:1]))
        .annotate(talked=Exists(talked))
        .filter(talked=False, applied_on__isnull=False, applied_on__lte=horizon)
        .select_related("branch")
    )
    rows = []
    for member in candidates:
        deadline = add_months(member.applied_on, TALK_WITHIN_MONTHS)
        if deadline - dt.timedelta(days=lead) <= today:
            rows.append((member, deadline))
    people = branch_people({m.branch_id: m.branch for m, _ in rows}.values())
    for member, deadline in rows:
        yield Due(
            rule="member.development_talk",
            subject_type="members.member",
            subject_id=member.pk,
            occurrence=deadline.isoformat(),
            recipient_ids=tuple(people[member.branch_id]),
            due_at=send_time(deadline - dt.timedelta(days=lead)),
            title=f"入党申请人{member.name}应于{cn_date(deadline)}前完成谈话",
            body=f"{cn_date(member.applied_on)}递交入党申请书，党组织应在1个月内派人谈话。",
            org_id=member.branch_id,
            level=SEVERITY_WARNING,
            url=url_for("members:detail", member.pk),
            channels=(Channel.INBOX, Channel.SMS),
        )


def _approval_still_valid(reminder: Reminder) -> bool:
    """The branch meeting the reminder is about is still the latest one and still awaits the
    superior's approval, and the member is still in the status it applies to (接收: 发展对象,
    转正: 预备党员)."""
    from apps.members.models import (
        PROBATIONARY_STATUSES,
        DevelopmentStep,
        Member,
        MemberStatus,
        Step,
    )

    what, _, day = reminder.occurrence.partition(":")
    meeting_on = _occurrence_date(day)
    if what == "接收":
        statuses, meeting_step, approval_step = (
            [MemberStatus.CANDIDATE],
            Step.ADMISSION_MEETING,
            Step.ADMISSION_APPROVAL,
        )
    elif what == "转正":
        statuses, meeting_step, approval_step = (
            list(PROBATIONARY_STATUSES),
            Step.CONFIRMATION_MEETING,
            Step.CONFIRMATION_APPROVAL,
        )
    else:
        return False
    if meeting_on is None or not (
        Member.objects.filter(pk=reminder.subject_id, status__in=statuses).exists()
    ):
        return False
    steps = DevelopmentStep.objects.filter(member_id=reminder.subject_id)
    latest = (
        steps.filter(step=meeting_step).order_by("-done_on").values_list("done_on", flat=True)
    ).first()
    approvals = steps.filter(step=approval_step)
    if what == "转正":  # an approval of an earlier confirmation meeting does not count
        approvals = approvals.filter(done_on__gte=meeting_on)
    return latest == meeting_on and not approvals.exists()


@reminder_rule(
    "member.development_approval", "上级党委3个月内审批", still_valid=_approval_still_valid
)
def member_development_approval(now: dt.datetime) -> Iterable[Due]:
    from django.db.models import F, OuterRef, Q, Subquery

    from apps.members.models import (
        PROBATIONARY_STATUSES,
        DevelopmentStep,
        Member,
        MemberStatus,
        Step,
    )
    from apps.members.rules import APPROVAL_MONTHS

    today = local_date(now)
    lead = int(rule_value("notifications.development_approval_lead_days"))
    # Meetings on or before this day have their approval deadline within the lead time.
    latest_meeting = add_months(today + dt.timedelta(days=lead), -APPROVAL_MONTHS) + dt.timedelta(
        days=3
    )

    def last_step(step):
        return Subquery(
            DevelopmentStep.objects.filter(member=OuterRef("pk"), step=step)
            .order_by("-done_on")
            .values("done_on")[:1]
        )

    admission = (
        Member.objects.filter(status=MemberStatus.CANDIDATE)
        .annotate(
            meeting=last_step(Step.ADMISSION_MEETING), approved=last_step(Step.ADMISSION_APPROVAL)
        )
        .filter(meeting__isnull=False, meeting__lte=latest_meeting, approved__isnull=True)
    )
    confirmation = (
        Member.objects.filter(status__in=PROBATIONARY_STATUSES)
        .annotate(
            meeting=last_step(Step.CONFIRMATION_MEETING),
            approved=last_step(Step.CONFIRMATION_APPROVAL),
        )
        .filter(meeting__isnull=False, meeting__lte=latest_meeting)
        .filter(Q(approved__isnull=True) | Q(approved__lt=F("meeting")))
    )
    rows = []
    for what, qs in (("接收", admission), ("转正", confirmation)):
        for member in qs.select_related("branch"):
            deadline = add_months(member.meeting, APPROVAL_MONTHS)
            if deadline - dt.timedelta(days=lead) <= today:
                rows.append((what, member, deadline))
    branches = {m.branch_id: m.branch for _, m, _ in rows}.values()
    people, staff = branch_people(branches), superior_staff(branches)
    for what, member, deadline in rows:
        yield Due(
            rule="member.development_approval",
            subject_type="members.member",
            subject_id=member.pk,
            occurrence=f"{what}:{member.meeting.isoformat()}",
            recipient_ids=tuple(staff[member.branch_id] + people[member.branch_id]),
            due_at=send_time(deadline - dt.timedelta(days=lead)),
            title=f"{member.branch.name}{member.name}的{what}决议应于{cn_date(deadline)}前审批",
            body=f"支部大会{cn_date(member.meeting)}讨论{what}，上级党委应在3个月内审批。",
            org_id=member.branch_id,
            level=SEVERITY_WARNING,
            url=url_for("members:detail", member.pk),
            channels=(Channel.INBOX, Channel.EMAIL),
        )


# --- meetings (三会一课): attendees before, the host after ------------------------------------
# Written in the meeting service's own transaction (`reminders_meeting_sync`, called by
# apps.meetings.services) and, as a backstop for meetings written in bulk, by the sweeper.
# A reminder's occurrence carries the meeting's start, so a moved meeting gets new reminders and
# its old pending ones are withdrawn; moved back, the old ones come back (`reminders_sync`).

MEETING_RULES = ("meeting.upcoming", "meeting.unrecorded")
MEETING_SUBJECT = "meetings.meeting"
# The sweeper writes a missed "unrecorded" reminder at most this many days late.
UNRECORDED_WINDOW_DAYS = 7
WEEKDAYS = "一二三四五六日"


def meeting_lead_hours() -> list[int]:
    """Hours before the start at which attendees are reminded, largest first (24, 2)."""
    return sorted({int(h) for h in settings.NOTIFICATIONS_MEETING_LEAD_HOURS}, reverse=True)


def _when(starts_at: dt.datetime) -> str:
    local = starts_at.astimezone(SHANGHAI)
    return f"{local.month}月{local.day}日（周{WEEKDAYS[local.weekday()]}）{local:%H:%M}"


def _start_key(starts_at: dt.datetime) -> str:
    return f"{starts_at.astimezone(SHANGHAI):%Y-%m-%dT%H:%M}"


def meeting_unrecorded_at(meeting) -> dt.datetime:
    """09:00 (send hour) on the meeting's local date + NOTIFICATIONS_MEETING_UNRECORDED_DAYS."""
    days = int(settings.NOTIFICATIONS_MEETING_UNRECORDED_DAYS)
    return send_time(local_date(meeting.starts_at) + dt.timedelta(days=days))


def meeting_dues(meetings, *, now: dt.datetime, late_window: bool = False) -> list[Due]:
    """The reminders the planned `meetings` call for at `now`:

    - `meeting.upcoming`, one per lead time (24 h and 2 h before the start) to every expected
      attendee with an account. A stage is left out once the next one (or the start) is reached;
      a stage already late is written (due at once) only while the meeting is still more than
      half its lead away, so a meeting planned 20 hours ahead is announced at once and again 2
      hours before, one planned 3 hours ahead only 2 hours before;
    - `meeting.unrecorded` to the host (主持人 with an account; else the branch's secretaries)
      at 09:00 N days after the meeting's date, for meetings planned ahead (not for 补录 entries:
      whoever enters a past meeting is recording it). With `late_window` (the sweeper) it is
      written only within UNRECORDED_WINDOW_DAYS of its time."""
    from apps.meetings.models import MeetingState
    from apps.meetings.selectors import meeting_attendee_user_ids

    meetings = [m for m in meetings if m.state == MeetingState.PLANNED]
    if not meetings:
        return []
    attendees = meeting_attendee_user_ids([m.pk for m in meetings])
    secretaries = branch_people({m.branch_id: m.branch for m in meetings}.values())
    leads = meeting_lead_hours()
    dues: list[Due] = []
    for meeting in meetings:
        where = f"，地点：{meeting.place}" if meeting.place else ""
        for i, hours in enumerate(leads):
            last = i + 1 == len(leads)
            due_at = meeting.starts_at - dt.timedelta(hours=hours)
            closes = meeting.starts_at - dt.timedelta(hours=0 if last else leads[i + 1])
            if now >= closes or not attendees.get(meeting.pk):
                continue
            if (
                due_at < now
                and not last
                and meeting.starts_at - now < dt.timedelta(hours=hours / 2)
            ):
                continue  # too late for "the day before" to mean much: the next stage will do
            dues.append(
                Due(
                    rule="meeting.upcoming",
                    subject_type=MEETING_SUBJECT,
                    subject_id=meeting.pk,
                    occurrence=f"{_start_key(meeting.starts_at)}/{hours}h",
                    recipient_ids=tuple(attendees[meeting.pk]),
                    due_at=due_at,
                    title=f"会议提醒：{_when(meeting.starts_at)}召开{meeting.title}",
                    body=f"{meeting.branch.name}{where}。请准时参加，不能参加的请向支部请假。",
                    org_id=meeting.branch_id,
                    url=url_for("meetings:detail", meeting.pk),
                    channels=(Channel.INBOX, Channel.SMS),
                )
            )
        at = meeting_unrecorded_at(meeting)
        if meeting.planned_at is None or (
            late_window and not at <= now < at + dt.timedelta(days=UNRECORDED_WINDOW_DAYS)
        ):
            continue
        host_user = meeting.host.user_id if meeting.host_id and meeting.host else None
        dues.append(
            Due(
                rule="meeting.unrecorded",
                subject_type=MEETING_SUBJECT,
                subject_id=meeting.pk,
                occurrence=local_date(meeting.starts_at).isoformat(),
                recipient_ids=(host_user,) if host_user else tuple(secretaries[meeting.branch_id]),
                due_at=at,
                title=f"{_when(meeting.starts_at)}的“{meeting.title}”尚未填写会议记录",
                body="会议开过后请及时登记出席情况、讨论发言要点和决议，并报送上级党组织；"
                "会议未召开的请改期或取消。",
                org_id=meeting.branch_id,
                level=SEVERITY_WARNING,
                url=url_for("meetings:record", meeting.pk),
                channels=(Channel.INBOX, Channel.SMS),
            )
        )
    return dues


def _meeting_still_valid(reminder: Reminder) -> bool:
    """Sent only while the meeting is still planned at the time the reminder is about (and, for
    attendees, has not started): a move, cancellation or record that bypassed the services
    never lets a stale reminder out."""
    from django.utils import timezone

    from apps.meetings.models import Meeting, MeetingState

    row = (
        Meeting.objects.filter(pk=reminder.subject_id, state=MeetingState.PLANNED)
        .values_list("starts_at", flat=True)
        .first()
    )
    if row is None:
        return False
    if reminder.rule == "meeting.upcoming":
        return reminder.occurrence.startswith(_start_key(row) + "/") and timezone.now() < row
    return reminder.occurrence == local_date(row).isoformat()


@reminder_rule("meeting.upcoming", "会议提醒（会前1天、2小时）", still_valid=_meeting_still_valid)
def meeting_upcoming(now: dt.datetime) -> Iterable[Due]:
    from apps.meetings.selectors import meetings_due_for_reminder

    within = dt.timedelta(hours=meeting_lead_hours()[0])
    meetings = list(meetings_due_for_reminder(now=now, within=within))
    return [d for d in meeting_dues(meetings, now=now) if d.rule == "meeting.upcoming"]


@reminder_rule("meeting.unrecorded", "会议未记录（会后2天）", still_valid=_meeting_still_valid)
def meeting_unrecorded(now: dt.datetime) -> Iterable[Due]:
    from apps.meetings.selectors import meetings_planned_between

    days = int(settings.NOTIFICATIONS_MEETING_UNRECORDED_DAYS)
    today = local_date(now)
    meetings = list(
        meetings_planned_between(
            start=local_midnight(today - dt.timedelta(days=days + UNRECORDED_WINDOW_DAYS)),
            end=local_midnight(today - dt.timedelta(days=days - 1)),
        ).filter(planned_at__isnull=False)
    )
    return [
        d
        for d in meeting_dues(meetings, now=now, late_window=True)
        if d.rule == "meeting.unrecorded"
    ]


MEETING_CHANGE_REASONS = {
    "moved": "会议已改期",
    "cancelled": "会议已取消",
    "deleted": "会议已删除",
    "recorded": "会议已记录",
}


def reminders_meeting_sync(*, meeting_id: int, event: str = "") -> tuple[int, int]:
    """apps.meetings.services calls this inside the transaction of every meeting write. The
    meeting's pending reminders are made to match it: planned → attendee and host reminders
    exist (for the current start); moved → old ones withdrawn, new ones written; cancelled,
    deleted or recorded → withdrawn. Returns (created, withdrawn deliveries)."""
    from django.utils import timezone

    from apps.meetings.models import Meeting

    if event in ("submitted", "accepted", "returned", "revised"):
        return 0, 0  # the record's review: nothing pending any more
    meeting = Meeting.objects.select_related("branch", "host").filter(pk=meeting_id).first()
    dues = meeting_dues([meeting], now=timezone.now()) if meeting is not None else []
    return reminders_sync(
        subject_type=MEETING_SUBJECT,
        subject_id=meeting_id,
        rules=MEETING_RULES,
        dues=dues,
        reason=MEETING_CHANGE_REASONS.get(event, "会议已变更"),
    )


# --- compliance (三会一课 frequency, from the meetings rollups) ---------------------------------
# Evaluated hourly by its own beat job (notifications.compliance): it reads every branch's
# layer-2 rollup rows through meetings.selectors.compliance_gaps, never raw meetings. Periods of
# different kinds that end on the same day (September and Q3) share one reminder per branch and
# stage, keyed by the longest of them ("2026-Q3").

COMPLIANCE_RULES = ("compliance.due_soon", "compliance.overdue", "compliance.escalated")
# The sweeper writes a missed escalation at most this many days late.
ESCALATION_WINDOW_DAYS = 30
_KIND_ORDER = (PeriodKind.MONTH, PeriodKind.QUARTER, PeriodKind.YEAR)


def _periods_ending(end: dt.date) -> list[Period]:
    return [p for p in (Period.containing(k, end) for k in _KIND_ORDER) if p.end == end]


def compliance_stage(end: dt.date, today: dt.date) -> tuple[str, dt.date] | None:
    """(rule, nominal day) of the compliance stage that applies `today` to periods ending on
    `end`: 7 days before the end → due_soon; the day after → overdue; 10 days after that →
    escalated (lead times from settings). None outside every window."""
    lead = int(settings.NOTIFICATIONS_COMPLIANCE_LEAD_DAYS)
    escalate = int(settings.NOTIFICATIONS_COMPLIANCE_ESCALATE_DAYS)
    overdue = end + dt.timedelta(days=1)
    escalated = overdue + dt.timedelta(days=escalate)
    if end - dt.timedelta(days=lead) <= today <= end:
        return "compliance.due_soon", end - dt.timedelta(days=lead)
    if overdue <= today < escalated:
        return "compliance.overdue", overdue
    if escalated <= today < escalated + dt.timedelta(days=ESCALATION_WINDOW_DAYS):
        return "compliance.escalated", escalated
    return None


def _compliance_gaps_by_branch(
    periods: list[Period], today: dt.date, branch_ids: list[int] | None = None
) -> dict[int, list[tuple[Period, object]]]:
    from apps.meetings.selectors import compliance_gaps

    out: dict[int, list[tuple[Period, object]]] = {}
    for period in periods:
        for branch_id, results in compliance_gaps(
            window=period, today=today, branch_ids=branch_ids
        ).items():
            out.setdefault(branch_id, []).extend((period, r) for r in results)
    return out


def _compliance_still_valid(reminder: Reminder) -> bool:
    """Still unmet at send time (a late record submitted in the meantime withdraws it). An
    escalation (its subject is the superior org) stands while any branch under it is behind."""
    from apps.core.periods import local_today
    from apps.organizations.models import BRANCH_TYPES, Org

    end = Period.parse(reminder.occurrence).end
    branch_ids = [reminder.subject_id]
    if reminder.rule == "compliance.escalated":
        superior = Org.objects.filter(pk=reminder.subject_id).values_list("path", flat=True)
        branch_ids = list(
            Org.objects.filter(
                path__startswith=superior.first() or "-", org_type__in=BRANCH_TYPES
            ).values_list("pk", flat=True)
        )
    return bool(_compliance_gaps_by_branch(_periods_ending(end), local_today(), branch_ids))


def compliance_dues(now: dt.datetime, rule: str) -> Iterable[Due]:
    """The reminders of one compliance stage at `now`: for every period end whose `rule` window
    contains today, one reminder per branch with unmet requirements (a fixed number of queries
    per period, whatever the number of branches)."""
    from apps.organizations.models import Org

    today = local_date(now)
    ends: set[dt.date] = set()
    for kind in _KIND_ORDER:
        period = Period.containing(kind, today)
        for _ in range(3):
            ends.add(period.end)
            period = period.previous()
    escalate = int(settings.NOTIFICATIONS_COMPLIANCE_ESCALATE_DAYS)
    for end in sorted(ends):
        stage = compliance_stage(end, today)
        if stage is None or stage[0] != rule:
            continue
        nominal = stage[1]
        periods = _periods_ending(end)
        longest = periods[-1]
        gaps = _compliance_gaps_by_branch(periods, today)
        if not gaps:
            continue
        branches = list(Org.objects.filter(pk__in=list(gaps)).order_by("path"))
        if rule == "compliance.escalated":
            yield from _escalations(branches, gaps, longest, send_time(nominal), escalate)
            continue
        people = branch_people(branches)
        for branch in branches:
            items = gaps[branch.pk]
            listing = "；".join(f"{p.label}：{r.name}" for p, r in items)
            n = len(items)
            if rule == "compliance.due_soon":
                title = f"{longest.label}将于{cn_date(end)}结束，尚有{n}项会议要求未完成"
                body = f"{branch.name}。未完成：{listing}。请在期末前安排召开并及时报送记录。"
                level, channels = SEVERITY_WARNING, (Channel.INBOX, Channel.SMS)
            else:
                title = f"{longest.label}已结束，{n}项会议要求逾期未完成"
                body = (
                    f"{branch.name}。逾期：{listing}。已召开的请尽快补录并报送；"
                    f"{escalate}天后仍未完成的将提醒上级党组织。"
                )
                level, channels = SEVERITY_DANGER, (Channel.INBOX, Channel.EMAIL, Channel.SMS)
            yield Due(
                rule=rule,
                subject_type="organizations.org",
                subject_id=branch.pk,
                occurrence=longest.key,
                recipient_ids=tuple(people[branch.pk]),
                due_at=send_time(nominal),
                title=title,
                body=body,
                org_id=branch.pk,
                level=level,
                url=url_for("meetings:compliance"),
                channels=channels,
            )


ESCALATION_LIST_MAX = 30


def _escalations(branches, gaps, longest: Period, due_at: dt.datetime, escalate: int):
    """One reminder per superior committee (the org whose staff are told) listing its branches
    still behind, not one per branch: a county office with a hundred late branches gets one
    message, not a hundred."""
    from apps.organizations.models import Org

    superiors = superior_with_staff(branches)
    grouped: dict[str, list] = {}
    for branch in branches:
        path, users = superiors[branch.pk]
        if path and users:
            grouped.setdefault(path, []).append(branch)
    orgs = {o.path: o for o in Org.objects.filter(path__in=list(grouped))}
    for path, late in grouped.items():
        superior = orgs[path]
        lines = [
            f"{b.name}（{'、'.join(dict.fromkeys(r.name for _p, r in gaps[b.pk]))}）"
            for b in late[:ESCALATION_LIST_MAX]
        ]
        more = f"等{len(late)}个党支部" if len(late) > ESCALATION_LIST_MAX else ""
        yield Due(
            rule="compliance.escalated",
            subject_type="organizations.org",
            subject_id=superior.pk,
            occurrence=longest.key,
            recipient_ids=tuple(superiors[late[0].pk][1]),
            due_at=due_at,
            title=f"下属{len(late)}个党支部{longest.label}会议要求逾期{escalate}天仍未完成",
            body=f"{'；'.join(lines)}{more}。请督促落实“三会一课”制度。",
            org_id=superior.pk,
            level=SEVERITY_DANGER,
            url=url_for("meetings:compliance"),
            channels=(Channel.INBOX, Channel.EMAIL),
        )


for _key, _label in (
    ("compliance.due_soon", "会议要求临期未完成（期末前7天，支部书记）"),
    ("compliance.overdue", "会议要求逾期未完成（支部书记）"),
    ("compliance.escalated", "会议要求逾期10天未完成（上级党组织）"),
):
    reminder_rule(_key, _label, still_valid=_compliance_still_valid, schedule="compliance")(
        lambda now, _rule=_key: compliance_dues(now, _rule)
    )


# --- event-driven reminders (called by other apps' services) ----------------------------------

event_rule("reports.ready", "季度报告已生成")  # written by apps.reports.services.report_notify


def reminders_report_ready(
    *, report, org, title: str, url: str = "", recipient_ids: Iterable[int] | None = None
) -> list[int]:
    """The reports app calls this in the transaction that finishes a quarterly report: the org's
    secretaries (or its own staff for a committee) get an inbox item at once."""
    from django.utils import timezone

    subject_type, subject_id = subject_of(report)
    recipients = (
        tuple(recipient_ids) if recipient_ids is not None else tuple(branch_people([org])[org.pk])
    )
    return reminders_upsert(
        dues=[
            Due(
                rule="reports.ready",
                subject_type=subject_type,
                subject_id=subject_id,
                occurrence="ready",
                recipient_ids=recipients,
                due_at=timezone.now(),
                title=title,
                url=url,
                org_id=org.pk,
            )
        ]
    )


# --- withdrawals called by other apps' services (in their transaction) ------------------------


def reminders_member_status_changed(*, member) -> int:
    """apps.members' status services (转正, 延长预备期, 取消预备党员资格, 停止党籍 ...) call this in
    their transaction: the member's pending reminders that the new status makes moot are
    withdrawn. Returns the number of deliveries withdrawn."""
    from apps.members.models import MEMBER_STATUSES, PROBATIONARY_STATUSES, MemberStatus
    from apps.notifications.models import ReminderState

    withdrawn = 0
    if member.status in PROBATIONARY_STATUSES:
        end = probation_end(member)
        withdrawn += reminders_withdraw(
            subject=member,
            rules=["member.probation_ending"],
            keep_occurrences=[end.isoformat()] if end else [],
            reason="预备期已延长",
        )
    else:
        withdrawn += reminders_withdraw(
            subject=member,
            rules=["member.probation_ending"],
            reason="已转正" if member.status == MemberStatus.FULL else "党员状态已变更",
        )
    # Approval deadlines: 接收 applies to a 发展对象, 转正 to a probationary member.
    moot = []
    if member.status != MemberStatus.CANDIDATE:
        moot.append("接收:")
    if member.status not in PROBATIONARY_STATUSES:
        moot.append("转正:")
    if moot:
        ids = [
            pk
            for pk, occurrence in Reminder.objects.filter(
                rule="member.development_approval",
                subject_type="members.member",
                subject_id=member.pk,
                state=ReminderState.ACTIVE,
            ).values_list("pk", "occurrence")
            if occurrence.startswith(tuple(moot))
        ]
        withdrawn += reminders_withdraw_ids(ids, reason="已审批")
    if member.status not in MEMBER_STATUSES:
        withdrawn += reminders_withdraw(
            subject=member,
            rules=["member.dues_arrears", "member.lost_contact"],
            reason="党员状态已变更",
        )
    # Whatever else the change made moot (恢复党籍 also ends 失联 ...).
    withdrawn += reminders_member_changed(member=member, reason="党员状态已变更")
    return withdrawn


MEMBER_RULES = (
    "member.probation_ending",
    "member.lost_contact",
    "member.dues_arrears",
    "member.development_talk",
    "member.development_approval",
)


def reminders_member_changed(*, member, reason: str = "党员信息已变更") -> int:
    """apps.members' services call this in the transaction of any write that can make a member
    reminder moot without a status change (contact restored, a talk or an approval recorded,
    a probation end corrected): every active reminder about the member whose rule no longer
    holds (`still_valid`) is withdrawn. Idempotent. Returns the deliveries withdrawn."""
    from apps.notifications.models import ReminderState

    verdicts: dict[tuple[str, str], bool] = {}
    stale = []
    for reminder in Reminder.objects.filter(
        rule__in=MEMBER_RULES,
        subject_type="members.member",
        subject_id=member.pk,
        state=ReminderState.ACTIVE,
    ):
        key = (reminder.rule, reminder.occurrence)
        if key not in verdicts:
            verdicts[key] = reminder_still_valid(reminder)
        if not verdicts[key]:
            stale.append(reminder.pk)
    return reminders_withdraw_ids(stale, reason=reason)


def reminders_dues_paid(*, member, months: Iterable[dt.date]) -> int:
    """apps.members.services.dues_pay calls this in its transaction: arrears reminders about a
    run of unpaid months that the payment breaks are withdrawn (the SMS held for the morning
    never tells a member who paid last night that they are in arrears)."""
    paid = {(m.year, m.month) for m in months}
    ids = []
    for pk, occurrence in Reminder.objects.filter(
        rule="member.dues_arrears",
        subject_type="members.member",
        subject_id=member.pk,
        state="active",
    ).values_list("pk", "occurrence"):
        first_text, _, n = occurrence.partition("/")
        first = dt.date.fromisoformat(first_text + "-01")
        streak = {(d.year, d.month) for d in (add_months(first, i) for i in range(int(n or 1)))}
        if streak & paid:
            ids.append(pk)
    return reminders_withdraw_ids(ids, reason="党费已交纳")


def reminders_term_changed(*, term) -> int:
    """apps.organizations' term services call this in their transaction: a new term elected
    (换届: the old term closed) withdraws every reminder of the old term; a request submitted
    withdraws the "please request" ones; an approved extension withdraws those about the old
    end date."""
    from apps.organizations.models import TermState

    rules = ["term.superior", "term.branch", "term.overdue"]
    if term.state in (TermState.CLOSED, TermState.RESULT_APPROVED):
        return reminders_withdraw(subject=term, rules=rules, reason="已换届")
    if term.state in (
        TermState.REQUEST_SUBMITTED,
        TermState.REQUEST_APPROVED,
        TermState.ELECTION_HELD,
    ):
        return reminders_withdraw(
            subject=term, rules=["term.superior", "term.branch"], reason="已请示换届"
        )
    return reminders_withdraw(
        subject=term,
        rules=rules,
        keep_occurrences=[term_end(term).isoformat()],
        reason="任期届满日期已变更（延期）",
    )
