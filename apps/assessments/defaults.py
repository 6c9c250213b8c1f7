"""The default indicator templates (plain data; installed by migration 0002 and by
`manage.py assessment_templates`). Modelled on DOMAIN.md §6.4's 100 + 10 point standard:
班子建设 20, 基本制度 20, 基本工作 30, 基本保障 20, 作用发挥 10 (the sample's "…"), 加分 10,
plus one-vote vetoes.

Each node: (code, name, method, max_points, source, rule, params, children).
"""

from __future__ import annotations

from decimal import Decimal

G, M, A, B, V = "group", "manual", "auto", "bonus", "veto"


def node(
    code,
    name,
    method,
    points,
    source="",
    rule="",
    params=None,
    children=(),
    evidence=False,
    description="",
):
    return {
        "code": code,
        "name": name,
        "method": method,
        "max_points": Decimal(str(points)),
        "source": source,
        "rule": rule,
        "params": params or {},
        "children": list(children),
        "evidence": evidence,
        "description": description,
    }


BRANCH_TEMPLATE = {
    "name": "党支部标准化规范化建设考核（默认，100+10分）",
    "kind": "branch",
    "bonus_cap": Decimal("10"),
    "indicators": [
        node(
            "A",
            "班子建设",
            G,
            20,
            children=[
                node(
                    "A1",
                    "书记配备：书记空缺超过半年扣4分",
                    A,
                    4,
                    "org.secretary_vacant_months",
                    "threshold",
                    {"threshold": 6, "deduct": 4},
                ),
                node(
                    "A2",
                    "按期换届：未按期换届扣4分",
                    A,
                    4,
                    "org.term_overdue",
                    "threshold",
                    {"threshold": 0, "deduct": 4},
                ),
                node(
                    "A3",
                    "书记讲党课：全年未讲扣4分",
                    A,
                    4,
                    "meetings.secretary_lecture_held",
                    "boolean",
                    {"target": 1},
                ),
                node(
                    "A4",
                    "班子配备齐全：应设支委会而配备不齐扣4分",
                    A,
                    4,
                    "org.committee_incomplete",
                    "threshold",
                    {"threshold": 0, "deduct": 4},
                ),
                node("A5", "班子团结、履职尽责", M, 4, evidence=True),
            ],
        ),
        node(
            "B",
            "基本制度",
            G,
            20,
            children=[
                node(
                    "B1",
                    "三会一课",
                    G,
                    6,
                    children=[
                        node(
                            "B1a",
                            "支委会每月召开：每缺1个月扣0.5分",
                            A,
                            2,
                            "meetings.committee_meeting_missed",
                            "per_unit",
                            {"per": "0.5", "floor": 0, "unit_label": "个月"},
                        ),
                        node(
                            "B1b",
                            "党员大会每季度召开：每缺1个季度扣0.5分",
                            A,
                            "1.5",
                            "meetings.general_meeting_missed",
                            "per_unit",
                            {"per": "0.5", "floor": 0, "unit_label": "个季度"},
                        ),
                        node(
                            "B1c",
                            "党小组会每月召开：每缺1个月扣0.25分",
                            A,
                            1,
                            "meetings.group_meeting_missed",
                            "per_unit",
                            {"per": "0.25", "floor": 0, "unit_label": "个月"},
                        ),
                        node(
                            "B1d",
                            "党课每季度至少1次：每缺1个季度扣0.5分",
                            A,
                            "1.5",
                            "meetings.party_lecture_missed",
                            "per_unit",
                            {"per": "0.5", "floor": 0, "unit_label": "个季度"},
                        ),
                    ],
                ),
                node(
                    "B2",
                    "主题党日每月开展：每缺1个月扣0.5分",
                    A,
                    4,
                    "meetings.theme_day_missed",
                    "per_unit",
                    {"per": "0.5", "floor": 0, "unit_label": "个月"},
                ),
                node(
                    "B3",
                    "组织生活会与民主评议",
                    G,
                    6,
                    children=[
                        node(
                            "B3a",
                            "召开组织生活会",
                            A,
                            3,
                            "meetings.org_life_held",
                            "boolean",
                            {"target": 1},
                        ),
                        node(
                            "B3b",
                            "开展民主评议党员",
                            A,
                            3,
                            "meetings.appraisal_held",
                            "boolean",
                            {"target": 1},
                        ),
                    ],
                ),
                node(
                    "B4",
                    "会议记录规范：被上级退回每次扣1分",
                    A,
                    4,
                    "meetings.returned_records",
                    "per_unit",
                    {"per": 1, "floor": 0},
                ),
            ],
        ),
        node(
            "C",
            "基本工作",
            G,
            30,
            children=[
                node(
                    "C1",
                    "党员参会率（目标90%，按比例得分）",
                    A,
                    6,
                    "meetings.attendance_rate",
                    "ratio",
                    {"target": 90},
                ),
                node(
                    "C2",
                    "党费收缴率（目标100%，按比例得分）",
                    A,
                    6,
                    "members.dues_collection_rate",
                    "ratio",
                    {"target": 100},
                ),
                node(
                    "C3",
                    "欠缴党费：每人扣1分",
                    A,
                    4,
                    "members.dues_arrears",
                    "per_unit",
                    {"per": 1, "floor": 0, "unit_label": "人"},
                ),
                node(
                    "C4",
                    "发展党员时限：预备期满未按期转正每人扣2分",
                    A,
                    6,
                    "members.probation_overdue",
                    "per_unit",
                    {"per": 2, "floor": 0, "unit_label": "人"},
                ),
                node(
                    "C5",
                    "党员学时达标率（按比例得分）",
                    A,
                    4,
                    "members.study_hours_attainment",
                    "ratio",
                    {"target": 100},
                ),
                node(
                    "C6",
                    "谈心谈话：全年开展",
                    A,
                    4,
                    "meetings.talks_held",
                    "boolean",
                    {"target": 1},
                ),
            ],
        ),
        node(
            "D",
            "基本保障",
            G,
            20,
            children=[
                node("D1", "活动场所：有固定活动场所、标识规范", M, 6, evidence=True),
                node("D2", "工作经费：有保障、使用规范", M, 6, evidence=True),
                node("D3", "工作台账：资料齐全、归档及时", M, 8, evidence=True),
            ],
        ),
        # The §6.4 sample lists 20 + 20 + 30 + 20 = 90 base points and elides the rest ("…");
        # the missing ten come from §6.4's common dimension 作用发挥.
        node(
            "F",
            "作用发挥",
            G,
            10,
            children=[
                node("F1", "党员先锋模范作用发挥", M, 5),
                node("F2", "服务中心工作、服务群众成效", M, 5),
            ],
        ),
        node(
            "E",
            "加分项（最高10分）",
            G,
            10,
            children=[
                node("E1", "创新工作经验被上级推广", B, 5, evidence=True),
                node("E2", "受到县级以上表彰", B, 5, evidence=True),
                node("E3", "书记领办项目成效明显", B, 3, evidence=True),
            ],
        ),
        node("V1", "一票否决：发生严重违纪违法问题或重大责任事故", V, 0, params={"threshold": 0}),
        node(
            "V2",
            "一票否决：书记空缺超过12个月",
            V,
            0,
            "org.secretary_vacant_months",
            params={"threshold": 12},
        ),
    ],
}

