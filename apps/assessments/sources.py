"""The automatic-score sources: small functions that measure one thing about an org.

Each source has a `code`, a Chinese `label`, a `unit`, and computes, for a batch of orgs, one
`SourceResult(value, details)` per org as of a cut-off date within a cycle's year. `details`
are the rows behind the value: each names the record (`type` = app_label.model, `id`), so a
branch sees exactly which meeting, term, position or member cost it points.

`compute(org, cycle, cutoff)` is the one-org form; `compute_many(orgs, cycle, cutoff)` is
what cycle-wide computations and the 软弱涣散 screening call, with a fixed number of queries
per source however many orgs there are.

Sources whose data belongs to an app that is not on main yet are registered as *waiting*:
they report `available=False`, and their indicators are scored by hand until the app lands.
"""

from __future__ import annotations

import datetime as dt
import importlib
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.urls import NoReverseMatch, reverse

from apps.core.periods import add_months, add_years

# --- result types ---------------------------------------------------------------------


@dataclass
class SourceResult:
    value: Decimal | None
    details: list[dict[str, Any]] = field(default_factory=list)
    available: bool = True
    explanation: str = ""


def detail(
    type_: str, id_: int | None, label: str, *, date: dt.date | None = None, note: str = ""
) -> dict:
    return {
        "type": type_,
        "id": id_,
        "label": label,
        "date": date.isoformat() if date else "",
        "note": note,
    }


# Pages where a detail row's record can be opened (resolved at render time: a link appears as
# soon as the owning app has the page).
RECORD_URLS = {
    "organizations.org": "organizations:detail",
    "organizations.term": "organizations:term",
    "organizations.committeeposition": "organizations:detail",
    "members.member": "members:detail",
    "meetings.meeting": "meetings:detail",
    "assessments.dutyreport": "assessments:duty_report",
}


def record_url(row: dict) -> str:
    if row.get("type") == "meetings.period":
        branch_id, _, month = str(row.get("url_id", "")).partition(":")
        try:
            return f"{reverse('meetings:calendar')}?branch={int(branch_id)}&month={month}"
        except (NoReverseMatch, ValueError):
            return ""
    name = RECORD_URLS.get(row.get("type", ""))
    if not name or row.get("id") is None:
        return ""
    target = row.get("url_id", row["id"])
    try:
        return reverse(name, args=[target])
    except NoReverseMatch:
        return ""


@dataclass(frozen=True)
class Window:
    """The stretch of the cycle's year that a computation looks at: 1 Jan .. cutoff."""

    start: dt.date
    end: dt.date  # inclusive

    @classmethod
    def of(cls, cycle, cutoff: dt.date) -> Window:
        start = dt.date(cycle.year, 1, 1)
        end = min(cutoff, dt.date(cycle.year, 12, 31))
        return cls(start=start, end=max(start, end))


def months_between(start: dt.date, end: dt.date) -> int:
    """Completed months from start to end (0 when end < start + 1 month)."""
    if end < start:
        return 0
    months = (end.year - start.year) * 12 + end.month - start.month
    if add_months(start, months) > end:
        months -= 1
    return max(0, months)


# --- the registry ---------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    code: str
    label: str
    unit: str
    compute_many: Callable[[list, Any, dt.date], dict[int, SourceResult]]
    requires: str = ""  # "module:function" that must exist for the source to be live
    waiting_for: str = ""  # the app whose data it needs (shown while not available)

    @property
    def available(self) -> bool:
        if not self.requires:
            return True
        module_name, _, attr = self.requires.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            return False
        return hasattr(module, attr)

    def compute(self, org, cycle, cutoff: dt.date) -> SourceResult:
        return self.run([org], cycle, cutoff)[org.pk]

    def run(self, orgs: list, cycle, cutoff: dt.date) -> dict[int, SourceResult]:
        if not self.available:
            waiting = SourceResult(
                value=None,
                available=False,
                explanation=f"数据来源“{self.label}”待{self.waiting_for}模块接入，暂按人工评分",
            )
            return {org.pk: waiting for org in orgs}
        results = self.compute_many(orgs, cycle, cutoff)
        return {org.pk: results.get(org.pk, SourceResult(Decimal(0))) for org in orgs}


SOURCES: dict[str, Source] = {}


