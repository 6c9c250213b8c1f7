"""Demo county, organizations steps (run by `manage.py seed_demo`).

`seed_tree(ctx)` builds 清河县: the 县委, 12 乡镇党委 and 3 街道党工委 (社区党委 with 网格 branches
and 楼栋 党小组), the 县直机关工委, 教育, 卫健, 国资 and 非公 committees — about 300 branches at
scale 1 — with terms (some expiring within six months, one overdue). The tree is built in memory
with treebeard paths and bulk-inserted level by level (paths, depth, numchild, parent and the
opening OrgParentLink are all consistent; `Org.objects.find_problems()` finds none).

`seed_committees(ctx)` appoints 书记 and 支委 from the member records the members step created
(a branch without members is skipped), leaving a few vacancies for realism.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from apps.core.periods import add_months, add_years
from apps.organizations.models import (
    BRANCH_TYPES,
    COMMITTEE_TYPES,
    CommitteePosition,
    Org,
    OrgCategory,
    OrgParentLink,
    OrgType,
    Position,
    SetupForm,
    Term,
    TermState,
)
from apps.organizations.rules import default_term_years

C = OrgCategory
T = OrgType

TOWNS = [
    "城关镇",
    "柳河镇",
    "杨庄镇",
    "双井镇",
    "白马镇",
    "石桥镇",
    "大营镇",
    "三里铺镇",
    "高家集乡",
    "东湖乡",
    "西岭乡",
    "马坊乡",
]
STREETS = {
    "城东街道": ["幸福社区", "东关社区", "朝阳社区"],
    "城西街道": ["西关社区", "建设社区", "文化路社区"],
    "城南街道": ["南苑社区", "滨河社区", "光明社区"],
}
VILLAGE_HEADS = [
    "王家",
    "李家",
    "张家",
    "刘家",
    "陈家",
    "杨家",
    "赵家",
    "黄家",
    "周家",
    "吴家",
    "徐家",
    "孙家",
    "马家",
    "朱家",
    "胡家",
    "郭家",
    "何家",
    "高家",
    "林家",
    "罗家",
    "郑家",
    "梁家",
    "谢家",
    "宋家",
    "东",
    "西",
    "南",
    "北",
    "前",
    "后",
    "大",
    "小",
    "上",
    "下",
    "柳树",
    "杏花",
    "枣林",
    "桃园",
    "双河",
    "石门",
    "青龙",
    "白沙",
    "黄土",
    "红星",
    "新民",
    "永安",
    "太平",
    "和平",
]
VILLAGE_TAILS = [
    "庄村",
    "屯村",
    "营村",
    "湾村",
    "寨村",
    "铺村",
    "店村",
    "集村",
    "洼村",
    "坡村",
    "沟村",
    "河村",
]
AGENCIES = [
    "县委办公室",
    "县政府办公室",
    "县纪委监委机关",
    "县委组织部",
    "县委宣传部",
    "县委统战部",
    "县委政法委",
    "县发展和改革局",
    "县财政局",
    "县人力资源和社会保障局",
    "县自然资源局",
    "县住房和城乡建设局",
    "县交通运输局",
    "县水利局",
    "县农业农村局",
    "县商务局",
    "县文化和旅游局",
    "县应急管理局",
    "县审计局",
    "县市场监督管理局",
    "县统计局",
    "县医疗保障局",
    "县民政局",
    "县司法局",
    "县退役军人事务局",
    "县生态环境分局",
    "县林业局",
    "县信访局",
    "县档案馆",
    "县融媒体中心",
    "县总工会",
    "团县委",
    "县妇联",
    "县科协",
    "县法院",
    "县检察院",
    "县公安局",
    "县税务局",
    "县供销社",
    "县气象局",
]
SCHOOLS_PRIMARY = [
    "城关第一小学",
    "城关第二小学",
    "实验小学",
    "柳河镇中心小学",
    "杨庄镇中心小学",
    "双井镇中心小学",
    "白马镇中心小学",
    "石桥镇中心小学",
    "大营镇中心小学",
    "三里铺镇中心小学",
    "东湖乡中心小学",
    "西岭乡中心小学",
    "马坊乡中心小学",
    "高家集乡中心小学",
]
SCHOOLS_MIDDLE = [
    "县第二中学",
    "县实验中学",
    "城关中学",
    "柳河中学",
    "杨庄中学",
    "白马中学",
    "石桥中学",
    "大营中学",
    "县职业教育中心",
    "县特殊教育学校",
    "县教师进修学校",
]
HOSPITAL_DEPTS = ["内科", "外科", "妇产科", "儿科", "急诊科", "医技科室", "护理部", "行政后勤"]
HEALTH_UNITS = ["县中医医院", "县妇幼保健院", "县疾病预防控制中心", "县卫生健康综合执法大队"]
STATE_FIRMS = [
    "县城市建设投资集团有限公司",
    "县交通投资有限公司",
    "县水务集团有限公司",
    "县农业发展投资有限公司",
    "县国有资产经营有限公司",
    "县粮食储备有限公司",
    "县公共交通有限公司",
    "县文化旅游发展有限公司",
    "县供电服务有限公司",
    "县自来水公司",
    "县农村商业银行",
    "县融资担保有限公司",
]
PRIVATE_FIRMS = [
    "清河纺织有限公司",
    "华丰食品有限公司",
    "鑫达机械制造有限公司",
    "绿源农业科技有限公司",
    "恒信建材有限公司",
    "宏达物流有限公司",
    "金穗米业有限公司",
    "瑞丰化工有限公司",
    "天成电子有限公司",
    "永盛家具有限公司",
    "博远新能源有限公司",
    "东方印务有限公司",
    "清河宾馆有限公司",
    "康健医药连锁有限公司",
]
SMALL_FIRMS = [
    "顺达汽修厂",
    "惠民超市",
    "佳美装饰公司",
    "兴旺养殖场",
    "福源农机合作社",
    "清泉纯净水厂",
    "如意服装店",
    "鸿运快递站",
    "益康诊所",
    "金桥广告公司",
    "新星电脑城",
    "安居物业服务公司",
    "乐学培训学校",
    "惠农合作社",
    "丰收粮油店",
    "红旗木业加工厂",
    "百姓大药房",
    "家和餐饮店",
    "阳光幼儿园",
    "通达驾校",
]
SOCIAL_ORGS = ["县个体劳动者协会", "县律师协会", "县会计师协会", "县慈善总会", "县志愿者协会"]


@dataclass
class Node:
    name: str
    org_type: str
    category: str
    short_name: str = ""
    setup_form: str = SetupForm.STANDALONE
    joint_units: list[str] = field(default_factory=list)
    children: list[Node] = field(default_factory=list)

    def add(self, *args, **kwargs) -> Node:
        child = Node(*args, **kwargs)
        self.children.append(child)
        return child


def _n(count: int, scale: float) -> int:
    return max(1, round(count * scale))


def _build_county(rng, scale: float) -> Node:
    county = Node("中共清河县委员会", T.LOCAL_COMMITTEE, C.GOVERNMENT, short_name="清河县委")
    heads = list(VILLAGE_HEADS)
    used: set[str] = set()

    def village_name() -> str:
        for _ in range(100):
            name = rng.choice(heads) + rng.choice(VILLAGE_TAILS)
            if name not in used:
                used.add(name)
                return name
        name = f"第{len(used) + 1}村"
        used.add(name)
        return name

    small = list(SMALL_FIRMS)
    rng.shuffle(small)

    for town in TOWNS[: _n(12, scale)]:
        t = county.add(
            f"中共清河县{town}委员会", T.PRIMARY_COMMITTEE, C.RURAL, short_name=f"{town}党委"
        )
        t.add(f"{town}机关党支部", T.BRANCH, C.GOVERNMENT)
        for _ in range(_n(rng.randint(8, 11), scale)):
            v = t.add(f"{village_name()}党支部", T.BRANCH, C.RURAL)
            if rng.random() < 0.25:  # larger villages have 党小组 by 自然村
                for k in range(rng.randint(2, 3)):
                    v.add(
                        f"{v.name.removesuffix('党支部')}第{'一二三'[k]}党小组",
                        T.PARTY_GROUP,
                        C.RURAL,
                    )
        if rng.random() < 0.5 and len(small) >= 3:
            units = [small.pop() for _ in range(rng.randint(3, 5)) if small]
            t.add(
                f"{town}非公企业联合党支部",
                T.JOINT_BRANCH,
                C.PRIVATE_ENTERPRISE,
                setup_form=SetupForm.JOINT,
                joint_units=units,
            )

    for street, communities in list(STREETS.items())[: _n(3, scale)]:
        s = county.add(
            f"中共清河县{street}工作委员会",
            T.WORK_COMMITTEE,
            C.COMMUNITY,
            short_name=f"{street}党工委",
        )
        s.add(f"{street}机关党支部", T.BRANCH, C.GOVERNMENT)
        for community in communities:
            c = s.add(f"{community}党委", T.PRIMARY_COMMITTEE, C.COMMUNITY)
            grids = 5 if community == "幸福社区" else rng.randint(3, 4)
            building = 0
            for g in range(1, grids + 1):
                grid = c.add(f"{community}第{g}网格党支部", T.BRANCH, C.COMMUNITY)
                if community == "幸福社区" or rng.random() < 0.4:
                    for _ in range(rng.randint(2, 4)):
                        building += 1
                        name = f"{community}{building}号楼党小组"
                        grid.add(name, T.PARTY_GROUP, C.COMMUNITY)
            c.add(f"{community}离退休党员党支部", T.BRANCH, C.COMMUNITY)

    organs = county.add(
        "中共清河县直属机关工作委员会", T.WORK_COMMITTEE, C.GOVERNMENT, short_name="县直机关工委"
    )
    for agency in AGENCIES[: _n(len(AGENCIES), scale)]:
        if agency in {"县公安局", "县法院"}:
            g = organs.add(f"{agency}党总支", T.GENERAL_BRANCH, C.GOVERNMENT)
            for part in ("机关", "业务一", "业务二", "离退休"):
                g.add(f"{agency}{part}党支部", T.BRANCH, C.GOVERNMENT)
        else:
            organs.add(f"{agency}机关党支部", T.BRANCH, C.GOVERNMENT)

    edu = county.add(
        "中共清河县教育体育局委员会", T.PRIMARY_COMMITTEE, C.SCHOOL, short_name="县教体局党委"
    )
    first = edu.add("清河县第一中学党总支", T.GENERAL_BRANCH, C.SCHOOL)
    for part in ("高一年级教师", "高二年级教师", "高三年级教师", "行政后勤", "离退休教师"):
        first.add(f"清河县第一中学{part}党支部", T.BRANCH, C.SCHOOL)
    for school in SCHOOLS_MIDDLE[: _n(len(SCHOOLS_MIDDLE), scale)]:
        edu.add(f"清河{school}党支部", T.BRANCH, C.SCHOOL)
    for school in SCHOOLS_PRIMARY[: _n(len(SCHOOLS_PRIMARY), scale)]:
        edu.add(f"清河县{school}党支部", T.BRANCH, C.SCHOOL)

    health = county.add(
        "中共清河县卫生健康局委员会", T.PRIMARY_COMMITTEE, C.HOSPITAL, short_name="县卫健局党委"
    )
    hospital = health.add(
        "中共清河县人民医院委员会", T.PRIMARY_COMMITTEE, C.HOSPITAL, short_name="县医院党委"
    )
    for dept in HOSPITAL_DEPTS[: _n(len(HOSPITAL_DEPTS), scale)]:
        b = hospital.add(f"县人民医院{dept}党支部", T.BRANCH, C.HOSPITAL)
        if dept == "护理部":
            for k in range(3):
                b.add(f"护理部第{'一二三'[k]}党小组", T.PARTY_GROUP, C.HOSPITAL)
    for unit in HEALTH_UNITS:
        health.add(f"{unit}党支部", T.BRANCH, C.HOSPITAL)
    for town in TOWNS[: _n(12, scale)]:
        health.add(f"{town}卫生院党支部", T.BRANCH, C.HOSPITAL)

    soe = county.add(
        "中共清河县国有资产监督管理局委员会",
        T.PRIMARY_COMMITTEE,
        C.STATE_ENTERPRISE,
        short_name="县国资局党委",
    )
    for i, firm in enumerate(STATE_FIRMS[: _n(len(STATE_FIRMS), scale)]):
        if i == 0:
            g = soe.add(f"{firm}党总支", T.GENERAL_BRANCH, C.STATE_ENTERPRISE)
            for part in ("机关", "工程建设", "物业运营"):
                g.add(f"城投集团{part}党支部", T.BRANCH, C.STATE_ENTERPRISE)
        else:
            soe.add(f"{firm}党支部", T.BRANCH, C.STATE_ENTERPRISE)

    private = county.add(
        "中共清河县非公有制经济组织和社会组织综合委员会",
        T.PRIMARY_COMMITTEE,
        C.PRIVATE_ENTERPRISE,
        short_name="县两新综合党委",
    )
    for firm in PRIVATE_FIRMS[: _n(len(PRIVATE_FIRMS), scale)]:
        private.add(f"{firm}党支部", T.BRANCH, C.PRIVATE_ENTERPRISE)
    for org in SOCIAL_ORGS:
        private.add(f"{org}党支部", T.BRANCH, C.SOCIAL_ORGANIZATION)
    while len(small) >= 3:
        units = [small.pop() for _ in range(min(len(small), rng.randint(3, 5)))]
        private.add(
            f"{units[0]}等{len(units)}家单位联合党支部",
            T.JOINT_BRANCH,
            C.PRIVATE_ENTERPRISE,
            setup_form=SetupForm.JOINT,
            joint_units=units,
        )
    private.add("县城南安置小区建设项目临时党支部", T.TEMP_BRANCH, C.OTHER)
    return county


def seed_tree(ctx) -> None:
    rng, today = ctx.rng, ctx.today
    root = _build_county(rng, ctx.scale)

    # Assign paths level by level, then bulk-insert each level (parents first).
    levels: list[list[tuple[Node, Org]]] = []
    counter = {"n": 0}

    def founded(depth: int) -> dt.date:
        start, end = {1: (1949, 1952), 2: (1953, 1985)}.get(depth, (1978, 2018))
        return dt.date(rng.randint(start, end), rng.randint(1, 12), rng.randint(1, 28))

    def place(node: Node, parent: Org | None, position: int, depth: int, code: str) -> None:
        counter["n"] += 1
        org = Org(
            path=Org._get_path(parent.path if parent else "", depth, position),
            depth=depth,
            numchild=len(node.children),
            parent=parent,
            name=node.name,
            short_name=node.short_name,
            code=code,
            org_type=node.org_type,
            category=node.category,
            setup_form=node.setup_form,
            joint_units=node.joint_units,
            founded_on=founded(depth),
            address="",
            contact_name="",
            contact_phone="",
        )
        while len(levels) < depth:
            levels.append([])
        levels[depth - 1].append((node, org))
        width = 3 if len(node.children) > 99 else 2
        for i, child in enumerate(node.children, start=1):
            place(
                child,
                org,
                i,
                depth + 1,
                f"{code}{i:0{width}d}" if child.org_type != T.PARTY_GROUP else f"{code}G{i}",
            )

    place(root, None, 1, 1, "QH")
    for level in levels:
        for _node, org in level:
            if org.parent is not None:
                org.parent_id = org.parent.pk
                org.founded_on = max(org.founded_on, org.parent.founded_on)
        Org.objects.bulk_create([org for _node, org in level], batch_size=1000)

    orgs = [org for level in levels for _node, org in level]
    OrgParentLink.objects.bulk_create(
        [
            OrgParentLink(org=o, parent_id=o.parent_id, valid_from=o.founded_on, reason="成立")
            for o in orgs
        ],
        batch_size=1000,
    )
    _seed_terms(orgs, rng, today)

    county = orgs[0]
    ctx.data["county"] = county
    ctx.data["orgs"] = orgs
    ctx.data["branches"] = [o for o in orgs if o.org_type in BRANCH_TYPES]
    ctx.data["party_groups"] = [o for o in orgs if o.org_type == T.PARTY_GROUP]
    ctx.data["committees"] = [o for o in orgs if o.org_type in COMMITTEE_TYPES]
    ctx.data["towns"] = [o for o in orgs if o.depth == 2]
    ctx.log(
        f"    {len(orgs)} orgs: {len(ctx.data['committees'])} committees, "
        f"{len(ctx.data['branches'])} branches, {len(ctx.data['party_groups'])} party groups"
    )


def _seed_terms(orgs: list[Org], rng, today: dt.date) -> None:
    """One open term per org (plus the closed previous one for about half): mostly mid-term,
    about 8% due within six months, one overdue, one with the renewal request under way and one
    with an approved extension."""
    terms: list[Term] = []
    with_terms = [o for o in orgs if o.org_type != T.PARTY_GROUP]
    branches = [o for o in with_terms if o.org_type in BRANCH_TYPES]
    overdue = branches[len(branches) // 3]
    requested = branches[len(branches) // 2]
    extended = branches[2 * len(branches) // 3]
    for org in with_terms:
        years = default_term_years(org.category)
        if org is overdue:
            elected = add_months(today, -(years * 12 + 2))
        elif org in (requested, extended) or rng.random() < 0.08:
            elected = add_months(today, -(years * 12 - rng.randint(1, 5)))
        else:
            elected = add_months(today, -rng.randint(1, years * 12 - 7))
        elected = max(elected, org.founded_on + dt.timedelta(days=1))
        number = 1
        if rng.random() < 0.5 and add_years(elected, -years) > org.founded_on:
            prev = add_years(elected, -years)
            terms.append(
                Term(
                    org=org,
                    number=1,
                    elected_on=prev,
                    term_years=years,
                    ends_on=add_years(prev, years),
                    state=TermState.CLOSED,
                    result_approved_on=elected + dt.timedelta(days=10),
                )
            )
            number = 2
        term = Term(
            org=org,
            number=number,
            elected_on=elected,
            term_years=years,
            ends_on=add_years(elected, years),
        )
        if org is requested:
            term.state = TermState.REQUEST_SUBMITTED
            term.request_submitted_on = add_months(term.ends_on, -1)
            if term.request_submitted_on > today:
                term.request_submitted_on = today
        elif org is extended:
            term.state = TermState.EXTENSION_APPROVED
            term.extension_until = add_months(term.ends_on, 6)
            term.note = "与村（社区）“两委”换届统一进行"
        terms.append(term)
    Term.objects.bulk_create(terms, batch_size=1000)


def seed_committees(ctx) -> None:
    """书记 (and for branches with ≥7 formal members 组织/宣传/纪检委员) from the member records."""
    from apps.members.models import Member, MemberStatus

    rng = ctx.rng
    branches = ctx.data.get("branches") or list(Org.objects.filter(org_type__in=BRANCH_TYPES))
    committees = ctx.data.get("committees") or list(
        Org.objects.filter(org_type__in=COMMITTEE_TYPES)
    )
    groups = ctx.data.get("party_groups") or list(Org.objects.filter(org_type=T.PARTY_GROUP))
    full_by_branch: dict[int, list[int]] = {}
    by_group: dict[int, list[int]] = {}
    rows = (
        Member.objects.filter(status=MemberStatus.FULL)
        .order_by("branch_id", "id")
        .values_list("id", "branch_id", "party_group_id")
    )
    for member_id, branch_id, group_id in rows:
        full_by_branch.setdefault(branch_id, []).append(member_id)
        if group_id:
            by_group.setdefault(group_id, []).append(member_id)
    if not full_by_branch:
        ctx.log("    no member records: committees skipped")
        return
    terms = {t.org_id: t for t in Term.objects.exclude(state=TermState.CLOSED)}
    positions: list[CommitteePosition] = []

    def appoint(org: Org, member_id: int, position: str) -> None:
        term = terms.get(org.pk)
        started = term.elected_on if term else (org.founded_on or ctx.today)
        positions.append(
            CommitteePosition(
                org=org, member_id=member_id, position=position, started_on=started, term=term
            )
        )

    vacancies = 0
    staffed = 0
    for branch in branches:
        people = list(full_by_branch.get(branch.pk, []))
        if not people:
            continue
        staffed += 1
        rng.shuffle(people)
        if staffed % 30 == 17:
            vacancies += 1  # 书记空缺, to be filled by election
        else:
            appoint(branch, people[0], Position.SECRETARY)
        if len(people) >= 7 and staffed % 20 != 11:  # a few large branches still lack a committee
            officers = [Position.ORGANIZATION, Position.PUBLICITY, Position.DISCIPLINE]
            for member_id, position in zip(people[1:], officers, strict=False):
                appoint(branch, member_id, position)
            if len(people) >= 25:
                appoint(branch, people[4], Position.DEPUTY_SECRETARY)
        elif len(people) >= 4 and rng.random() < 0.3:
            appoint(branch, people[1], Position.DEPUTY_SECRETARY)

    for group in groups:
        people = by_group.get(group.pk)
        if people:
            appoint(group, rng.choice(people), Position.GROUP_LEADER)

    # Committees above branches: their 书记/副书记 are member records of a branch below them
    # (usually the 机关 branch, the first one by path).
    branch_paths = sorted((b.path, b.pk) for b in branches if full_by_branch.get(b.pk))
    taken: set[int] = set()
    for org in committees:
        pool = [
            m
            for path, pk in branch_paths
            if path.startswith(org.path)
            for m in full_by_branch[pk][:6]
            if m not in taken
        ]
        if len(pool) < 2:
            continue
        secretary, deputy = pool[0], pool[1]
        taken.update({secretary, deputy})
        appoint(org, secretary, Position.SECRETARY)
        appoint(org, deputy, Position.DEPUTY_SECRETARY)
    CommitteePosition.objects.bulk_create(positions, batch_size=1000)
    ctx.log(f"    {len(positions)} committee positions, {vacancies} branches with a vacant 书记")
