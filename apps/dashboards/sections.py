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
from typing import Any

from apps.core.periods import Period
from apps.dashboards import selectors
from apps.organizations.models import Org


@dataclass
class Section:
    code: str
    title: str
    columns: list[str]
    rows: list[list[Any]]
    chart: str = "bar"  # "bar", "pie", "hbar", "stack", "" (table only)
    label_col: int = 0  # the column holding the category labels
    value_cols: list[int] = field(default_factory=lambda: [1])  # columns plotted as series
    links: list[str | None] = field(default_factory=list)  # drill-down url per row (first column)
    note: str = ""
    group: str = "members"

    def chart_spec(self) -> dict:
        return {
            "type": self.chart,
            "labels": [str(r[self.label_col]) for r in self.rows],
            "series": [
                {
                    "name": self.columns[i],
                    "data": [r[i] if r[i] is not None else 0 for r in self.rows],
                }
                for i in self.value_cols
            ],
        }

    @property
    def dom_id(self) -> str:
        return f"chart-{self.code}"

    def page_spec(self) -> dict:
        """The chart spec plus the drill-down urls (for the page's script only)."""
        return {**self.chart_spec(), "links": self.links}

    def linked_rows(self) -> list[tuple[str | None, list[Any]]]:
        links = self.links or [None] * len(self.rows)
        return list(zip(links, self.rows, strict=False))

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
    kids = selectors.children_member_rows(org=ctx.org, as_of=ctx.as_of)
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
    kids = selectors.children_of(ctx.org)
    figures = selectors.dues_for(orgs=[ctx.org, *kids], period=ctx.period)
    if not figures:
        return []

    def row(org, label):
        d = figures.get(org.pk, {})
        return [
            label,
            d.get("members", 0),
            d.get("expected", 0),
            d.get("paid", 0),
            d.get("rate"),
            d.get("in_arrears", 0),
        ]

    rows = [row(ctx.org, f"{ctx.org.name}（合计）")] + [row(k, k.name) for k in kids]
    return [
        Section(
            code="dues",
            title="党费收缴",
            columns=["党组织", "应交人数", "应交（元）", "已交（元）", "收缴率(%)", "未交清人数"],
            rows=rows,
            chart="hbar" if kids else "",
            value_cols=[4],
            links=[None] + [ctx.link(k) for k in kids],
            note=f"{ctx.period.label}合计；未交清人数为季度最后一个月的人数",
            group="dues",
        )
    ]


def term_sections(ctx: Context) -> list[Section]:
    rows, total = selectors.terms_due(org=ctx.org, today=ctx.today)
    if not total:
        return []
    return [
        Section(
            code="terms",
            title="换届提醒（6个月内到期及逾期）",
            columns=["党组织", "届次", "任期届满（含延期）", "状态"],
            rows=[list(r) for r in rows],
            chart="",
            note=f"共{total}个" + ("，列出最早到期的30个" if total > len(rows) else ""),
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
    weak = selectors.weak_orgs(org=ctx.org)
    if weak:
        out.append(
            Section(
                code="weak",
                title="软弱涣散基层党组织",
                columns=["党组织", "年度", "状态", "认定情形"],
                rows=[list(w) for w in weak],
                chart="",
                group="assessments",
            )
        )
    return out


PROVIDERS: list[Callable[[Context], list[Section]]] = [
    member_sections,
    dues_sections,
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