def source(code: str, label: str, unit: str = "", *, requires: str = "", waiting_for: str = ""):
    def decorate(fn: Callable[[list, Any, dt.date], dict[int, SourceResult]]):
        SOURCES[code] = Source(code, label, unit, fn, requires=requires, waiting_for=waiting_for)
        return fn

    return decorate


def get_source(code: str) -> Source | None:
    return SOURCES.get(code)


def source_choices() -> list[tuple[str, str]]:
    return [(s.code, s.label) for s in SOURCES.values()]


def _ids(orgs: Iterable) -> list[int]:
    return [o.pk for o in orgs]


# --- organizations: terms and committees (live) ---------------------------------------


def term_overdue_months(term, cutoff: dt.date) -> int:
    """Months a term is past its deadline at `cutoff` (the organizations app's own rule:
    `term_status(...).overdue`); -1 when it is not overdue."""
    from apps.organizations.rules import term_deadline, term_status

    if not term_status(term, cutoff).overdue:
        return -1
    return months_between(term_deadline(term), cutoff)


@source("org.term_overdue", "未按期换届（逾期天数）", "天")
def _term_overdue(orgs, cycle, cutoff):
    from apps.organizations.models import Term

    out: dict[int, SourceResult] = {}
    terms = (
        Term.objects.filter(org_id__in=_ids(orgs))
        .exclude(state="closed")
        .order_by("org_id", "-number")
    )
    for term in terms:
        if term.org_id in out:
            continue
        months = term_overdue_months(term, cutoff)
        if months < 0:
            out[term.org_id] = SourceResult(Decimal(0))
            continue
        end = term.extension_until or term.ends_on
        days = (cutoff - end).days
        if days <= 0:
            out[term.org_id] = SourceResult(Decimal(0))
            continue
        out[term.org_id] = SourceResult(
            Decimal(days),
            [
                detail(
                    "organizations.term",
                    term.pk,
                    f"第{term.number}届（{term.elected_on}选举）",
                    date=end,
                    note=f"任期于{end}届满，截至{cutoff}未完成换届，逾期{days}天（{months}个月）",
                )
            ],
            explanation=f"任期届满逾期{days}天",
        )
    return out


def vacancies(
    positions: list, since: dt.date, cutoff: dt.date
) -> list[tuple[dt.date, dt.date, Any, bool]]:
    """Gaps in secretary coverage between `since` and `cutoff`:
    [(start, end, previous position, still open at the cut-off)]."""
    spans = sorted(
        ((p.started_on, p.ended_on or dt.date.max, p) for p in positions if p.started_on <= cutoff),
        key=lambda s: (s[0], s[1]),
    )
    gaps: list[tuple[dt.date, dt.date, Any, bool]] = []
    covered_until = since
    previous = None
    for start, end, position in spans:
        if start > covered_until:
            gaps.append((covered_until, start, previous, False))
        if end > covered_until:
            covered_until = end
            previous = position
    if covered_until < cutoff:
        gaps.append((covered_until, cutoff, previous, True))
    return gaps


def leadership_on_record_since(orgs, cutoff: dt.date) -> dict[int, dt.date | None]:
    """From when the platform's records can show a 书记 vacancy, per org (None: no record).

    Before an org's 班子 is on record the platform knows nothing either way: a branch whose
    secretaries before the current term were never entered is not "vacant" for those years.
    The records start at the earliest of: the first recorded committee position of any kind,
    and the election of the org's current (open) term; an org founded in or after the cycle
    year is on record from its founding."""
    from django.db.models import Min

    from apps.organizations.models import CommitteePosition, Term

    ids = _ids(orgs)
    first_position = dict(
        CommitteePosition.objects.filter(org_id__in=ids)
        .values("org_id")
        .annotate(first=Min("started_on"))
        .values_list("org_id", "first")
    )
    open_term = dict(
        Term.objects.filter(org_id__in=ids, elected_on__lte=cutoff)
        .exclude(state="closed")
        .values("org_id")
        .annotate(first=Min("elected_on"))
        .values_list("org_id", "first")
    )
    out: dict[int, dt.date | None] = {}
    for org in orgs:
        dates = [d for d in (first_position.get(org.pk), open_term.get(org.pk)) if d]
        since = min(dates) if dates else None
        founded = org.founded_on
        if founded and since is not None and since < founded:
            since = founded  # not before the org existed
        elif founded and since is None and founded.year >= cutoff.year:
            since = founded  # founded in the cycle year: on record from its founding
        out[org.pk] = since
    return out


