"""A dashboard is a list of sections; each section is a chart spec plus the table behind it.

The same `Section` objects feed the HTML page, the JSON API, every Excel download and the
quarterly report (PDF and workbook), so the figures cannot disagree between them.
Providers are functions `(ctx) -> list[Section]`; apps whose rollups land later add theirs to
`PROVIDERS`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.urls import reverse
from django.utils import timezone

from apps.core.periods import Period
from apps.dashboards import selectors
from apps.organizations.models import Org


@dataclass
class Section:
    code: str
    title: str
    columns: list[str]
    rows: list[list[Any]]
    chart: str = "bar"  # "bar", "line", "pie", "hbar", "stack", "" (table only)
    label_col: int = 0  # the column holding the category labels
    value_cols: list[int] = field(default_factory=lambda: [1])  # columns plotted as series
    links: list[str | None] = field(default_factory=list)  # drill-down url per row (first column)
    note: str = ""
    group: str = "members"
    colors: list[str] = field(default_factory=list)  # one per series; default palette if empty
    chart_skip: int = 0  # leading rows (a total row) left out of the chart, kept in the table

    def chart_spec(self) -> dict:
        rows = self.rows[self.chart_skip :]
        spec = {
            "type": self.chart,
            "labels": [str(r[self.label_col]) for r in rows],
            "series": [
                {
                    "name": self.columns[i],
                    "data": [r[i] if r[i] is not None else 0 for r in rows],
                }
                for i in self.value_cols
            ],
        }
        if self.colors:
            spec["colors"] = self.colors
        return spec

    @property
    def dom_id(self) -> str:
        return f"chart-{self.code}"

    def page_spec(self) -> dict:
        """The chart spec plus the drill-down urls (for the page's script only)."""
        return {**self.chart_spec(), "links": self.links[self.chart_skip :]}

    def linked_rows(self) -> list[tuple[str | None, list[Any]]]:
        links = self.links or [None] * len(self.rows)
        return list(zip(links, self.rows, strict=False))

    @property
    def wide(self) -> bool:
        """Tables with many columns take the page's whole width."""
        return self.code == "children" or not self.chart or len(self.columns) > 4

    def numeric_columns(self) -> list[bool]:
        """Per column: every value is a number or empty (right-aligned, never wrapped)."""
        return [
            all(
                r[i] is None or isinstance(r[i], (int, float, Decimal))
                for r in self.rows
                if i < len(r)
            )
            for i in range(len(self.columns))
        ]

    def header(self) -> list[tuple[str, bool]]:
        return list(zip(self.columns, self.numeric_columns(), strict=False))

    def as_dict(self) -> dict:
        return {
            "code": self.code,
            "title": self.title,
            "group": self.group,
            "columns": self.columns,
            "rows": [[_plain(c) for c in r] for r in self.rows],
            "chart": self.chart_spec() if self.chart else None,
            "note": self.note,
        }


def _plain(value: Any) -> Any:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if hasattr(value, "as_tuple"):  # Decimal
        return str(value)
    return value


@dataclass
class Context:
    org: Org
    period: Period  # the quarter shown
    as_of: dt.date | None  # the member snapshot standing for that quarter
    today: dt.date
    link: Callable[[Org], str | None] = lambda org: None  # drill-down url for a child org

    _children: list[Org] | None = None

    @property
    def children(self) -> list[Org]:
        """The org's active direct children (read once per dashboard)."""
        if self._children is None:
            self._children = selectors.children_of(self.org)
        return self._children

    def link_id(self, org_id: int) -> str | None:
        """The drill-down url from an org id alone (the url needs nothing but the id)."""
        return self.link(Org(pk=org_id))


def member_sections(ctx: Context) -> list[Section]:
    overview = selectors.member_overview(org=ctx.org, as_of=ctx.as_of)
    by_code = overview.series_by_code()
    t = overview.totals
    sections = [
        Section(
            code="summary",
            title="基本情况",
            columns=["指标", "人数"],
            rows=[
                ["党员总数", t["party_members"]],
                ["正式党员", t["full"]],
                ["预备党员", t["probationary"]],
                ["女党员", t["female"]],
                ["停止党籍", t["suspended"]],
                ["入党申请人", t["applicants"]],
                ["入党积极分子", t["activists"]],
                ["发展对象", t["candidates"]],
            ],
            chart="",
        ),
        Section(
            code="pipeline",
            title="发展党员各阶段人数",
            columns=["阶段", "人数"],
            rows=[[r["label"], r["count"]] for r in selectors.pipeline_rows(overview)],
            chart="bar",
        ),
    ]
    charts = {
        "status": "hbar",
        "gender": "pie",
        "age": "bar",
        "seniority": "bar",
        "education": "hbar",
        "occupation": "hbar",
    }
    for code in ("status", "gender", "age", "seniority", "education", "occupation"):
        series = by_code.get(code)
        if series is None:
            continue
        title = {
            "status": "党员状态",
            "gender": "性别结构",
            "age": "年龄结构",
            "seniority": "党龄结构",
            "education": "学历结构",
            "occupation": "职业（人员类别）结构",
        }[code]
        sections.append(
            Section(
                code=code,
                title=title,
                columns=[series.label, "人数", "占比(%)"],
                rows=[[r["label"], r["count"], r["share"]] for r in series.rows],
                chart=charts[code],
            )
        )
    kids = selectors.children_member_rows(org=ctx.org, as_of=ctx.as_of, kids=ctx.children)
    if kids:
        sections.append(
            Section(
                code="children",
                title="下级党组织党员情况",
                columns=[
                    "党组织",
                    "党员",
                    "正式党员",
                    "预备党员",
                    "女党员",
                    "发展对象",
                    "积极分子",
                    "申请人",
                ],
                rows=[
                    [
                        k["org"].name,
                        k["party_members"],
                        k["full"],
                        k["probationary"],
                        k["female"],
                        k["candidates"],
                        k["activists"],
                        k["applicants"],
                    ]
                    for k in kids
                ],
                chart="stack",
                value_cols=[2, 3],
                links=[ctx.link(k["org"]) for k in kids],
            )
        )
    return sections


def dues_sections(ctx: Context) -> list[Section]:
    kids = ctx.children
    figures = selectors.dues_for(orgs=[ctx.org, *kids], period=ctx.period)
    if not figures:
        return []

    def row(org, label):
        d = figures.get(org.pk, {})
        expected, paid = d.get("expected", 0), d.get("paid", 0)
        return [
            label,
            d.get("members", 0),
            expected,
            paid,
            max(expected - paid, 0),
            d.get("rate"),
            d.get("in_arrears", 0),
        ]

    rows = [row(ctx.org, f"{ctx.org.name}（合计）")] + [row(k, k.name) for k in kids]
    return [
        Section(
            code="dues",
            title="党费收缴",
            columns=[
                "党组织",
                "应交人数",
                "应交（元）",
                "已交（元）",
                "未交（元）",
                "收缴率(%)",
                "未交清人数",
            ],
            rows=rows,
            chart="hbar" if kids else "",
            chart_skip=1,  # the total row stays in the table, not in the per-child chart
            value_cols=[5],
            links=[None] + [ctx.link(k) for k in kids],
            note=f"{ctx.period.label}合计；未交清人数为季度最后一个月的人数",
            group="dues",
        )
    ]


def term_sections(ctx: Context) -> list[Section]:
    rows, total, overdue, as_of = selectors.terms_due(org=ctx.org)
    if not total:
        return []
    note = f"共{total}个（逾期{overdue}个）" + (
        f"，列出最早到期的{len(rows)}个" if total > len(rows) else ""
    )
    if as_of:
        note += f"；统计于 {as_of:%Y-%m-%d}"
    return [
        Section(
            code="terms",
            title="换届提醒（6个月内到期及逾期）",
            columns=["党组织", "届次", "任期届满（含延期）", "状态"],
            rows=[list(r) for r in rows],
            chart="",
            note=note,
            group="terms",
        )
    ]


def assessment_sections(ctx: Context) -> list[Section]:
    out = []
    year, stars, avg = selectors.star_distribution(org=ctx.org)
    if year is not None:
        out.append(
            Section(
                code="stars",
                title=f"{year}年度评星定级",
                columns=["星级", "党组织数"],
                rows=[[f"{s}星", n] for s, n in stars],
                chart="bar",
                note=f"已公布结果；平均得分 {avg}" if avg is not None else "已公布结果",
                group="assessments",
            )
        )
    kids = ctx.children
    year, scores = selectors.score_rows(org=ctx.org, kids=kids)
    if year is not None:
        out.append(
            Section(
                code="scores",
                title=f"{year}年度考核得分",
                columns=[
                    "党组织",
                    "本级得分",
                    "本级等次",
                    "已考核党组织数",
                    "平均得分",
                    "好",
                    "较好",
                    "一般",
                    "差",
                ],
                rows=[
                    [
                        f"{r['org'].name}（合计）" if i == 0 else r["org"].name,
                        r["score"],
                        r["grade"] or "—",
                        r["scored"],
                        r["average"],
                        *[
                            r["grades"].get(g, 0)
                            for g in ("good", "fairly_good", "average", "poor")
                        ],
                    ]
                    for i, r in enumerate(scores)
                ],
                chart="hbar" if len(scores) > 1 else "",
                value_cols=[4],
                chart_skip=1,
                links=[None] + [ctx.link(r["org"]) for r in scores[1:]],
                note="最近一个已公布考核年度；本级得分为该党组织自身记分卡的最终得分，"
                "平均得分与等次分布含其全部下级党组织",
                group="assessments",
            )
        )
    counts = selectors.weak_counts(org=ctx.org)
    weak = selectors.weak_orgs(org=ctx.org) if counts else []
    if weak:
        out.append(
            Section(
                code="weak",
                title="软弱涣散基层党组织",
                columns=["党组织", "年度", "状态", "认定情形"],
                rows=[list(w) for w in weak],
                chart="",
                note=f"整顿中{counts.get('rectifying', 0)}个，已验收销号{counts.get('closed', 0)}个"
                "；为当前状态，不随所选季度变化",
                group="assessments",
            )
        )
    return out


def study_sections(ctx: Context) -> list[Section]:
    """学习培训学时达标 (DOMAIN §5): the quarter's year so far, per child org."""
    year = ctx.period.year
    kids = ctx.children
    figures = selectors.study_rows(orgs=[ctx.org, *kids], year=year)
    own = figures[ctx.org.pk]
    if not own["members"]:
        return []

    def row(org, label):
        f = figures[org.pk]
        return [
            label,
            f["members"],
            f["met"],
            f["rate"],
            f["leaders"],
            f["leaders_met"],
            f["leaders_rate"],
            f["hours_avg"],
        ]

    shown = [k for k in kids if figures[k.pk]["members"]]
    return [
        Section(
            code="study",
            title=f"{year}年学习培训学时达标情况",
            columns=[
                "党组织",
                "党员数",
                "达标人数",
                "达标率(%)",
                "班子成员",
                "班子成员达标",
                "班子达标率(%)",
                "人均学时",
            ],
            rows=[row(ctx.org, f"{ctx.org.name}（合计）")] + [row(k, k.name) for k in shown],
            chart="hbar" if shown else "",
            value_cols=[3],
            chart_skip=1,
            links=[None] + [ctx.link(k) for k in shown],
            note="年度累计学时：党员每年不少于32学时，书记和班子成员不少于56学时；年内未满的按截至统计日累计",
            group="study",
        )
    ]


# --- 三会一课 (apps/meetings rollups, read through apps.meetings.selectors) ------------------

GREEN, YELLOW, RED = "#3a9d5d", "#e8b92d", "#c8161d"
TREND_QUARTERS = 4


def _pct(part: int | float | None, whole: int | float | None) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def meeting_kind_order() -> list[tuple[str, str]]:
    from apps.meetings.models import MeetingKind

    return [(str(k.value), str(k.label)) for k in MeetingKind]


def meeting_sections(ctx: Context) -> list[Section]:
    """三会一课 compliance for the quarter: per child org (red/yellow/green, share of fully
    compliant branches, attendance), per kind, the last four quarters, the red branches with
    what they missed, and the records returned or flagged (纸上党建)."""
    from apps.meetings import selectors as meetings

    sub = meetings.compliance_for_subtree(ctx.org, ctx.period)
    total = sub.total
    if total is None or not total.branch_count:
        return []
    kids = [k for k in sub.children if k.branch_count]

    def row(r, label):
        return [
            label,
            r.branch_count,
            r.compliant_count,
            _pct(r.compliant_count, r.branch_count),
            r.green,
            r.yellow,
            r.red,
            r.meeting_count,
            _pct(r.present, r.expected),
        ]

    stale = "；数据正在更新" if sub.stale else ""
    refreshed = (
        f"；统计于 {timezone.localtime(sub.refreshed_at):%m-%d %H:%M}" if sub.refreshed_at else ""
    )
    out = [
        Section(
            code="meetings",
            title="三会一课落实情况",
            columns=[
                "党组织",
                "支部数",
                "全部达标支部",
                "达标率(%)",
                "正常",
                "临期",
                "逾期",
                "会议次数",
                "出勤率(%)",
            ],
            rows=[row(total, f"{ctx.org.name}（合计）")] + [row(k, k.name) for k in kids],
            chart="stack" if kids else "",
            value_cols=[4, 5, 6],
            colors=[GREEN, YELLOW, RED],
            chart_skip=1,
            links=[None] + [ctx.link_id(k.org_id) for k in kids],
            note=f"{ctx.period.label}；按支部计：正常=各项要求已完成或未到期，临期=有要求即将到期，"
            f"逾期=有要求逾期未开展；出勤率=实到/应到{refreshed}{stale}",
            group="meetings",
        )
    ]
    labels = dict(meeting_kind_order())
    kinds = [k for k, _ in meeting_kind_order() if k in total.per_kind]
    if kinds:
        out.append(
            Section(
                code="meeting_kinds",
                title="三会一课分类型达标情况",
                columns=["会议类型", "适用支部数", "达标支部数", "达标率(%)"],
                rows=[
                    [
                        labels[k],
                        total.per_kind[k]["applicable"],
                        total.per_kind[k]["ok"],
                        _pct(total.per_kind[k]["ok"], total.per_kind[k]["applicable"]),
                    ]
                    for k in kinds
                ],
                chart="hbar",
                value_cols=[3],
                note="月度要求须每月开展；季度、年度要求按本季度、本年度计（年度要求年内未到期的计为达标）",
                group="meetings",
            )
        )
    if kids and kinds:
        out.append(
            Section(
                code="meeting_kinds_children",
                title="下级党组织分类型达标率(%)",
                columns=["党组织", *[labels[k] for k in kinds]],
                rows=[
                    [
                        k.name,
                        *[
                            _pct(k.per_kind[c]["ok"], k.per_kind[c]["applicable"])
                            if c in k.per_kind
                            else None
                            for c in kinds
                        ],
                    ]
                    for k in kids
                ],
                chart="",
                links=[ctx.link_id(k.org_id) for k in kids],
                group="meetings",
            )
        )
    quarters = [ctx.period]
    while len(quarters) < TREND_QUARTERS:
        quarters.append(quarters[-1].previous())
    quarters.reverse()
    history = meetings.compliance_history(ctx.org, quarters)
    history[ctx.period.key] = total
    trend = [
        [
            q.label,
            h.branch_count,
            h.compliant_count,
            _pct(h.compliant_count, h.branch_count),
            h.red,
            _pct(h.present, h.expected),
        ]
        for q in quarters
        if (h := history.get(q.key)) is not None
    ]
    if len(trend) > 1:
        out.append(
            Section(
                code="meeting_trend",
                title="近四个季度三会一课落实情况",
                columns=["季度", "支部数", "全部达标支部", "达标率(%)", "逾期支部", "出勤率(%)"],
                rows=trend,
                chart="line",
                value_cols=[3, 5],
                group="meetings",
            )
        )
    red = selectors.overdue_for(org=ctx.org, period=ctx.period, limit=20)
    if total.red:
        out.append(
            Section(
                code="meeting_overdue",
                title="逾期未开展三会一课的支部",
                columns=["党支部", "逾期事项"],
                rows=[[r.branch_name, r.missed] for r in red],
                chart="",
                links=[ctx.link_id(r.org_id) for r in red],
                note=f"共{total.red}个" + (f"，列出前{len(red)}个" if total.red > len(red) else ""),
                group="meetings",
            )
        )
    out.extend(_meeting_record_sections(ctx, kids))
    return out


def _meeting_record_sections(ctx: Context, kids) -> list[Section]:
    from apps.meetings.models import FlagCode

    counts = selectors.record_counts(
        org_ids=[ctx.org.pk, *[k.org_id for k in kids]], period=ctx.period
    )
    own = counts.get(ctx.org.pk)
    if not own:
        return []
    codes = [str(c.value) for c in FlagCode]
    short = {
        "similar_minutes": "记录雷同",
        "late_entry": "长时间补录",
        "over_roster": "实到超员",
        "unplanned": "无计划无说明",
    }

    def row(label, c):
        return [label, c.get("returned", 0), *[c.get(code, 0) for code in codes]]

    rows = [row(f"{ctx.org.name}（合计）", own)]
    links: list[str | None] = [None]
    for k in kids:
        c = counts.get(k.org_id)
        if c:
            rows.append(row(k.name, c))
            links.append(ctx.link_id(k.org_id))
    records = selectors.records_for(org=ctx.org, period=ctx.period, limit=30)
    return [
        Section(
            code="meeting_record_counts",
            title="退回及疑点会议记录（纸上党建）",
            columns=["党组织", "退回", *[short.get(code, code) for code in codes]],
            rows=rows,
            chart="stack" if len(rows) > 1 else "",
            value_cols=list(range(1, 2 + len(codes))),
            chart_skip=1,
            links=links,
            note=f"{ctx.period.label}；疑点按会议计，一次会议可有多项疑点",
            group="meetings",
        ),
        Section(
            code="meeting_records",
            title="退回及疑点会议记录明细",
            columns=["日期", "党支部", "会议", "状态", "疑点"],
            rows=[
                [
                    timezone.localtime(r.starts_at).date(),
                    r.branch_name,
                    r.title,
                    r.state_label,
                    r.flag_labels or "—",
                ]
                for r in records
            ],
            chart="",
            links=[reverse("meetings:detail", args=[r.meeting_id]) for r in records],
            note=f"最近{len(records)}条",
            group="meetings",
        ),
    ]


PROVIDERS: list[Callable[[Context], list[Section]]] = [
    member_sections,
    dues_sections,
    meeting_sections,
    study_sections,
    term_sections,
    assessment_sections,
]


def sections_for(ctx: Context) -> list[Section]:
    result: list[Section] = []
    for provider in PROVIDERS:
        result.extend(provider(ctx))
    return result


def context_for(*, org: Org, period: Period, today: dt.date, link=None) -> Context:
    return Context(
        org=org,
        period=period,
        as_of=selectors.member_snapshot_for(period),
        today=today,
        link=link or (lambda o: None),
    )
