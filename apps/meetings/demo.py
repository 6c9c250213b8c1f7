"""Demo data: two years of 三会一课 for the demo branches (bulk inserts, then one rollup
recompute). Some branches lag behind, a few records are copy-pasted from another branch."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.db.models import Count, Q
from django.utils import timezone

from apps.core.periods import SHANGHAI, Period, PeriodKind, add_months
from apps.meetings import rollups, similarity
from apps.meetings.models import (
    Appraisal,
    Attendance,
    AttendanceStatus,
    Meeting,
    MeetingKind,
    MeetingState,
    VoteItem,
)

THEME_TOPICS = [
    "重温入党誓词",
    "学习贯彻党的二十大精神",
    "走访慰问困难党员群众",
    "开展环境整治志愿服务",
    "参观红色教育基地",
    "学习《中国共产党章程》",
    "开展“我为群众办实事”活动",
    "观看警示教育片",
    "学习习近平新时代中国特色社会主义思想",
    "开展防汛安全隐患排查",
    "学习《中国共产党纪律处分条例》",
    "开展读书分享会",
    "组织党员义务植树",
    "开展文明实践宣讲",
]
LECTURE_TOPICS = [
    "坚定理想信念，筑牢思想之基",
    "弘扬伟大建党精神",
    "以高质量党建引领基层治理",
    "学习党史，传承红色基因",
    "全面从严治党永远在路上",
    "做新时代合格共产党员",
    "践行以人民为中心的发展思想",
    "加强作风建设，密切联系群众",
]
GENERAL_ITEMS = [
    "通报本季度支部工作情况",
    "讨论接收预备党员",
    "研究发展党员工作",
    "通报党费收缴情况",
    "讨论年度工作计划",
    "讨论预备党员转正",
    "评选优秀共产党员",
]
COMMITTEE_ITEMS = [
    "研究本月工作安排",
    "研究主题党日活动方案",
    "研究发展对象培养考察",
    "分析党员思想状况",
    "研究党费收缴",
    "部署基层治理重点任务",
    "研究困难党员帮扶",
]
SENTENCES = [
    "{a}同志结合本职工作谈了学习体会，表示要把学习成果转化为推动工作的实际行动。",
    "{a}同志提出，要进一步加强党员日常教育管理，落实好“三会一课”制度。",
    "{b}同志建议围绕群众急难愁盼问题，多开展走访调研。",
    "大家一致认为，要发挥党员先锋模范作用，带头做好本职工作。",
    "{b}同志汇报了近期联系服务群众情况，提出了改进意见。",
    "{a}同志谈到，要持续加强理论学习，做到学思用贯通。",
    "与会党员围绕主题逐一发言，查摆了自身在学习、工作中存在的不足。",
    "{b}同志表示，将认真对照党章党规，严格要求自己。",
    "{a}同志就村（社区）环境整治提出了三条具体建议。",
    "会议指出，要加强与驻地单位的共驻共建，形成工作合力。",
    "{b}同志分享了参加志愿服务的经历和感受。",
    "会议强调，要严格落实请销假制度，按时足额缴纳党费。",
    "{a}同志提出要关心关爱老党员、困难党员，及时帮助解决实际困难。",
    "大家围绕如何提升服务群众能力展开了热烈讨论。",
    "{b}同志建议把主题党日活动与业务工作结合起来，注重实效。",
]
DECISIONS = [
    "会议决定按计划推进各项工作，由支部委员分工落实。",
    "会议决定下月开展主题党日活动，由组织委员牵头筹备。",
    "会议同意有关事项，报上级党组织备案。",
    "会议决定对困难党员开展走访慰问。",
    "会议明确了下一阶段工作重点和责任人。",
]
LEAVE_REASONS = ["因公出差", "身体不适", "家中有事", "外出学习", "值班"]
PLACES = ["党员活动室", "支部会议室", "党群服务中心", "会议室", "新时代文明实践站"]


def _minutes(rng, names: list[str], kind_label: str, topic: str) -> str:
    a, b = (
        (rng.sample(names, 2) if len(names) >= 2 else (names[0], names[0]))
        if names
        else ("张", "李")
    )
    picked = rng.sample(SENTENCES, k=rng.randint(3, 5))
    body = "".join(s.format(a=a, b=b) for s in picked)
    return f"会议围绕“{topic}”开展{kind_label}。{body}"


def seed(ctx) -> None:
    from apps.members.models import Member
    from apps.organizations.models import BRANCH_TYPES, Org, OrgType

    rng = ctx.rng
    branches = list(
        ctx.data.get("branches")
        or Org.objects.filter(org_type__in=BRANCH_TYPES, abolished_on__isnull=True)
    )
    if not branches:
        ctx.log("  meetings: no branches, skipped")
        return
    branch_ids = [b.pk for b in branches]
    members_by_branch: dict[int, list] = defaultdict(list)
    for m in (
        Member.objects.party_members()
        .filter(branch_id__in=branch_ids)
        .only("id", "name", "branch_id", "party_group_id", "status")
        .order_by("id")
    ):
        members_by_branch[m.branch_id].append(m)
    if not members_by_branch:
        ctx.log("  meetings: no members, skipped")
        return
    groups: dict[int, list] = defaultdict(list)
    for g in Org.objects.filter(
        org_type=OrgType.PARTY_GROUP, parent_id__in=branch_ids, abolished_on__isnull=True
    ).only("id", "parent_id", "path"):
        groups[g.parent_id].append(g)
    # 支委会: the branch committee (open positions, not 党小组组长), as the record page fills it
    from apps.organizations.models import CommitteePosition, Position

    committee_ids: dict[int, set[int]] = defaultdict(set)
    for org_id, member_id in (
        CommitteePosition.objects.filter(org_id__in=branch_ids, ended_on__isnull=True)
        .exclude(position=Position.GROUP_LEADER)
        .values_list("org_id", "member_id")
    ):
        committee_ids[org_id].add(member_id)
    full_counts = dict(
        Member.objects.filter(branch_id__in=branch_ids, status="full")
        .values("branch_id")
        .annotate(n=Count("id"))
        .values_list("branch_id", "n")
    )
    today = ctx.today
    now = timezone.now()
    first_month = Period.containing(PeriodKind.MONTH, add_months(today.replace(day=1), -23))
    months = []
    p = first_month
    while p.start <= today + dt.timedelta(days=31):
        months.append(p)
        p = p.next()

    meetings: list[Meeting] = []
    extras: list[dict] = []  # per meeting: attendance statuses, votes, appraisals
    recent_cut = add_months(today.replace(day=1), -2)
    copied_pool: list[str] = []
    for branch in branches:
        people = members_by_branch.get(branch.pk, [])
        if not people:
            continue
        names = [m.name for m in people]
        roll = rng.random()
        diligence = 1.0 if roll < 0.7 else (0.93 if roll < 0.85 else 0.6)  # some branches lag
        attend = 0.93 if diligence > 0.95 else 0.8
        has_committee = full_counts.get(branch.pk, 0) >= 7
        for month in months:
            planned = []
            planned.append(
                ([MeetingKind.THEME_DAY], rng.choice(THEME_TOPICS), None, rng.randint(5, 12))
            )
            if has_committee:
                planned.append(
                    ([MeetingKind.COMMITTEE], rng.choice(COMMITTEE_ITEMS), None, rng.randint(1, 8))
                )
            for g in groups.get(branch.pk, []):
                planned.append(([MeetingKind.GROUP], "党小组学习", g, rng.randint(10, 25)))
            if month.index % 3 == 2:  # once a quarter: a general meeting with a lecture
                kinds = [MeetingKind.GENERAL, MeetingKind.LECTURE]
                if month.index == 5:
                    kinds.append(MeetingKind.SECRETARY_LECTURE)
                planned.append((kinds, rng.choice(LECTURE_TOPICS), None, rng.randint(13, 26)))
            if month.index == 12:
                planned.append(
                    (
                        [MeetingKind.ORG_LIFE, MeetingKind.APPRAISAL],
                        "年度组织生活会和民主评议党员",
                        None,
                        rng.randint(15, 28),
                    )
                )
            if month.index in (4, 10):
                planned.append(([MeetingKind.TALK], "支委与党员谈心谈话", None, rng.randint(3, 20)))
            for kinds, topic, group, day in planned:
                start_day = month.start.replace(day=min(day, month.end.day))
                if start_day > today + dt.timedelta(days=20):
                    continue
                future = start_day > today
                if not future and rng.random() > diligence:
                    continue
                hour = rng.choice([9, 14, 19])
                starts = dt.datetime.combine(
                    start_day, dt.time(hour, rng.choice([0, 30])), tzinfo=SHANGHAI
                )
                ends = starts + dt.timedelta(minutes=rng.choice([60, 90, 120]))
                expected = [
                    m for m in people if group is None or m.party_group_id == group.pk
                ] or people
                if kinds == [MeetingKind.COMMITTEE]:
                    expected = [m for m in people if m.pk in committee_ids[branch.pk]] or expected
                elif kinds == [MeetingKind.TALK]:  # a talk between two to four people
                    expected = rng.sample(people, min(len(people), rng.randint(2, 4)))
                label = "、".join(MeetingKind(k).label for k in kinds)
                if future:
                    state = MeetingState.PLANNED
                elif start_day >= recent_cut and rng.random() < 0.25:
                    state = rng.choice(
                        [MeetingState.RECORDED, MeetingState.SUBMITTED, MeetingState.RETURNED]
                    )
                elif start_day >= recent_cut:
                    state = MeetingState.SUBMITTED
                else:
                    state = MeetingState.ACCEPTED if rng.random() < 0.97 else MeetingState.RETURNED
                statuses = []
                if state != MeetingState.PLANNED:
                    for _m in expected:
                        x = rng.random()
                        statuses.append(
                            AttendanceStatus.PRESENT
                            if x < attend - 0.05
                            else AttendanceStatus.ONLINE
                            if x < attend
                            else AttendanceStatus.LEAVE
                            if x < attend + 0.05
                            else AttendanceStatus.ABSENT
                        )
                minutes = ""
                if state != MeetingState.PLANNED:
                    if copied_pool and start_day >= recent_cut and rng.random() < 0.02:
                        minutes = rng.choice(copied_pool)  # 纸上党建: copied from another branch
                    else:
                        minutes = _minutes(rng, names, label, topic)
                        if start_day >= recent_cut and len(copied_pool) < 50:
                            copied_pool.append(minutes)
                late = state != MeetingState.PLANNED and rng.random() < 0.03
                recorded_at = (
                    (ends + dt.timedelta(days=rng.randint(16, 40) if late else rng.randint(0, 3)))
                    if statuses
                    else None
                )
                if recorded_at and recorded_at > now:
                    recorded_at = now
                present = sum(
                    1 for s in statuses if s in (AttendanceStatus.PRESENT, AttendanceStatus.ONLINE)
                )
                host = expected[0]
                meetings.append(
                    Meeting(
                        branch_id=branch.pk,
                        party_group_id=group.pk if group else None,
                        kinds=[str(k) for k in kinds],
                        title=f"{month.label}{label}：{topic}"
                        if MeetingKind.GROUP not in kinds
                        else f"{group.name if group else ''}{month.index}月学习",
                        place=rng.choice(PLACES),
                        starts_at=starts,
                        ends_at=ends,
                        state=state,
                        planned_at=starts - dt.timedelta(days=rng.randint(3, 15))
                        if rng.random() < 0.95
                        else None,
                        unplanned_reason="",
                        host_id=host.pk if statuses else None,
                        recorder_id=expected[-1].pk if statuses else None,
                        lecturer_id=host.pk if statuses and MeetingKind.LECTURE in kinds else None,
                        minutes=minutes,
                        decisions=rng.choice(DECISIONS) if statuses else "",
                        expected_count=len(expected),
                        present_count=present,
                        online_count=sum(1 for s in statuses if s == AttendanceStatus.ONLINE),
                        leave_count=sum(1 for s in statuses if s == AttendanceStatus.LEAVE),
                        absent_count=sum(1 for s in statuses if s == AttendanceStatus.ABSENT),
                        roster_count=len(expected),
                        recorded_at=recorded_at,
                        submitted_at=(
                            recorded_at
                            if state
                            in (
                                MeetingState.SUBMITTED,
                                MeetingState.ACCEPTED,
                                MeetingState.RETURNED,
                            )
                            else None
                        ),
                        reviewed_at=(
                            recorded_at + dt.timedelta(days=2)
                            if state in (MeetingState.ACCEPTED, MeetingState.RETURNED)
                            and recorded_at
                            else None
                        ),
                        review_comment="请补充签到表和会议照片"
                        if state == MeetingState.RETURNED
                        else "",
                    )
                )
                extras.append(
                    {
                        "expected": expected,
                        "statuses": statuses,
                        "kinds": kinds,
                        "recent": start_day >= recent_cut,
                    }
                )
    Meeting.objects.bulk_create(meetings, batch_size=2000)
    attendance, votes, appraisals = [], [], []
    for m, extra in zip(meetings, extras, strict=True):
        statuses = extra["statuses"] or [AttendanceStatus.UNKNOWN] * len(extra["expected"])
        for member, status in zip(extra["expected"], statuses, strict=True):
            attendance.append(
                Attendance(
                    meeting_id=m.pk,
                    member_id=member.pk,
                    status=status,
                    has_vote=member.status == "full",
                    reason=rng.choice(LEAVE_REASONS)
                    if status in (AttendanceStatus.LEAVE, AttendanceStatus.ABSENT)
                    else "",
                )
            )
        if extra["statuses"] and MeetingKind.GENERAL in extra["kinds"] and rng.random() < 0.3:
            exp_v = sum(1 for x in extra["expected"] if x.status == "full")
            pres_v = sum(
                1
                for x, s in zip(extra["expected"], extra["statuses"], strict=True)
                if x.status == "full" and s in (AttendanceStatus.PRESENT, AttendanceStatus.ONLINE)
            )
            yes = max(0, pres_v - rng.randint(0, 1))
            from apps.meetings.rules import resolution_outcome

            out = resolution_outcome(expected_voting=exp_v, present_voting=pres_v, yes=yes)
            votes.append(
                VoteItem(
                    meeting_id=m.pk,
                    title="讨论接收预备党员",
                    yes=yes,
                    no=pres_v - yes,
                    abstain=0,
                    expected_voting=exp_v,
                    present_voting=pres_v,
                    quorum_met=out.quorum_met,
                    passed=out.passed,
                )
            )
        if extra["statuses"] and MeetingKind.APPRAISAL in extra["kinds"]:
            full = [x for x in extra["expected"] if x.status == "full"]
            top = set(rng.sample(range(len(full)), k=len(full) // 4)) if full else set()
            for i, x in enumerate(full):
                appraisals.append(
                    Appraisal(
                        meeting_id=m.pk,
                        member_id=x.pk,
                        grade="excellent" if i in top else "qualified",
                    )
                )
            for x in extra["expected"]:
                if x.status != "full":
                    appraisals.append(Appraisal(meeting_id=m.pk, member_id=x.pk, grade=""))
    _copy_attendance(attendance)
    VoteItem.objects.bulk_create(votes, batch_size=2000)
    Appraisal.objects.bulk_create(appraisals, batch_size=2000)
    # 纸上党建 signatures and flags for recent records only (keeps the seed fast).
    recent = [m for m, e in zip(meetings, extras, strict=True) if e["recent"] and m.minutes]
    for m in recent:
        sig = similarity.signature(m.minutes)
        m.minutes_signature, m.minutes_bands = sig, similarity.bands(sig) if sig else []
    Meeting.objects.bulk_update(recent, ["minutes_signature", "minutes_bands"], batch_size=1000)
    _flags_bulk(recent)
    rollups.stats_recompute_all()
    # The tree rollup for every quarter and year the two years cover (the dashboards' trend of
    # the last four quarters and the past-quarter reports read it).
    windows = [Period.year_of(today.year), Period.year_of(today.year - 1)]
    quarter = Period.containing(PeriodKind.QUARTER, today)
    while quarter.end >= first_month.start:
        windows.append(quarter)
        quarter = quarter.previous()
    for window in windows:
        rollups.org_stats_refresh(window, today=today)
    ctx.data["meetings_count"] = len(meetings)
    ctx.log(
        f"  meetings: {len(meetings)} meetings, {len(attendance)} attendance rows, {len(recent)} checked for 纸上党建"
    )


def _flags_bulk(recent: list[Meeting]) -> None:
    """The 纸上党建 flags of services.flags_refresh, computed in memory for a bulk load."""
    from apps.core.periods import local_date
    from apps.core.rules import rule_value
    from apps.meetings.models import FlagCode, MeetingFlag

    threshold = int(rule_value("meetings.similarity_threshold")) / 100
    late_days = int(rule_value("meetings.late_entry_days"))
    buckets: dict[int, list[Meeting]] = defaultdict(list)
    flags = []
    for m in sorted(recent, key=lambda x: (x.starts_at, x.pk)):
        seen: set[int] = set()
        for band in m.minutes_bands:
            for other in buckets[band]:
                if other.pk in seen:
                    continue
                seen.add(other.pk)
                score = similarity.estimate(m.minutes_signature, other.minutes_signature)
                if score >= threshold:
                    where = "本支部" if other.branch_id == m.branch_id else "其他支部"
                    flags.append(
                        MeetingFlag(
                            meeting_id=m.pk,
                            code=FlagCode.SIMILAR_MINUTES,
                            other_id=other.pk,
                            detail=f"与{where}{local_date(other.starts_at):%Y-%m-%d}的会议记录相似度约{score:.0%}",
                        )
                    )
            buckets[band].append(m)
        if m.recorded_at:
            days = (local_date(m.recorded_at) - local_date(m.ends_at)).days
            if days > late_days:
                flags.append(
                    MeetingFlag(
                        meeting_id=m.pk,
                        code=FlagCode.LATE_ENTRY,
                        detail=f"会后第{days}天才录入（时限{late_days}天）",
                    )
                )
        if m.planned_at is None and not m.unplanned_reason:
            flags.append(
                MeetingFlag(
                    meeting_id=m.pk,
                    code=FlagCode.UNPLANNED,
                    detail="会议未事先列入计划，也未说明原因",
                )
            )
    MeetingFlag.objects.bulk_create(flags, batch_size=2000)


def _copy_attendance(rows: list[Attendance]) -> None:
    """COPY is several times faster than INSERT for the ~20 rows per meeting."""
    from django.db import connection

    cols = [
        "meeting_id",
        "member_id",
        "status",
        "reason",
        "has_vote",
        "excluded_from_expected",
        "exclusion_reason",
        "exclusion_basis",
    ]
    with connection.cursor() as cursor:
        raw = cursor.cursor
        with raw.copy(f"COPY {Attendance._meta.db_table} ({', '.join(cols)}) FROM STDIN") as copy:
            for a in rows:
                copy.write_row(
                    (a.meeting_id, a.member_id, a.status, a.reason, a.has_vote, False, "", "")
                )


_ = Q