@source("org.secretary_vacant_months", "书记空缺（最长连续月数）", "月")
def _secretary_vacant(orgs, cycle, cutoff):
    """Gaps in 书记 coverage that the records show (see `leadership_on_record_since`)."""
    from apps.organizations.models import CommitteePosition, Position

    window = Window.of(cycle, cutoff)
    by_org: dict[int, list] = defaultdict(list)
    rows = CommitteePosition.objects.filter(
        org_id__in=_ids(orgs), position=Position.SECRETARY
    ).select_related("member")
    for p in rows:
        by_org[p.org_id].append(p)
    on_record = leadership_on_record_since(orgs, window.end)
    out: dict[int, SourceResult] = {}
    for org in orgs:
        since = on_record[org.pk]
        if since is None:
            out[org.pk] = SourceResult(
                Decimal(0), [], explanation="无班子任职或届次记录，无法判断书记空缺"
            )
            continue
        longest = 0
        rows_out = []
        for start, end, previous, still_open in vacancies(
            by_org.get(org.pk, []), since, window.end
        ):
            if end < window.start:
                continue  # a gap that closed before the cycle year
            months = months_between(start, end)
            longest = max(longest, months)
            extra = {"months": months, "open": still_open}
            if previous is not None:
                row = detail(
                    "organizations.committeeposition",
                    previous.pk,
                    f"原书记 {previous.member.name}（离任）",
                    date=start,
                    note=f"{start} 起书记空缺至 {end}，{months} 个月",
                )
                rows_out.append(row | extra | {"url_id": org.pk})
            else:
                row = detail(
                    "organizations.org",
                    org.pk,
                    "无书记任职记录",
                    date=start,
                    note=f"{start} 起（班子有记录以来）无书记任职记录，至 {end} 共 {months} 个月",
                )
                rows_out.append(row | extra)
        out[org.pk] = SourceResult(
            Decimal(longest), rows_out, explanation=f"最长连续空缺{longest}个月" if rows_out else ""
        )
    return out


@source("org.committee_incomplete", "班子配备不齐", "项")
def _committee_incomplete(orgs, cycle, cutoff):
    """正式党员 ≥ 7 requires a committee of at least 3 (DOMAIN §1.2); a secretary is always required
    (measured by the vacancy source)."""
    from django.db.models import Count, Q

    from apps.members.models import Member, MemberStatus
    from apps.organizations.models import CommitteePosition, Position

    full = dict(
        Member.objects.filter(branch_id__in=_ids(orgs), status=MemberStatus.FULL)
        .values("branch_id")
        .annotate(n=Count("id"))
        .values_list("branch_id", "n")
    )
    open_positions = Q(started_on__lte=cutoff) & (Q(ended_on__isnull=True) | Q(ended_on__gt=cutoff))
    committee = dict(
        CommitteePosition.objects.filter(open_positions, org_id__in=_ids(orgs))
        .exclude(position=Position.GROUP_LEADER)
        .values("org_id")
        .annotate(n=Count("member_id", distinct=True))
        .values_list("org_id", "n")
    )
    out = {}
    for org in orgs:
        n_full, n_committee = full.get(org.pk, 0), committee.get(org.pk, 0)
        if n_full >= 7 and n_committee < 3:
            out[org.pk] = SourceResult(
                Decimal(1),
                [
                    detail(
                        "organizations.org",
                        org.pk,
                        "支部委员会",
                        date=cutoff,
                        note=f"正式党员{n_full}人，应设支部委员会（3–5人），现有班子成员{n_committee}人",
                    )
                ],
                explanation="班子配备不齐",
            )
        else:
            out[org.pk] = SourceResult(Decimal(0))
    return out


# --- members: statuses and dates on Member (live) -------------------------------------


