"""Demo data: a finished 2025 cycle and an open 2026 cycle on the demo county.

Everything goes through the services (so scores, stars and audit rows are what a user would
have produced), except duty reports of branches whose secretary has no demo account. Adds two sign-ins: `kaohe` (县委组织部, superior over the county: runs the
cycles) and `pingyi` (a 党员代表 evaluator who votes on duty reports)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from apps.accounts.models import Role, RoleGrant, User
from apps.assessments import services
from apps.assessments.models import CyclePhase, EvaluatorGroup, Grade, Template, TemplateKind

SIGNINS = [
    ("县委组织部（考核）", "kaohe", "demo-kaohe-2026", "吴考核", Role.ORG_STAFF),
    ("评议代表", "pingyi", "demo-pingyi-2026", "郑代表", Role.MEMBER),
]

DUTY_TEXT = (
    "一、履行第一责任人职责情况：全年主持召开支委会{n}次，带头讲党课，落实“三会一课”制度。\n"
    "二、存在的问题：党员教育管理方式较为单一，发展党员工作推进不够有力。\n"
    "三、下步打算：完善党员积分管理，抓好后备力量培养，推动支部标准化规范化建设。"
)


def _user(username, password, full_name, role, org, ctx, label):
    user = User.objects.filter(username=username).first() or User(username=username)
    user.full_name = full_name
    user.set_password(password)
    user.save()
    RoleGrant.objects.get_or_create(user=user, org=org, role=role)
    ctx.signins.append((label, username, password))
    return user


def seed(ctx) -> None:
    county = ctx.data.get("county")
    branches = ctx.data.get("branches") or []
    if county is None or not branches:
        ctx.log("  assessments.seed: no demo county; skipped")
        return
    rng = ctx.rng
    branch_t = Template.objects.get(is_default=True, kind=TemplateKind.BRANCH)
    secretary_t = Template.objects.get(is_default=True, kind=TemplateKind.SECRETARY)
    kaohe = _user("kaohe", SIGNINS[0][2], SIGNINS[0][3], Role.ORG_STAFF, county, ctx, SIGNINS[0][0])
    rep_branch = branches[-1]
    pingyi = _user(
        "pingyi", SIGNINS[1][2], SIGNINS[1][3], Role.MEMBER, rep_branch, ctx, SIGNINS[1][0]
    )
    staff = User.objects.filter(username="zuzhibu").first()
    today = ctx.today

    # --- 2025: finished and published -----------------------------------------------------
    c25 = services.cycle_open(
        actor=kaohe,
        org=county,
        year=2025,
        branch_template=branch_t,
        note="对照标准化规范化建设考核评分表，年终逐项考核。",
    )
    services.cycle_task_add(
        actor=kaohe, cycle=c25, title="全面落实“三会一课”制度", due_on=dt.date(2025, 12, 31)
    )
    services.cycle_task_add(
        actor=kaohe, cycle=c25, title="完成到期支部换届", due_on=dt.date(2025, 9, 30)
    )
    for ev_user, group in (
        (kaohe, EvaluatorGroup.COMMITTEE),
        (pingyi, EvaluatorGroup.REPRESENTATIVE),
    ):
        services.evaluator_add(actor=kaohe, cycle=c25, user=ev_user, group=group)
    if staff is not None:
        services.evaluator_add(actor=kaohe, cycle=c25, user=staff, group=EvaluatorGroup.COMMITTEE)
    services.cycle_advance(
        actor=kaohe, cycle=c25, to_phase=CyclePhase.MIDTERM, cutoff=dt.date(2025, 6, 30)
    )
    services.cycle_advance(
        actor=kaohe, cycle=c25, to_phase=CyclePhase.SELF_ASSESSMENT, cutoff=dt.date(2025, 12, 31)
    )
    reported = branches[: max(6, len(branches) // 10)]
    evaluators = list(c25.evaluators.select_related("user"))
    for b in reported:
        secretary = RoleGrant.objects.filter(org=b, role=Role.SECRETARY).first()
        actor = secretary.user if secretary else kaohe
        report = _report(actor, kaohe, c25, b, rng)
        for ev in evaluators:
            services.vote_cast(actor=ev.user, report=report, choice=_choice(rng))
    services.cycle_advance(
        actor=kaohe, cycle=c25, to_phase=CyclePhase.REVIEW, cutoff=dt.date(2025, 12, 31)
    )
    hand = {t.pk: _hand_items(t) for t in (branch_t, secretary_t)}
    for a in c25.assessments.select_related("org", "template", "cycle"):
        adjustments = _hand_scores(hand[a.template_id], rng)
        services.assessment_review(
            actor=kaohe, assessment=a, adjustments=adjustments, comment="经考核组核定。"
        )
    services.cycle_advance(actor=kaohe, cycle=c25, to_phase=CyclePhase.PUBLISHED)
    low = (
        c25.assessments.filter(kind=TemplateKind.BRANCH)
        .order_by("final_score")
        .select_related("org")[:2]
    )
    for a in low:
        problem = services.problem_raise(
            actor=kaohe,
            cycle=c25,
            org=a.org,
            origin="final",
            description="年终考核得分偏低，基本制度落实不到位",
            measure="逐月补齐三会一课台账",
            due_on=dt.date(2026, 6, 30),
        )
        services.problem_progress_add(actor=kaohe, problem=problem, note="已制定整改方案，正在落实")
    shuji = User.objects.filter(username="shuji").first()
    shuji_branch = (
        RoleGrant.objects.filter(user=shuji, role=Role.SECRETARY)
        .values_list("org_id", flat=True)
        .first()
    )
    appealing = c25.assessments.filter(kind=TemplateKind.BRANCH, org_id=shuji_branch).first()
    if appealing is not None:
        appeal = services.appeal_submit(
            actor=shuji, assessment=appealing, reason="书记已于年内到任，书记空缺项认定有误"
        )
        services.appeal_decide(
            actor=kaohe,
            appeal=appeal,
            outcome="rejected",
            response="经核实，空缺期超过6个月，维持原结果",
        )

    # --- 2026: open (年终自评), interim scores from the mid-year computation ---------------------
    c26 = services.cycle_open(
        actor=kaohe,
        org=county,
        year=2026,
        branch_template=branch_t,
        secretary_template=secretary_t,
        note="2026年度党建工作责任制考核：年初部署、年中督查、年终考核。",
    )
    services.cycle_task_add(
        actor=kaohe, cycle=c26, title="开展软弱涣散基层党组织整顿", due_on=dt.date(2026, 10, 31)
    )
    services.cycle_task_add(
        actor=kaohe, cycle=c26, title="党员学习培训学时全部达标", due_on=dt.date(2026, 12, 31)
    )
    for ev_user, group in (
        (kaohe, EvaluatorGroup.COMMITTEE),
        (pingyi, EvaluatorGroup.REPRESENTATIVE),
    ):
        services.evaluator_add(actor=kaohe, cycle=c26, user=ev_user, group=group)
    for b in branches[:12]:
        secretary = RoleGrant.objects.filter(org=b, role=Role.SECRETARY).first()
        actor = secretary.user if secretary else None
        if actor is not None:
            kinds = ["public_pledge", "led_project", "contact_point"]
            services.commitment_add(
                actor=actor,
                cycle=c26,
                org=b,
                kind=rng.choice(kinds),
                content=rng.choice(["建设党员活动室", "领办村集体经济项目", "联系困难党员家庭"]),
            )
    mid = min(today, dt.date(2026, 6, 30))
    services.cycle_advance(actor=kaohe, cycle=c26, to_phase=CyclePhase.MIDTERM, cutoff=mid)
    for a in c26.assessments.filter(kind=TemplateKind.BRANCH).select_related("org")[:3]:
        services.problem_raise(
            actor=kaohe,
            cycle=c26,
            org=a.org,
            origin="midterm",
            description="年中督查：主题党日活动记录不完整",
            due_on=dt.date(2026, 9, 30),
        )
    services.cycle_advance(
        actor=kaohe,
        cycle=c26,
        to_phase=CyclePhase.SELF_ASSESSMENT,
        cutoff=min(today, dt.date(2026, 12, 31)),
    )
    demo_branch = (
        RoleGrant.objects.filter(user__username="shuji").values_list("org_id", flat=True).first()
    )
    for b in [b for b in branches[:8] if b.pk != demo_branch][:5]:
        report = _report(kaohe, kaohe, c26, b, rng)
        services.vote_cast(actor=kaohe, report=report, choice=_choice(rng))

    # --- 软弱涣散: two designated orgs with rectification in progress -------------------------
    from apps.assessments.selectors import weak_org_candidates

    candidates = [
        c for c in weak_org_candidates(kaohe, county, cutoff=today) if c.org.pk != demo_branch
    ][:2]
    picks = candidates or [
        type("C", (), {"org": o, "reasons": ["班子不团结、战斗力不强"]})() for o in branches[1:3]
    ]
    for c in picks:
        weak = services.weak_org_designate(
            actor=kaohe,
            org=c.org,
            year=today.year,
            reasons=c.reasons,
            plan="选派第一书记驻村指导，一月一研判、一季一评估",
            leader="县委组织部副部长",
        )
        services.weak_org_progress_add(
            actor=kaohe, weak_org=weak, note="已召开专题组织生活会，查摆问题5条"
        )
    # the nightly job's stored screening list, as after the first night
    screened = services.weak_screening_refresh(root=county, cutoff=today)
    ctx.log(
        f"    cycles 2025 (published) and 2026 ({c26.get_phase_display()}), {len(picks)} weak orgs,"
        f" {screened} screening candidates"
    )


def _report(actor, superior, cycle, branch, rng):
    """Through the service when the branch's secretary has an account; demo branches without
    one get the row directly (their secretaries have no sign-in in the demo)."""
    from apps.accounts.scope import can
    from apps.assessments.models import DutyReport

    content = DUTY_TEXT.format(n=rng.randint(10, 12))
    if actor is not None and can(actor, "branch_write", branch):
        return services.duty_report_submit(actor=actor, cycle=cycle, org=branch, content=content)
    return DutyReport.objects.create(cycle=cycle, org=branch, secretary=None, content=content)


def _choice(rng) -> str:
    return rng.choices(
        [Grade.GOOD, Grade.FAIRLY_GOOD, Grade.AVERAGE, Grade.POOR], weights=[5, 3, 1.5, 0.5]
    )[0]


def _hand_items(template) -> list:
    """Indicators scored by hand: manual and bonus items, and automatic items whose source
    is not live yet (the scorecard marks exactly these as 待评 until someone scores them)."""
    from apps.assessments.models import Indicator, Method
    from apps.assessments.sources import get_source

    out = []
    for ind in Indicator.objects.filter(template=template):
        if (ind.method in (Method.MANUAL, Method.BONUS) and not ind.source) or (
            ind.method == Method.AUTO
            and (get_source(ind.source) is None or not get_source(ind.source).available)
        ):
            out.append(ind)
    return out


def _hand_scores(items, rng) -> dict:
    """Reviewer points for the hand-scored items: mostly high, some gaps, few bonuses."""
    out = {}
    for ind in items:
        if ind.method == "bonus":
            share = Decimal(str(rng.choice([0, 0, 0, 0.5, 1])))
        else:
            share = Decimal(str(rng.choice([1, 1, 1, 0.9, 0.75, 0.5])))
        out[ind.pk] = {
            "points": (ind.max_points * share).quantize(Decimal("0.01")),
            "reason": "考核组依据台账核定",
        }
    return out
