"""Demo data for members: `seed(ctx)` is a step of `manage.py seed_demo` (after the org tree).

Members for every branch in ctx.data["branches"] (a few tiny and a few oversized branches so the
organization warnings show), people at every development stage with consistent step dates,
transfers in flight, twelve months of dues with some arrears, study hours. Everything goes in with
bulk_create; encryption happens in Python. Leaves ctx.data["members_by_branch"].
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from apps.core import crypto
from apps.core.periods import add_months, add_years
from apps.members.idcard import make_id_number
from apps.members.models import (
    DevelopmentStep,
    DuesBase,
    DuesMonth,
    DuesPayment,
    Education,
    Gender,
    ManagementStatus,
    Member,
    MemberStatus,
    MemberStatusChange,
    Occupation,
    StudyRecord,
    Transfer,
    TransferEvent,
    TransferState,
)
from apps.members.rules import DuesKind, dues_monthly_amount

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范"
    "金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
WEIGHTS = [max(1, 60 - i) for i in range(len(SURNAMES))]
GIVEN_M = "伟强磊军勇杰涛明超刚平辉健鹏华飞斌宇浩凯俊峰建国志海波宏兵文博东林荣新春德成利清"
GIVEN_F = "芳娜敏静丽艳娟霞秀燕玲桂英红梅琳洁雪慧颖萍婷莉倩琴兰凤晶云月玉珍佳宁欣悦"
AREAS = ("130123", "130124", "130125", "130126", "130127")
ETHNIC = ["汉族"] * 46 + ["回族", "满族", "蒙古族", "壮族"]
UNITS = {
    "rural": "村民委员会",
    "community": "社区居委会",
    "government": "县直机关",
    "institution": "县事业单位",
    "state_enterprise": "县属国有企业",
    "private_enterprise": "民营企业",
    "social_organization": "社会组织",
    "school": "县第一中学",
    "hospital": "县人民医院",
    "other": "其他单位",
}
OCCUPATION_BY_CATEGORY = {
    "rural": [Occupation.FARMER] * 6 + [Occupation.WORKER, Occupation.OTHER],
    "community": [Occupation.RETIRED] * 3
    + [Occupation.WORKER, Occupation.MANAGER, Occupation.OTHER],
    "government": [Occupation.CIVIL_SERVANT] * 5 + [Occupation.MANAGER],
    "institution": [Occupation.PROFESSIONAL] * 4 + [Occupation.MANAGER],
    "school": [Occupation.PROFESSIONAL] * 4 + [Occupation.STUDENT],
    "hospital": [Occupation.PROFESSIONAL] * 4 + [Occupation.MANAGER],
}
COURSES = [
    ("学习贯彻党的二十大精神专题党课", "支部集中学习"),
    ("主题党日集中学习", "支部集中学习"),
    ("县委党校党员轮训班", "县委党校"),
    ("党纪学习教育", "网络学院"),
    ("基层党建业务培训", "县委组织部"),
]


def _name(rng, male: bool) -> str:
    surname = rng.choices(SURNAMES, WEIGHTS)[0]
    pool = GIVEN_M if male else GIVEN_F
    given = rng.choice(pool) + (rng.choice(pool) if rng.random() < 0.7 else "")
    return surname + given


class _People:
    def __init__(self, rng, today):
        self.rng, self.today, self.ids = rng, today, set()

    def person(self, *, age_min: int, age_max: int, male: bool | None = None):
        rng = self.rng
        male = rng.random() < 0.68 if male is None else male
        while True:
            born = self.today - dt.timedelta(days=rng.randint(age_min * 365 + 10, age_max * 365))
            number = make_id_number(rng.choice(AREAS), born, rng.randint(0, 99), male=male)
            if number not in self.ids:
                self.ids.add(number)
                return male, born, number


def _member(
    people: _People, branch, *, status, age=(24, 80), joined=None, confirmed=None, since=None
):
    rng = people.rng
    male, born, number = people.person(age_min=age[0], age_max=age[1])
    category = getattr(branch, "category", "other")
    occupation = rng.choice(
        OCCUPATION_BY_CATEGORY.get(
            category,
            [Occupation.WORKER, Occupation.MANAGER, Occupation.PROFESSIONAL, Occupation.OTHER],
        )
    )
    years = (people.today - born).days // 365
    if years >= 62 and rng.random() < 0.8:
        occupation = Occupation.RETIRED
    education = rng.choice(
        [Education.MIDDLE_SCHOOL, Education.HIGH_SCHOOL, Education.SECONDARY]
        if occupation in (Occupation.FARMER, Occupation.RETIRED) and years > 45
        else [Education.BACHELOR, Education.BACHELOR, Education.COLLEGE, Education.MASTER]
    )
    m = Member(
        branch_id=branch.pk,
        name=_name(rng, male),
        gender=Gender.MALE if male else Gender.FEMALE,
        birth_date=born,
        status=status,
        ethnicity=rng.choice(ETHNIC),
        education=education,
        occupation=occupation,
        work_unit=UNITS.get(category, "其他单位"),
        management_status=ManagementStatus.RETIRED
        if occupation == Occupation.RETIRED
        else ManagementStatus.STUDENT
        if occupation == Occupation.STUDENT
        else ManagementStatus.EMPLOYED,
        joined_on=joined,
        confirmed_on=confirmed,
        status_since=since or confirmed or joined or people.today,
    )
    m.id_number = number
    m.id_number_hash = crypto.blind_index("id_number", number)
    m.id_number_masked = crypto.mask_id_number(number)
    if rng.random() < 0.85:
        m.set_phone(f"1{rng.choice('3578')}{rng.randint(0, 9)}{rng.randint(10000000, 99999999)}")
    return m


def seed(ctx) -> None:
    from apps.members import services

    branches = ctx.data.get("branches")
    if not branches:
        ctx.log("    no branches: members skipped")
        return
    rng, today = ctx.rng, ctx.today
    people = _People(rng, today)
    groups_by_branch: dict[int, list[int]] = {}
    for g in ctx.data.get("party_groups", []):
        groups_by_branch.setdefault(g.parent_id, []).append(g.pk)

    members: list[Member] = []
    pipeline: list[tuple[Member, str]] = []
    for i, branch in enumerate(branches):
        roll = rng.random()
        size = (
            rng.randint(1, 2)
            if roll < 0.05
            else rng.randint(52, 62)
            if roll > 0.96
            else rng.randint(6, 38)
        )
        groups = groups_by_branch.get(branch.pk, [])
        for _ in range(size):
            kind = rng.random()
            if kind < 0.04:
                joined = today - dt.timedelta(days=rng.randint(20, 360))
                m = _member(
                    people, branch, status=MemberStatus.PROBATIONARY, age=(19, 45), joined=joined
                )
                m.probation_ends_on = add_years(joined, 1)
                pipeline.append((m, "probationary"))
            else:
                joined = today - dt.timedelta(days=rng.randint(400, 50 * 365))
                m = _member(
                    people,
                    branch,
                    status=MemberStatus.FULL,
                    joined=joined,
                    confirmed=add_years(joined, 1),
                )
                if m.birth_date and add_years(m.birth_date, 18) > joined:
                    m.joined_on = add_years(m.birth_date, rng.randint(18, 30))
                    m.joined_on = min(m.joined_on, today - dt.timedelta(days=400))
                    m.confirmed_on = m.status_since = add_years(m.joined_on, 1)
                if kind > 0.993:
                    m.status, m.suspended_on = (
                        MemberStatus.SUSPENDED,
                        today - dt.timedelta(days=rng.randint(30, 900)),
                    )
                    m.status_since = m.suspended_on
                elif kind > 0.985:
                    m.management_status = ManagementStatus.LOST_CONTACT
                    m.lost_contact_since = today - dt.timedelta(days=rng.randint(60, 400))
                elif kind > 0.96:
                    m.management_status = ManagementStatus.MOBILE_OUT
                    m.mobile_out_to = rng.choice(
                        ["广东省深圳市", "北京市朝阳区", "江苏省苏州市", "浙江省杭州市"]
                    )
            if groups:
                m.party_group_id = rng.choice(groups)
            m.is_center_household = branch.category == "rural" and rng.random() < 0.05
            members.append(m)
        # The development pipeline: about a third of branches are developing someone.
        if i % 3 == 0:
            for stage in rng.sample(
                ["applicant", "activist", "candidate", "late", "ends"], k=rng.randint(1, 3)
            ):
                m = _member(people, branch, status=MemberStatus.APPLICANT, age=(19, 35))
                m.occupation = rng.choice(
                    [Occupation.WORKER, Occupation.PROFESSIONAL, Occupation.FARMER]
                )
                members.append(m)
                pipeline.append((m, stage))
    # A few probationary members whose probation ends this month.
    for m, stage in pipeline:
        if stage == "ends":
            joined = add_years(today, -1).replace(
                day=min(28, max(1, today.day + rng.randint(-5, 5)))
            )
            m.status, m.joined_on, m.probation_ends_on = (
                MemberStatus.PROBATIONARY,
                joined,
                add_years(joined, 1),
            )
    import time

    t0 = time.monotonic()
    marks = []
    Member.objects.bulk_create(members, batch_size=2000)
    marks.append(("members", time.monotonic() - t0))
    _status_history(members)
    marks.append(("history", time.monotonic() - t0))
    _steps(rng, today, pipeline, members)
    marks.append(("steps", time.monotonic() - t0))
    roster = [m for m in members if m.status in (MemberStatus.FULL, MemberStatus.PROBATIONARY)]
    _dues(rng, today, roster)
    marks.append(("dues", time.monotonic() - t0))
    _study(rng, today, roster)
    marks.append(("study", time.monotonic() - t0))
    _transfers(rng, today, roster, branches)
    services.dues_rollup_rebuild()
    marks.append(("rollup", time.monotonic() - t0))
    prompts = services.lifecycle_prompts_sweep(today=today) + services.dues_arrears_sweep(
        today=today
    )
    marks.append(("sweeps", time.monotonic() - t0))
    ctx.log("    " + " ".join(f"{k}={v:.1f}s" for k, v in marks))
    by_branch: dict[int, list[Member]] = {}
    for m in members:
        if m.status in (MemberStatus.FULL, MemberStatus.PROBATIONARY, MemberStatus.SUSPENDED):
            by_branch.setdefault(m.branch_id, []).append(m)
    ctx.data["members_by_branch"] = by_branch
    ctx.log(
        f"    {len(members)} member records in {len(branches)} branches, {len(pipeline)} in development, "
        f"{prompts} pending items"
    )


def _status_history(members: list[Member]) -> None:
    rows = []
    for m in members:
        if m.status == MemberStatus.APPLICANT:
            continue
        if m.joined_on:
            rows.append(
                MemberStatusChange(
                    member=m,
                    from_status="",
                    to_status=MemberStatus.PROBATIONARY,
                    changed_on=m.joined_on,
                    action="seed",
                    reason="支部大会通过接收为预备党员",
                )
            )
        if m.confirmed_on and m.status in (MemberStatus.FULL, MemberStatus.SUSPENDED):
            rows.append(
                MemberStatusChange(
                    member=m,
                    from_status=MemberStatus.PROBATIONARY,
                    to_status=MemberStatus.FULL,
                    changed_on=m.confirmed_on,
                    action="seed",
                    reason="按期转正",
                )
            )
        if m.status == MemberStatus.SUSPENDED:
            rows.append(
                MemberStatusChange(
                    member=m,
                    from_status=MemberStatus.FULL,
                    to_status=MemberStatus.SUSPENDED,
                    changed_on=m.suspended_on,
                    action="seed",
                    reason="失联满6个月，停止党籍",
                )
            )
    MemberStatusChange.objects.bulk_create(rows, batch_size=5000)


def _steps(rng, today, pipeline, members) -> None:
    full_by_branch: dict[int, list[Member]] = {}
    for m in members:
        if m.status == MemberStatus.FULL:
            full_by_branch.setdefault(m.branch_id, []).append(m)
    steps: list[DevelopmentStep] = []
    people_links: list[tuple[DevelopmentStep, list[Member]]] = []
    changes: list[MemberStatusChange] = []
    to_update: list[Member] = []

    def add(m, n, on, **kw):
        row = DevelopmentStep(member=m, step=n, done_on=on, **kw)
        steps.append(row)
        return row

    for m, stage in pipeline:
        pool = full_by_branch.get(m.branch_id, [])
        if stage == "applicant":
            applied = today - dt.timedelta(days=rng.randint(3, 50))
            add(m, 1, applied)
            if (today - applied).days > 25:
                add(m, 2, applied + dt.timedelta(days=rng.randint(7, 25)))
            m.status_since = applied
            to_update.append(m)
            continue
        if stage in ("probationary", "ends"):
            meeting = m.joined_on
            activist_on = add_months(meeting, -rng.randint(14, 20))
        elif stage == "late":
            meeting = today - dt.timedelta(days=rng.randint(100, 150))
            activist_on = add_months(meeting, -rng.randint(14, 18))
        elif stage == "candidate":
            activist_on = add_months(today, -rng.randint(13, 18))
        else:
            activist_on = today - dt.timedelta(days=rng.randint(60, 500))
        applied = add_months(activist_on, -rng.randint(4, 8))
        add(m, 1, applied)
        add(m, 2, applied + dt.timedelta(days=rng.randint(7, 25)))
        pub_end = activist_on - dt.timedelta(days=3)
        add(m, 3, activist_on, publicity_from=pub_end - dt.timedelta(days=9), publicity_to=pub_end)
        add(m, 4, activist_on + dt.timedelta(days=7))
        mentors = add(m, 5, activist_on + dt.timedelta(days=8))
        if pool:
            people_links.append((mentors, rng.sample(pool, min(len(pool), rng.randint(1, 2)))))
        add(m, 6, add_months(activist_on, 6))
        changes.append(
            MemberStatusChange(
                member=m,
                from_status=MemberStatus.APPLICANT,
                to_status=MemberStatus.ACTIVIST,
                changed_on=activist_on,
                action="seed",
                reason="第3步：确定入党积极分子",
            )
        )
        m.status, m.status_since = MemberStatus.ACTIVIST, activist_on
        if stage == "activist":
            to_update.append(m)
            continue
        cand_on = add_years(activist_on, 1) + dt.timedelta(days=rng.randint(5, 40))
        cand_on = min(cand_on, today - dt.timedelta(days=5))
        add(
            m,
            7,
            cand_on,
            publicity_from=cand_on - dt.timedelta(days=12),
            publicity_to=cand_on - dt.timedelta(days=2),
        )
        add(m, 8, cand_on + dt.timedelta(days=3))
        sponsors = add(m, 9, cand_on + dt.timedelta(days=4))
        if len(pool) >= 2:
            people_links.append((sponsors, rng.sample(pool, 2)))
        changes.append(
            MemberStatusChange(
                member=m,
                from_status=MemberStatus.ACTIVIST,
                to_status=MemberStatus.CANDIDATE,
                changed_on=cand_on,
                action="seed",
                reason="第7步：确定发展对象",
            )
        )
        m.status, m.status_since = MemberStatus.CANDIDATE, cand_on
        if stage == "candidate":
            to_update.append(m)
            continue
        add(m, 10, cand_on + dt.timedelta(days=10))
        add(m, 11, cand_on + dt.timedelta(days=20), training_days=Decimal("3"))
        for n, offset in ((12, 40), (13, 45), (14, 50)):
            add(m, n, min(meeting - dt.timedelta(days=60 - offset), meeting))
        add(
            m,
            15,
            meeting,
            expected_voting=20,
            attended_voting=17,
            votes_for=17,
            publicity_from=meeting - dt.timedelta(days=11),
            publicity_to=meeting - dt.timedelta(days=3),
        )
        add(m, 16, meeting + dt.timedelta(days=10))
        if stage == "late":
            to_update.append(m)
            continue
        approved = meeting + dt.timedelta(days=rng.randint(20, 60))
        add(m, 17, min(approved, today))
        add(m, 18, min(approved + dt.timedelta(days=10), today))
        add(m, 19, min(approved + dt.timedelta(days=12), today))
        add(m, 20, min(approved + dt.timedelta(days=15), today))
        changes.append(
            MemberStatusChange(
                member=m,
                from_status=MemberStatus.CANDIDATE,
                to_status=MemberStatus.PROBATIONARY,
                changed_on=min(approved, today),
                action="seed",
                reason="第17步：上级党委审批",
            )
        )
        m.status, m.status_since = MemberStatus.PROBATIONARY, meeting
        to_update.append(m)
    DevelopmentStep.objects.bulk_create(steps, batch_size=5000)
    through = DevelopmentStep.people.through
    through.objects.bulk_create(
        [
            through(developmentstep_id=row.pk, member_id=p.pk)
            for row, ps in people_links
            for p in ps
        ],
        batch_size=5000,
    )
    MemberStatusChange.objects.bulk_create(changes, batch_size=5000)
    Member.objects.bulk_update(to_update, ["status", "status_since"], batch_size=2000)


def _dues(rng, today, roster: list[Member]) -> None:
    first = add_months(today.replace(day=1), -11)
    months = [add_months(first, i) for i in range(12)]
    bases, ledger, payments = [], [], []
    for m in roster:
        if m.occupation == Occupation.FARMER:
            kind, base = DuesKind.FARMER, None
        elif m.occupation == Occupation.STUDENT:
            kind, base = DuesKind.STUDENT, None
        elif m.occupation == Occupation.RETIRED:
            kind, base = DuesKind.RETIRED, Decimal(rng.randrange(2600, 7200, 10))
        else:
            kind, base = DuesKind.EMPLOYED, Decimal(rng.randrange(2400, 12800, 10))
        amount = dues_monthly_amount(kind, base)
        for year in sorted({mo.year for mo in months}):
            bases.append(DuesBase(member=m, year=year, kind=kind, base=base, monthly_amount=amount))
        # Most pay every month; some fall behind for 1–7 months up to last month.
        behind = 0 if rng.random() < 0.9 else rng.choice([1, 1, 2, 3, 5, 6, 7])
        start = _month(m.joined_on) if m.joined_on else first
        quarterly = rng.random() < 0.5
        pending: dict[tuple[int, int], list[DuesMonth]] = {}
        for mo in months:
            if mo < start:
                continue
            row = DuesMonth(member=m, branch_id=m.branch_id, month=mo, expected=amount)
            unpaid = (behind and mo >= add_months(today.replace(day=1), -behind)) or (
                mo == months[-1] and rng.random() < 0.4
            )
            if not unpaid:
                row.paid = amount
                key = (mo.year, (mo.month - 1) // 3) if quarterly else (mo.year, mo.month + 100)
                pending.setdefault(key, []).append(row)
            ledger.append(row)
        for rows in pending.values():
            paid_on = min(rows[0].month + dt.timedelta(days=rng.randint(2, 20)), today)
            payments.append(
                (
                    rows,
                    DuesPayment(
                        member=m,
                        branch_id=m.branch_id,
                        paid_on=paid_on,
                        mode="quarterly" if len(rows) == 3 else "monthly",
                        amount=amount * len(rows),
                        months=[r.month.isoformat() for r in rows],
                    ),
                )
            )
    DuesBase.objects.bulk_create(bases, batch_size=5000)
    DuesPayment.objects.bulk_create([p for _, p in payments], batch_size=5000)
    for rows, p in payments:
        for row in rows:
            row.payment = p
    DuesMonth.objects.bulk_create(ledger, batch_size=5000)


def _month(day: dt.date) -> dt.date:
    return day.replace(day=1)


def _study(rng, today, roster: list[Member]) -> None:
    rows = []
    for m in roster:
        for _ in range(rng.randint(2, 6)):
            course, source = rng.choice(COURSES)
            held = dt.date(today.year, 1, 1) + dt.timedelta(
                days=rng.randint(0, max(0, (today - dt.date(today.year, 1, 1)).days))
            )
            rows.append(
                StudyRecord(
                    member=m,
                    course=course,
                    held_on=held,
                    hours=Decimal(rng.choice([2, 4, 4, 8])),
                    source=source,
                )
            )
    StudyRecord.objects.bulk_create(rows, batch_size=5000)


def _transfers(rng, today, roster: list[Member], branches) -> None:
    movers = rng.sample(roster, min(len(roster), 12))
    transfers, events = [], []
    for i, m in enumerate(movers):
        applied = today - dt.timedelta(days=rng.randint(1, 20))
        if i % 4 == 3:
            t = Transfer(
                member=m,
                kind="out_letter",
                state=TransferState.LETTER_ISSUED,
                source_branch_id=m.branch_id,
                external_org=rng.choice(
                    ["广东省深圳市南山区某街道党工委", "浙江省杭州市某社区党委"]
                ),
                applied_on=applied,
                valid_until=applied + dt.timedelta(days=30),
                letter_number=f"{today.year}-{i + 1:03d}",
                dues_paid_until=_month(today),
                reason="工作调动",
            )
        else:
            target = rng.choice(branches)
            t = Transfer(
                member=m,
                kind="internal",
                state=rng.choice([TransferState.APPLIED, TransferState.APPROVED]),
                source_branch_id=m.branch_id,
                target_org_id=target.parent_id or target.pk,
                applied_on=applied,
                valid_until=applied + dt.timedelta(days=30),
                reason="工作单位变动",
            )
        transfers.append(t)
    Transfer.objects.bulk_create(transfers)
    for t in transfers:
        events.append(TransferEvent(transfer=t, to_state=TransferState.APPLIED, note=t.reason))
        if t.state != TransferState.APPLIED:
            events.append(
                TransferEvent(
                    transfer=t, from_state=TransferState.APPLIED, to_state=TransferState.APPROVED
                )
            )
        if t.state == TransferState.LETTER_ISSUED:
            events.append(
                TransferEvent(transfer=t, from_state=TransferState.APPROVED, to_state=t.state)
            )
    TransferEvent.objects.bulk_create(events)