@source("members.probation_overdue", "发展党员时限违规（预备期满未按期转正）", "人")
def _probation_overdue(orgs, cycle, cutoff):
    """A probationary member whose probation (`probation_ends_on`, kept by the members app
    including an extension; else one year from joining) ended before the cut-off and who is
    still probationary (DOMAIN §3.2)."""
    from apps.members.models import Member, MemberStatus

    rows = Member.objects.filter(
        branch_id__in=_ids(orgs),
        status__in=[MemberStatus.PROBATIONARY, MemberStatus.PROBATION_EXTENDED],
    ).order_by("joined_on", "id")
    found: dict[int, list] = defaultdict(list)
    for m in rows:
        due = m.probation_ends_on
        if due is None and m.joined_on is not None:
            due = add_years(m.joined_on, 2 if m.status == MemberStatus.PROBATION_EXTENDED else 1)
        if due is not None and due < cutoff:
            found[m.branch_id].append(
                detail(
                    "members.member",
                    m.pk,
                    m.name,
                    date=due,
                    note=f"{m.joined_on} 接收为预备党员，预备期于 {due} 届满，截至 {cutoff} 仍未讨论转正",
                )
            )
    out: dict[int, SourceResult] = {}
    for org in orgs:
        rows_out = found.get(org.pk, [])
        out[org.pk] = SourceResult(
            Decimal(len(rows_out)),
            rows_out,
            explanation=f"{len(rows_out)}人预备期满未按期转正" if rows_out else "",
        )
    return out


@source("members.developed_recent", "近两年发展党员数", "人")
def _developed_recent(orgs, cycle, cutoff):
    from apps.core.rules import rule_value
    from apps.members.models import Member

    years = rule_value("assessments.weak.no_development_years")
    since = add_years(cutoff, -years)
    found: dict[int, list] = defaultdict(list)
    for m in Member.objects.filter(
        branch_id__in=_ids(orgs), joined_on__gt=since, joined_on__lte=cutoff
    ):
        found[m.branch_id].append(
            detail("members.member", m.pk, m.name, date=m.joined_on, note="接收为预备党员")
        )
    out = {}
    for org in orgs:
        rows_out = found.get(org.pk, [])
        note = f"{since} 至 {cutoff} 发展党员{len(rows_out)}人"
        out[org.pk] = SourceResult(Decimal(len(rows_out)), rows_out, explanation=note)
    return out


# --- assessments: 述职评议 (live, own data) ------------------------------------------------


@source("assessments.duty_review_score", "述职评议综合得分", "分")
def _duty_review_score(orgs, cycle, cutoff):
    from apps.assessments.models import DutyReport

    out = {}
    reports = (
        {r.org_id: r for r in DutyReport.objects.filter(cycle=cycle, org_id__in=_ids(orgs))}
        if getattr(cycle, "pk", None)
        else {}
    )
    for org in orgs:
        report = reports.get(org.pk)
        if report is None:
            out[org.pk] = SourceResult(Decimal(0), [], explanation="未提交述职报告")
        else:
            score = report.score or Decimal(0)
            out[org.pk] = SourceResult(
                score,
                [
                    detail(
                        "assessments.dutyreport",
                        report.pk,
                        "书记述职报告",
                        date=report.submitted_at.date(),
                        note=f"评议得分{score}，等次{report.get_grade_display() or '待评议'}",
                    )
                ],
                explanation=f"评议得分{score}",
            )
    return out


# --- members: dues and study hours (live; the members app's tables) ------------------------
# The members selectors take a user and one branch; a cycle computation covers a whole subtree
# in a fixed number of queries, so these read the members app's rollup and ledger tables
# directly (DuesBranchMonth is the rollup the members app keeps on every ledger write).


def _dues_months(window: Window) -> tuple[dt.date, dt.date]:
    """Months whose dues are due by the cut-off: January .. the month before the cut-off's."""
    first = window.start
    last = dt.date(window.end.year, window.end.month, 1)
    return first, add_months(last, -1)


@source("members.dues_collection_rate", "党费收缴率", "%")
def _dues_rate(orgs, cycle, cutoff):
    from django.db.models import F, Sum

    from apps.members.models import DuesBranchMonth, DuesMonth

    first, last = _dues_months(Window.of(cycle, cutoff))
    sums = {
        r["branch_id"]: r
        for r in DuesBranchMonth.objects.filter(
            branch_id__in=_ids(orgs), month__gte=first, month__lte=last
        )
        .values("branch_id")
        .annotate(expected=Sum("expected"), paid=Sum("paid"))
    }
    short: dict[int, list] = defaultdict(list)
    for row in (
        DuesMonth.objects.filter(
            branch_id__in=_ids(orgs),
            month__gte=first,
            month__lte=last,
            paid__lt=F("expected") - F("waived"),
        )
        .select_related("member")
        .order_by("member__name", "month")[:5000]
    ):
        short[row.branch_id].append(
            detail(
                "members.member",
                row.member_id,
                row.member.name,
                date=row.month,
                note=f"{row.month:%Y年%m月} 应交{row.expected - row.waived}元，已交{row.paid}元",
            )
        )
    out = {}
    for org in orgs:
        agg = sums.get(org.pk)
        if not agg or not agg["expected"]:
            out[org.pk] = SourceResult(Decimal(100), [], explanation="无应交党费记录")
            continue
        rate = (Decimal(agg["paid"]) / Decimal(agg["expected"]) * 100).quantize(Decimal("0.01"))
        rate = min(rate, Decimal(100))
        out[org.pk] = SourceResult(
            rate,
            short.get(org.pk, [])[:100],
            explanation=f"{first:%Y年%m月}至{last:%m月}应交{agg['expected']}元，实交{agg['paid']}元，收缴率{rate}%",
        )
    return out