SECRETARY_TEMPLATE = {
    "name": "书记抓基层党建述职考核（默认）",
    "kind": "secretary",
    "bonus_cap": Decimal("5"),
    "indicators": [
        node(
            "S1",
            "述职评议综合得分（按比例得分）",
            A,
            40,
            "assessments.duty_review_score",
            "ratio",
            {"target": 100},
        ),
        node("S2", "党建责任落实（第一责任人职责）", M, 20, evidence=True),
        node(
            "S3", "书记讲党课", A, 10, "meetings.secretary_lecture_held", "boolean", {"target": 1}
        ),
        node(
            "S4",
            "学习培训学时达标",
            A,
            10,
            "members.study_hours_attainment",
            "ratio",
            {"target": 100},
        ),
        node("S5", "公开承诺、领办项目完成情况", M, 20, evidence=True),
        node("S6", "加分：工作经验被上级推广", B, 5, evidence=True),
    ],
}


def install(Template, Indicator) -> list:
    """Create the default templates unless they exist (idempotent; works with historical models)."""
    created = []
    for spec in (BRANCH_TEMPLATE, SECRETARY_TEMPLATE):
        if Template.objects.filter(is_default=True, kind=spec["kind"]).exists():
            continue
        template = Template.objects.create(
            name=spec["name"], kind=spec["kind"], is_default=True, bonus_cap=spec["bonus_cap"]
        )
        _add(Indicator, template, None, spec["indicators"])
        created.append(template)
    return created


def _add(Indicator, template, parent, nodes) -> None:
    for order, n in enumerate(nodes, start=1):
        ind = Indicator.objects.create(
            template=template,
            parent=parent,
            code=n["code"],
            name=n["name"],
            order=order,
            method=n["method"],
            max_points=n["max_points"],
            source=n["source"],
            rule=n["rule"],
            params=n["params"],
            evidence_required=n["evidence"],
            description=n["description"],
        )
        _add(Indicator, template, ind, n["children"])
