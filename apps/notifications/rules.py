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

from django.urls import NoReverseMatch, reverse

from apps.core.periods import add_months, add_years, local_date, local_midnight
from apps.core.rules import register, rule_value
from apps.notifications.models import Channel
from apps.notifications.selectors import branch_people, superior_staff
from apps.notifications.services import Due, reminders_upsert, subject_of

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


RULES: dict[str, ReminderRule] = {}


def reminder_rule(key: str, label: str):
    def decorate(collect):
        RULES[key] = ReminderRule(key=key, label=label, collect=collect)
        return collect

    return decorate


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


@reminder_rule("term.superior", "换届提醒（上级党组织，任期届满前6个月）")
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


@reminder_rule("term.branch", "换届提醒（本级党组织，任期届满前2个月）")
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


@reminder_rule("term.overdue", "逾期未换届")
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
    """预备期满日: one year from the branch meeting that admitted the member (DOMAIN §3.2)."""
    return add_years(member.joined_on, 1) if member.joined_on else None


@reminder_rule("member.probation_ending", "预备期将满")
def member_probation_ending(now: dt.datetime) -> Iterable[Due]:
    from apps.members.models import Member, MemberStatus

    today = local_date(now)
    months = int(rule_value("notifications.probation_notice_months"))
    # Coarse SQL bound, exact check below (month-end clamping makes add_months one-way).
    candidates = (
        Member.objects.filter(status=MemberStatus.PROBATIONARY, joined_on__isnull=False)
        .filter(joined_on__lte=add_months(today, months - 12) + dt.timedelta(days=3))
        .filter(joined_on__gte=add_months(today, -13) - dt.timedelta(days=3))
        .select_related("branch")
        .only(
            "id", "name", "joined_on", "branch__id", "branch__path", "branch__name", "branch__depth"
        )
    )
    members = []
    for member in candidates:
        end = probation_end(member)
        if add_months(end, -months) <= today <= add_months(end, 1):
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


# --- event-driven reminders (called by other apps' services) ----------------------------------

event_rule("report.ready", "季度报告已生成")


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
                rule="report.ready",
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