@source("members.dues_arrears", "欠缴党费人数", "人")
def _dues_arrears(orgs, cycle, cutoff):
    from django.db.models import F

    from apps.members.models import DuesMonth

    first, last = _dues_months(Window.of(cycle, cutoff))
    by_member: dict[tuple[int, int], list] = defaultdict(list)
    names = {}
    for row in (
        DuesMonth.objects.filter(
            branch_id__in=_ids(orgs),
            month__gte=first,
            month__lte=last,
            paid__lt=F("expected") - F("waived"),
        )
        .select_related("member")
        .order_by("month")
    ):
        by_member[(row.branch_id, row.member_id)].append(row.month)
        names[row.member_id] = row.member.name
    found: dict[int, list] = defaultdict(list)
    for (branch_id, member_id), months in by_member.items():
        found[branch_id].append(
            detail(
                "members.member",
                member_id,
                names[member_id],
                date=months[0],
                note=f"欠缴{len(months)}个月：{'、'.join(f'{m:%Y-%m}' for m in months[:12])}",
            )
        )
    out = {}
    for org in orgs:
        rows_out = sorted(found.get(org.pk, []), key=lambda d: d["label"])
        out[org.pk] = SourceResult(
            Decimal(len(rows_out)),
            rows_out,
            explanation=f"{len(rows_out)}人欠缴党费" if rows_out else "",
        )
    return out


@source("members.study_hours_attainment", "学时达标率", "%")
def _study_hours(orgs, cycle, cutoff):
    """Share of party members whose study hours this year reach the requirement (32; 56 for
    secretaries and committee members, the members app's `study_required`)."""
    from django.db.models import Sum

    from apps.members.models import Member, StudyRecord
    from apps.members.selectors import leader_member_ids, study_required

    window = Window.of(cycle, cutoff)
    members = list(
        Member.objects.filter(branch_id__in=_ids(orgs))
        .party_members()
        .only("id", "name", "branch_id")
    )
    ids = [m.pk for m in members]
    hours = dict(
        StudyRecord.objects.filter(
            member_id__in=ids, held_on__gte=window.start, held_on__lte=window.end
        )
        .values("member_id")
        .annotate(h=Sum("hours"))
        .values_list("member_id", "h")
    )
    leaders = leader_member_ids(ids)
    per_branch: dict[int, list] = defaultdict(list)
    for m in members:
        per_branch[m.branch_id].append(m)
    out = {}
    for org in orgs:
        rows = per_branch.get(org.pk, [])
        if not rows:
            out[org.pk] = SourceResult(Decimal(100), [], explanation="无党员")
            continue
        missing = []
        for m in sorted(rows, key=lambda m: m.name):
            need = study_required(m.pk in leaders)
            got = hours.get(m.pk) or Decimal(0)
            if got < need:
                missing.append(
                    detail("members.member", m.pk, m.name, note=f"学时{got}，要求{need}")
                )
        rate = (Decimal(len(rows) - len(missing)) / len(rows) * 100).quantize(Decimal("0.01"))
        out[org.pk] = SourceResult(
            rate,
            missing[:100],
            explanation=f"{len(rows)}名党员中{len(rows) - len(missing)}人学时达标",
        )
    return out


# --- meetings: 三会一课 and other organisational life (live) ---------------------------------
# One call of the meetings app's `meeting_facts_for_assessment` per batch (a fixed number of
# queries for any number of branches), shared by every meetings source of one computation.


def _meeting_facts(orgs, cycle, cutoff, *, year: int | None = None) -> dict:
    from apps.meetings.selectors import meeting_facts_for_assessment

    key = (tuple(sorted(_ids(orgs))), year or cycle.year, cutoff)
    cache = getattr(cycle, "_meeting_facts", None)
    if cache is None:
        cache = cycle._meeting_facts = {}
    if key not in cache:
        cache[key] = meeting_facts_for_assessment(
            branch_ids=list(key[0]), year=key[1], cutoff=cutoff
        )
    return cache[key]


def period_url_id(branch_id: int, period_key: str) -> str:
    """The month the meetings calendar opens on for a missed period (a quarter or a year opens
    on its first month)."""
    from apps.core.periods import Period

    period = Period.parse(period_key)
    return f"{branch_id}:{period.start:%Y-%m}"


MISSED = {
    # source code: (meeting kind, its label, unit label)
    "meetings.committee_meeting_missed": ("committee_meeting", "支委会", "个月"),
    "meetings.general_meeting_missed": ("general_meeting", "党员大会", "个季度"),
    "meetings.group_meeting_missed": ("group_meeting", "党小组会", "个月"),
    "meetings.party_lecture_missed": ("party_lecture", "党课", "个季度"),
    "meetings.theme_day_missed": ("theme_day", "主题党日", "个月"),
}


def _missed_source(kind: str, label: str, unit: str):
    def compute(orgs, cycle, cutoff):
        facts = _meeting_facts(orgs, cycle, cutoff)
        out = {}
        for org in orgs:
            f = facts[org.pk]
            missed = f.missed.get(kind, [])
            if kind not in f.applicable:
                out[org.pk] = SourceResult(Decimal(0), [], explanation=f"本支部不适用{label}要求")
                continue
            rows = [
                detail(
                    "meetings.period",
                    org.pk,
                    m.label,
                    note=f"{m.requirement}：该期间已报送{m.count}次，未达到要求",
                )
                | {"url_id": period_url_id(org.pk, m.period_key), "period": m.period_key}
                for m in missed
            ]
            out[org.pk] = SourceResult(
                Decimal(len(rows)),
                rows,
                explanation=(
                    f"截至{cutoff}，{label}缺开{len(rows)}{unit}（{'、'.join(m.label for m in missed)}）"
                    if rows
                    else f"截至{cutoff}，{label}均按要求召开"
                ),
            )
        return out

    return compute


for _code, (_kind, _label, _unit) in MISSED.items():
    SOURCES[_code] = Source(
        _code, f"{_label}缺开{_unit[1:]}数", _unit[1:], _missed_source(_kind, _label, _unit)
    )


@source("meetings.attendance_rate", "党员参会率", "%")
def _attendance_rate(orgs, cycle, cutoff):
    """Present (incl. online) / expected over the counted meetings from 1 January to the cut-off;
    the detail rows are the meetings with absentees, most absentees first."""
    facts = _meeting_facts(orgs, cycle, cutoff)
    out = {}
    for org in orgs:
        f = facts[org.pk]
        if not f.expected:
            out[org.pk] = SourceResult(
                Decimal(0), [], explanation=f"截至{cutoff}无已报送的会议记录，参会率按0计"
            )
            continue
        rate = (Decimal(f.present) / Decimal(f.expected) * 100).quantize(Decimal("0.01"))
        rows = [
            detail(
                "meetings.meeting",
                m.id,
                m.title,
                date=m.date,
                note=f"应到{m.expected}人，实到{m.present}人，缺{m.expected - m.present}人",
            )
            for m in f.absences
        ]
        out[org.pk] = SourceResult(
            rate,
            rows,
            explanation=f"截至{cutoff}应到{f.expected}人次，实到{f.present}人次，参会率{rate}%",
        )
    return out


HELD = {
    # source code: (meeting kind, what it is)
    "meetings.org_life_held": ("org_life_meeting", "组织生活会"),
    "meetings.appraisal_held": ("member_appraisal", "民主评议党员"),
    "meetings.secretary_lecture_held": ("secretary_lecture", "书记讲党课"),
    "meetings.talks_held": ("talk", "谈心谈话"),
}


def _held_source(kind: str, label: str):
    def compute(orgs, cycle, cutoff):
        facts = _meeting_facts(orgs, cycle, cutoff)
        out = {}
        for org in orgs:
            f = facts[org.pk]
            held = f.held.get(kind, [])
            if held:
                rows = [
                    detail("meetings.meeting", m.id, m.title, date=m.date, note=f"已开展{label}")
                    for m in held
                ]
                out[org.pk] = SourceResult(
                    Decimal(len(held)),
                    rows,
                    explanation=f"{cycle.year}年已开展{label}{len(held)}次",
                )
            elif kind in f.exempt:
                out[org.pk] = SourceResult(
                    Decimal(1), [], explanation=f"{cycle.year}年{label}{f.exempt[kind]}"
                )
            else:
                row = detail(
                    "meetings.period",
                    org.pk,
                    f"{cycle.year}年",
                    note=f"{cycle.year}年1月1日至{cutoff}无已报送的{label}记录",
                ) | {"url_id": f"{org.pk}:{cycle.year}-01", "period": str(cycle.year)}
                out[org.pk] = SourceResult(
                    Decimal(0), [row], explanation=f"截至{cutoff}未开展{label}"
                )
        return out

    return compute


for _code, (_kind, _label) in HELD.items():
    SOURCES[_code] = Source(_code, f"{_label}开展次数", "次", _held_source(_kind, _label))


SANHUI_KINDS = ("general_meeting", "committee_meeting", "group_meeting", "party_lecture")
SANHUI_LABELS = {
    "general_meeting": "支部党员大会",
    "committee_meeting": "支部委员会会议",
    "group_meeting": "党小组会",
    "party_lecture": "党课",
}


def quarters_before(cutoff: dt.date, count: int = 4) -> list:
    """The `count` calendar quarters that ended on or before the cut-off, oldest first."""
    from apps.core.periods import Period, PeriodKind

    quarter = Period.containing(PeriodKind.QUARTER, cutoff)
    if quarter.end > cutoff:
        quarter = quarter.previous()
    out = []
    for _ in range(count):
        out.append(quarter)
        quarter = quarter.previous()
    return out[::-1]


@source("meetings.sanhui_overdue_quarters", "“三会一课”整季度未开展（季度数）", "季度")
def _sanhui_overdue_quarters(orgs, cycle, cutoff):
    """软弱涣散 screening (DOMAIN §6.3 item 4): of the four quarters that ended on or before the
    cut-off, those in which the branch met none of its 三会一课 requirements — every applicable
    kind (党员大会, 支委会, 党小组会, 党课) was missed in the quarter, in each of its months for a
    monthly kind. Exempt periods are not missed. Detail rows name the quarter and the kinds."""
    quarters = quarters_before(cutoff)
    facts_by_year = {}
    for year in sorted({q.year for q in quarters}):
        day = cutoff if year == cutoff.year else dt.date(year, 12, 31)
        facts_by_year[year] = _meeting_facts(orgs, cycle, day, year=year)
    out = {}
    for org in orgs:
        rows = []
        for q in quarters:
            f = facts_by_year[q.year][org.pk]
            kinds = [k for k in SANHUI_KINDS if k in f.applicable]
            if not kinds:
                continue
            missed_keys = {k: {m.period_key for m in f.missed.get(k, [])} for k in kinds}
            whole = all(
                q.key in keys or all(m.key in keys for m in q.months())
                for keys in missed_keys.values()
            )
            if whole:
                names = "、".join(SANHUI_LABELS[k] for k in kinds)
                rows.append(
                    detail(
                        "meetings.period",
                        org.pk,
                        q.label,
                        note=f"整季度未按规定开展“三会一课”（{names}均未达到要求）",
                    )
                    | {"url_id": period_url_id(org.pk, q.key), "period": q.key}
                )
        out[org.pk] = SourceResult(
            Decimal(len(rows)),
            rows,
            explanation=(
                f"{quarters[0].label}至{quarters[-1].label}有{len(rows)}个季度整季度未开展“三会一课”"
                if rows
                else ""
            ),
        )
    return out


@source("meetings.returned_records", "会议记录被上级退回次数", "次")
def _returned_records(orgs, cycle, cutoff):
    facts = _meeting_facts(orgs, cycle, cutoff)
    out = {}
    for org in orgs:
        returned = facts[org.pk].returned
        rows = [
            detail("meetings.meeting", m.id, m.title, date=m.date, note=m.note) for m in returned
        ]
        out[org.pk] = SourceResult(
            Decimal(len(rows)),
            rows,
            explanation=f"截至{cutoff}有{len(rows)}份会议记录被上级退回" if rows else "",
        )
    return out


# --- members: development pipeline timing (live) -------------------------------------------


@source("members.development_violations", "发展党员程序时限违规", "次")
def _development_violations(orgs, cycle, cutoff):
    """The development steps (DevelopmentStep rows) that broke a time limit of DOMAIN §3.2, by
    the deadline (or the late step) falling between 1 January and the cut-off:
    - 谈话: step 2 more than 1 month after the application (step 1), or still missing once the
      month is over;
    - 积极分子 → 发展对象: step 7 less than one year after step 3;
    - 上级党委审批 of admission (17 after 15) and of confirmation (24 after 23): more than 3 months
      without a recorded reason, or more than 6 months in any case; or still missing after 3
      months."""
    from apps.members import rules as mrules
    from apps.members.models import DevelopmentStep, MemberStatus

    window = Window.of(cycle, cutoff)
    steps: dict[int, dict[int, dict]] = defaultdict(dict)
    info: dict[int, tuple[int, str, str]] = {}
    for row in DevelopmentStep.objects.filter(
        member__branch_id__in=_ids(orgs), step__in=[1, 2, 3, 7, 15, 17, 23, 24]
    ).values(
        "member_id",
        "member__name",
        "member__branch_id",
        "member__status",
        "step",
        "done_on",
        "late_reason",
    ):
        steps[row["member_id"]].setdefault(row["step"], row)  # first occurrence
        info[row["member_id"]] = (
            row["member__branch_id"],
            row["member__name"],
            row["member__status"],
        )

    def inside(day: dt.date) -> bool:
        return window.start <= day <= window.end

    found: dict[int, list] = defaultdict(list)

    def flag(member_id: int, day: dt.date, note: str) -> None:
        branch_id, name, _status = info[member_id]
        found[branch_id].append(detail("members.member", member_id, name, date=day, note=note))

    for member_id, by_step in steps.items():
        status = info[member_id][2]
        if 1 in by_step:
            applied = by_step[1]["done_on"]
            due = add_months(applied, mrules.TALK_WITHIN_MONTHS)
            talk = by_step.get(2)
            if talk and talk["done_on"] > due and inside(talk["done_on"]):
                flag(
                    member_id,
                    talk["done_on"],
                    f"{applied} 递交申请，{talk['done_on']} 才谈话（应于{due}前）",
                )
            elif not talk and status == MemberStatus.APPLICANT and due < window.end and inside(due):
                flag(member_id, due, f"{applied} 递交申请，截至{window.end}未谈话（应于{due}前）")
        if 3 in by_step and 7 in by_step:
            activist, candidate = by_step[3]["done_on"], by_step[7]["done_on"]
            if candidate < add_years(activist, mrules.ACTIVIST_MIN_YEARS) and inside(candidate):
                flag(
                    member_id,
                    candidate,
                    f"{activist} 确定为积极分子，{candidate} 即确定为发展对象（培养不满一年）",
                )
        for meeting_step, approval_step, what in (
            (15, 17, "接收预备党员"),
            (23, 24, "预备党员转正"),
        ):
            if meeting_step not in by_step:
                continue
            held = by_step[meeting_step]["done_on"]
            due = add_months(held, mrules.APPROVAL_MONTHS)
            limit = add_months(held, mrules.APPROVAL_MAX_MONTHS)
            approved = by_step.get(approval_step)
            if approved:
                day = approved["done_on"]
                if not inside(day):
                    continue
                if day > limit:
                    flag(
                        member_id, day, f"{what}：支部大会{held}，上级党委{day}才审批（超过6个月）"
                    )
                elif day > due and not approved["late_reason"]:
                    flag(
                        member_id,
                        day,
                        f"{what}：支部大会{held}，上级党委{day}审批，超过3个月且未说明原因",
                    )
            elif due < window.end and inside(due):
                flag(
                    member_id,
                    due,
                    f"{what}：支部大会{held}，截至{window.end}上级党委未审批（应于{due}前）",
                )
    out = {}
    for org in orgs:
        rows = sorted(found.get(org.pk, []), key=lambda d: (d["date"], d["label"]))
        out[org.pk] = SourceResult(
            Decimal(len(rows)),
            rows,
            explanation=f"{len(rows)}项发展党员程序超出时限" if rows else "",
        )
    return out
