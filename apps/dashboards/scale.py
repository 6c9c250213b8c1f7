"""City- and province-sized data for benchmarks (`manage.py seed_scale`).

Everything is written set-wise: the org tree with COPY, members and the other tables with
`INSERT … SELECT` over generate_series, so that a province (≈270,000 orgs, 5.5 million members)
loads in minutes. Column lists come from the models' `_meta`, so columns that other apps add
later are filled with their declared defaults (or a random choice for a choice field without a
default) instead of breaking the generator.

Personal data: the encrypted `id_number` / `phone` columns are left empty (encrypting millions
of values one by one is too slow); `id_number_hash` is a unique SHA-256 of the row number and
`id_number_masked` a plausible masked number, so the lookup and display paths have realistic
data. Members generated here cannot reveal a full 身份证号.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import time
from dataclasses import dataclass

from django.db import connection, models

from apps.members.models import Member
from apps.organizations.models import Org, OrgCategory, OrgType

ALPHABET = Org.alphabet


@dataclass(frozen=True)
class Tier:
    name: str
    levels: tuple[tuple[str, int, str], ...]  # (org_type, children per parent, name pattern)
    members_per_branch: tuple[int, int]  # uniform range; mean ≈ 22
    group_every: int  # one party group per this many branches


TIERS = {
    "city": Tier(
        "city",
        (
            (OrgType.LOCAL_COMMITTEE, 1, "规模市委"),
            (OrgType.LOCAL_COMMITTEE, 15, "第{n}县（区）委"),
            (OrgType.PRIMARY_COMMITTEE, 20, "第{n}镇（街道）党委"),
            (OrgType.GENERAL_BRANCH, 2, "第{n}党总支"),
            (OrgType.BRANCH, 30, "第{n}党支部"),
        ),
        (3, 41),
        17,
    ),
    "province": Tier(
        "province",
        (
            (OrgType.LOCAL_COMMITTEE, 1, "规模省委"),
            (OrgType.LOCAL_COMMITTEE, 14, "第{n}市委"),
            (OrgType.LOCAL_COMMITTEE, 10, "第{n}县（区）委"),
            (OrgType.PRIMARY_COMMITTEE, 20, "第{n}镇（街道）党委"),
            (OrgType.GENERAL_BRANCH, 3, "第{n}党总支"),
            (OrgType.BRANCH, 29, "第{n}党支部"),
        ),
        (3, 42),
        15,
    ),
    # A small tier for tests of the generator itself.
    "tiny": Tier(
        "tiny",
        (
            (OrgType.LOCAL_COMMITTEE, 1, "微型县委"),
            (OrgType.PRIMARY_COMMITTEE, 3, "第{n}镇党委"),
            (OrgType.BRANCH, 4, "第{n}党支部"),
        ),
        (3, 12),
        3,
    ),
}

SURNAMES = list(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN = list("建国华明伟芳秀英军平强丽敏静磊洋勇艳杰娟涛超霞斌刚波辉玲红鹏飞海燕桂兰春梅志文新宇晨")
CATEGORIES = [
    OrgCategory.RURAL,
    OrgCategory.COMMUNITY,
    OrgCategory.GOVERNMENT,
    OrgCategory.INSTITUTION,
    OrgCategory.STATE_ENTERPRISE,
    OrgCategory.PRIVATE_ENTERPRISE,
    OrgCategory.SCHOOL,
]


def _segment(n: int) -> str:
    out = ""
    for _ in range(Org.steplen):
        n, r = divmod(n, len(ALPHABET))
        out = ALPHABET[r] + out
    return out


def _sql_literal_default(field: models.Field):
    """(sql, params) for a column the generator does not know: its default, else NULL/choice."""
    if field.has_default():
        value = field.get_default()
        if isinstance(value, (list, dict)):
            return "%s::jsonb", [json.dumps(value)]
        return "%s", [value]
    if field.null:
        return "NULL", []
    if field.choices:
        codes = [str(k) for k, _ in field.choices]
        return (
            f"(ARRAY[{', '.join(['%s'] * len(codes))}])[1 + floor(random() * {len(codes)})::int]",
            codes,
        )
    if isinstance(field, (models.CharField, models.TextField, models.FileField)):
        return "''", []
    if isinstance(field, models.BooleanField):
        return "false", []
    if isinstance(field, (models.IntegerField, models.DecimalField, models.FloatField)):
        return "0", []
    if isinstance(field, models.DateTimeField):
        return "now()", []
    if isinstance(field, models.DateField):
        return "current_date", []
    raise ValueError(f"seed_scale does not know how to fill {field.model.__name__}.{field.name}")


def insert_select(
    model, exprs: dict[str, str], from_sql: str, params: list | None = None, *, with_sql: str = ""
) -> int:
    """INSERT INTO model's table every concrete column: `exprs` maps field names to SQL over
    `from_sql`; the other columns get `_sql_literal_default`. Returns the row count."""
    columns, selects, values = [], [], []
    for field in model._meta.concrete_fields:
        if isinstance(field, models.AutoField) or (field.primary_key and field.name == "id"):
            continue
        columns.append(connection.ops.quote_name(field.column))
        if field.name in exprs:
            selects.append(exprs[field.name])
        else:
            sql, p = _sql_literal_default(field)
            selects.append(sql)
            values.extend(p)
    sql = (
        f"INSERT INTO {model._meta.db_table} ({', '.join(columns)}) {with_sql} "
        f"SELECT {', '.join(selects)} FROM {from_sql}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, values + list(params or []))
        return cursor.rowcount


def has_data() -> bool:
    return Org.objects.exists() or Member.objects.exists()


def wipe() -> None:
    """TRUNCATE the org tree and everything that references it (members, meetings, grants…)."""
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {Org._meta.db_table} RESTART IDENTITY CASCADE")


def build_orgs(tier: Tier, rng: random.Random, log=print) -> dict:
    """COPY the tree: levels from the tier, plus party groups under some branches."""
    started = time.monotonic()
    rows: list[tuple] = []  # (id, path, depth, parent_id, name, code, org_type, category, founded)
    next_id = 1
    level_nodes: list[tuple[int, str, str]] = [(0, "", "")]  # (id, path, name)
    branch_nodes = []
    for depth, (org_type, per_parent, pattern) in enumerate(tier.levels, start=1):
        new_level = []
        for parent_id, parent_path, parent_name in level_nodes:
            for n in range(1, per_parent + 1):
                path = parent_path + _segment(n)
                name = (
                    pattern.format(n=n)
                    if depth == 1
                    else f"{parent_name.split('·')[-1]}·{pattern.format(n=n)}"
                )
                name = name[-118:]
                category = rng.choice(CATEGORIES)
                founded = dt.date(1990 + rng.randint(0, 30), rng.randint(1, 12), 1)
                rows.append(
                    (
                        next_id,
                        path,
                        depth,
                        parent_id or None,
                        name,
                        f"S{next_id:07d}",
                        str(org_type),
                        str(category),
                        founded,
                    )
                )
                new_level.append((next_id, path, pattern.format(n=n)))
                if org_type == OrgType.BRANCH:
                    branch_nodes.append((next_id, path, depth))
                next_id += 1
        level_nodes = new_level
    for index, (branch_id, branch_path, depth) in enumerate(branch_nodes):
        if index % tier.group_every == 0:
            rows.append(
                (
                    next_id,
                    branch_path + _segment(1),
                    depth + 1,
                    branch_id,
                    "第一党小组",
                    f"S{next_id:07d}",
                    str(OrgType.PARTY_GROUP),
                    str(OrgCategory.OTHER),
                    dt.date(2015, 1, 1),
                )
            )
            next_id += 1
    numchild: dict[int, int] = {}
    for r in rows:
        if r[3]:
            numchild[r[3]] = numchild.get(r[3], 0) + 1

    known = {
        "id",
        "path",
        "depth",
        "numchild",
        "parent",
        "name",
        "code",
        "org_type",
        "category",
        "founded_on",
    }
    extra_fields = [f for f in Org._meta.concrete_fields if f.name not in known]
    extra_values = []
    for f in extra_fields:
        if f.has_default():
            v = f.get_default()
            extra_values.append(json.dumps(v) if isinstance(v, (list, dict)) else v)
        elif f.null:
            extra_values.append(None)
        elif isinstance(f, models.DateTimeField):
            extra_values.append(dt.datetime.now(dt.UTC))
        else:
            extra_values.append("")
    columns = [
        "id",
        "path",
        "depth",
        "numchild",
        "parent_id",
        "name",
        "code",
        "org_type",
        "category",
        "founded_on",
    ]
    columns += [f.column for f in extra_fields]
    with connection.cursor() as cursor:
        raw = cursor.cursor
        with raw.copy(f"COPY {Org._meta.db_table} ({', '.join(columns)}) FROM STDIN") as copy:
            for r in rows:
                copy.write_row(
                    (
                        r[0],
                        r[1],
                        r[2],
                        numchild.get(r[0], 0),
                        r[3],
                        r[4],
                        r[5],
                        r[6],
                        r[7],
                        r[8],
                        *extra_values,
                    )
                )
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence('{Org._meta.db_table}', 'id'), (SELECT max(id) FROM {Org._meta.db_table}))"
        )
    log(f"  orgs: {len(rows):,} in {time.monotonic() - started:.1f}s")
    return {"orgs": len(rows), "branches": len(branch_nodes)}


def build_parent_links_and_terms(log=print) -> None:
    from apps.organizations.models import OrgParentLink, Term

    started = time.monotonic()
    org = Org._meta.db_table
    n = insert_select(
        OrgParentLink,
        {
            "org": "o.id",
            "parent": "o.parent_id",
            "valid_from": "o.founded_on",
            "valid_to": "NULL",
            "reason": "'成立'",
        },
        f"{org} o",
    )
    # One open term per committee and branch: elected 0–5 years ago, 5-year terms, so about a
    # tenth end within the next six months.
    m = insert_select(
        Term,
        {
            "org": "o.id",
            "number": "1",
            "elected_on": "t.elected",
            "term_years": "5",
            "ends_on": "(t.elected + interval '5 years')::date",
            "state": "'active'",
            "note": "''",
            "created_at": "now()",
            "updated_at": "now()",
        },
        f"(SELECT o.id, (current_date - (floor(random() * 1826)::int + 1)) AS elected FROM {org} o "
        f"WHERE o.org_type <> %s) t JOIN {org} o ON o.id = t.id",
        [str(OrgType.PARTY_GROUP)],
    )
    log(f"  parent links: {n:,}, terms: {m:,} in {time.monotonic() - started:.1f}s")


def build_members(tier: Tier, log=print) -> int:
    """INSERT … SELECT members for every branch (a uniform number in the tier's range)."""
    started = time.monotonic()
    org = Org._meta.db_table
    low, high = tier.members_per_branch
    surnames = "(ARRAY[" + ",".join(f"'{s}'" for s in SURNAMES) + "])"
    given = "(ARRAY[" + ",".join(f"'{s}'" for s in GIVEN) + "])"
    base = f"""(
      SELECT b.id AS branch_id, grp.id AS group_id, s.i, row_number() OVER () AS rn,
             random() AS r_status, random() AS r_gender, random() AS r_birth, random() AS r_join,
             random() AS r_name1, random() AS r_name2, random() AS r_name3, random() AS r_two
      FROM {org} b
      LEFT JOIN LATERAL (SELECT g.id FROM {org} g WHERE g.parent_id = b.id AND g.org_type = 'party_group' LIMIT 1) grp ON true
      CROSS JOIN LATERAL generate_series(1, {low} + mod(hashtext(b.code) & 2147483647, {high - low + 1})) AS s(i)
      WHERE b.org_type = 'branch'
    ) x"""
    status = """CASE WHEN x.r_status < 0.85 THEN 'full' WHEN x.r_status < 0.89 THEN 'probationary'
        WHEN x.r_status < 0.895 THEN 'probation_extended' WHEN x.r_status < 0.90 THEN 'suspended'
        WHEN x.r_status < 0.93 THEN 'candidate' WHEN x.r_status < 0.97 THEN 'activist' ELSE 'applicant' END"""
    birth = "(DATE '1938-01-01' + floor(x.r_birth * 24800)::int)"
    joined = f"LEAST(({birth} + interval '18 years' + floor(x.r_join * 40 * 365) * interval '1 day')::date, current_date - 400)"
    exprs = {
        "branch": "x.branch_id",
        "party_group": "CASE WHEN x.group_id IS NOT NULL AND mod(x.i, 2) = 0 THEN x.group_id END",
        "user": "NULL",
        "name": f"{surnames}[1 + floor(x.r_name1 * {len(SURNAMES)})::int] || {given}[1 + floor(x.r_name2 * {len(GIVEN)})::int]"
        f" || CASE WHEN x.r_two < 0.7 THEN {given}[1 + floor(x.r_name3 * {len(GIVEN)})::int] ELSE '' END",
        "gender": "CASE WHEN x.r_gender < 0.31 THEN 'female' ELSE 'male' END",
        "birth_date": birth,
        "status": status,
        "joined_on": f"CASE WHEN {status} IN ('full', 'probationary', 'probation_extended', 'suspended') THEN {joined} END",
        "confirmed_on": f"CASE WHEN {status} IN ('full', 'suspended') THEN ({joined} + interval '1 year')::date END",
        "id_number": "''",
        "id_number_hash": "encode(sha256(('seed_scale:' || x.rn)::bytea), 'hex')",
        "id_number_masked": "'3201**********' || lpad(mod(x.rn, 10000)::text, 4, '0')",
        "phone": "''",
        "phone_hash": "''",
        "phone_masked": "'138****' || lpad(mod(x.rn, 10000)::text, 4, '0')",
        "created_at": "now()",
        "updated_at": "now()",
    }
    for name in ("education", "occupation"):
        try:
            field = Member._meta.get_field(name)
        except Exception:
            continue
        codes = [str(k) for k, _ in field.choices or []]
        if codes:
            exprs[name] = (
                f"(ARRAY[{','.join(repr(c) for c in codes)}])[1 + floor(x.r_join * {len(codes)})::int]"
            )
    n = insert_select(Member, exprs, base)
    log(f"  members: {n:,} in {time.monotonic() - started:.1f}s")
    return n


def build_users(log=print) -> list[tuple[str, str, str]]:
    """Three sign-ins for the benchmark: the root's 组织部, a county's 组织部, a branch secretary."""
    from apps.accounts.models import Role, RoleGrant, User

    password = "scale-pass-123"
    root = Org.objects.filter(depth=1).first()
    # The first 县（区）委: the deepest local committee (a city's child, a province's grandchild).
    county = (
        Org.objects.filter(path__startswith=root.path, depth__gt=1)
        .filter(org_type=OrgType.LOCAL_COMMITTEE)
        .order_by("-depth", "path")
        .first()
    ) or Org.objects.filter(parent=root).order_by("path").first()
    branch = (
        Org.objects.filter(path__startswith=county.path, org_type=OrgType.BRANCH)
        .order_by("path")
        .first()
    )
    out = []
    for username, role, org in (
        ("scale_root", Role.ORG_STAFF, root),
        ("scale_county", Role.ORG_STAFF, county),
        ("scale_branch", Role.SECRETARY, branch),
    ):
        user, _ = User.objects.get_or_create(username=username, defaults={"full_name": username})
        user.set_password(password)
        user.save()
        RoleGrant.objects.get_or_create(user=user, org=org, role=role)
        out.append((username, password, org.name))
    return out


# --- meetings and attendance ------------------------------------------------------------------

LEAVE_REASON = "因公出差"
# (kinds, audience, months of the quarter it is held in (1..3) or of the year (1..12), period)
MEETING_SLOTS = (
    (["theme_day"], "all", "month"),
    (["committee_meeting"], "committee", "month"),
    (["group_meeting"], "group", "month"),
    (["general_meeting"], "all", "quarter"),
    (["party_lecture"], "all", "quarter"),
    (["talk"], "few", "october"),
    (["org_life_meeting", "member_appraisal"], "all", "december"),
)


def _meeting_slots(first: dt.date, months: int) -> list[tuple[dt.date, list[str], str]]:
    from apps.core.periods import add_months

    slots = []
    for i in range(months):
        month = add_months(first, i)
        for kinds, audience, when in MEETING_SLOTS:
            if when == "quarter" and month.month % 3 != 2:
                continue
            if when == "october" and month.month != 10:
                continue
            if when == "december" and month.month != 12:
                continue
            kinds = list(kinds)
            if kinds == ["party_lecture"] and month.month == 5:
                kinds.append("secretary_lecture")  # 书记讲党课 once a year
            slots.append((month, kinds, audience))
    return slots


def _first_month(today: dt.date, months: int) -> dt.date:
    """The first month generated: `months` back, rounded to the start of its quarter (whole
    quarters only, so two years are the eight quarters ending with the current one)."""
    from apps.core.periods import Period, PeriodKind, add_months

    start = add_months(
        Period.containing(PeriodKind.QUARTER, today).end.replace(day=1), -(months - 1)
    )
    return Period.containing(PeriodKind.QUARTER, start).start


def build_meetings(
    tier: Tier,
    log=print,
    *,
    months: int = 24,
    today: dt.date | None = None,
    skip: float = 0.01,
    sample: float = 1.0,
) -> dict:
    """Two years of 三会一课 up to the current month, with one attendance row per expected
    member, as the meetings services would have written them: counters equal to the attendance
    rows, 1 % returned, recent records partly only submitted, meetings after today planned,
    `skip` of the meetings never held (so some branches are red), a few records entered late
    or without a plan (with their 纸上党建 flags). Then the rollups are rebuilt from the rows
    (apps/meetings/rollups.py), exactly as `rebuild_rollups` would.

    Audiences: 主题党日, 党员大会, 党课, 组织生活会 — every party member of the branch; 支委会 —
    the first five members of branches with ≥ 7 full members (they have a committee); 谈心谈话 —
    the first five members of every branch;
    党小组会 — the members of the branch's party group.

    `sample` < 1 gives meetings to that share of the branches only (picked by a hash of the id,
    spread over the whole tree): a province's full two years would be ~16 M meetings."""
    from apps.core.periods import local_today
    from apps.meetings.models import Attendance, Meeting, MeetingFlag
    from apps.members.models import MEMBER_STATUSES

    today = today or local_today()
    first = _first_month(today, months)
    started = time.monotonic()
    member = Member._meta.db_table
    roster = [str(s) for s in MEMBER_STATUSES]
    slots = _meeting_slots(first, months)
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS seed_roster, seed_branch, seed_group, seed_slots")
        cursor.execute(
            f"""CREATE TEMP TABLE seed_roster ON COMMIT DROP AS
            SELECT m.id AS member_id, m.branch_id, m.party_group_id AS group_id, m.status,
                   row_number() OVER (PARTITION BY m.branch_id ORDER BY m.id) AS k,
                   row_number() OVER (PARTITION BY m.party_group_id ORDER BY m.id) AS kg
            FROM {member} m WHERE m.status = ANY(%s)""",
            [roster],
        )
        cursor.execute(
            """CREATE TEMP TABLE seed_branch ON COMMIT DROP AS
            SELECT branch_id, count(*) AS n, count(*) FILTER (WHERE status = 'full') AS nfull
            FROM seed_roster WHERE (branch_id::bigint * 2654435761) %% 10000 < %s
            GROUP BY branch_id""",
            [round(sample * 10000)],
        )
        cursor.execute(
            """CREATE TEMP TABLE seed_group ON COMMIT DROP AS
            SELECT group_id, min(branch_id) AS branch_id, count(*) AS n
            FROM seed_roster WHERE group_id IS NOT NULL GROUP BY group_id"""
        )
        cursor.execute(
            "CREATE TEMP TABLE seed_slots (month date, kinds varchar(32)[], audience text) ON COMMIT DROP"
        )
        cursor.executemany(
            "INSERT INTO seed_slots VALUES (%s, %s, %s)",
            [(m, k, a) for m, k, a in slots],
        )
        cursor.execute("ANALYZE seed_roster")
        cursor.execute("ANALYZE seed_branch")
        # Generated rows are consistent by construction: skip the per-row foreign-key triggers
        # (tens of millions of PK probes) for the two big inserts.
        cursor.execute("SET LOCAL session_replication_role = replica")

    x = """(
      SELECT b.branch_id, g.group_id, s.kinds, s.month,
             CASE s.audience WHEN 'all' THEN b.n WHEN 'group' THEN g.n ELSE least(b.n, 5) END AS n,
             (s.month + floor(random() * 27)::int + time '09:00') AT TIME ZONE 'Asia/Shanghai' AS starts,
             random() AS r_state, random() AS r_absent, random() AS r_leave, random() AS r_odd
      FROM seed_branch b
      CROSS JOIN seed_slots s
      LEFT JOIN seed_group g ON g.branch_id = b.branch_id AND s.audience = 'group'
      WHERE (s.audience <> 'committee' OR b.nfull >= 7)
        AND (s.audience <> 'group' OR g.group_id IS NOT NULL)
        AND random() >= %s
    ) x"""
    future = "x.starts > now()"
    state = f"""CASE WHEN {future} THEN 'planned'
        WHEN x.r_state < 0.01 THEN 'returned'
        WHEN x.r_state < 0.015 THEN 'recorded'
        WHEN x.r_state < CASE WHEN x.starts > now() - interval '45 days' THEN 0.40 ELSE 0.03 END THEN 'submitted'
        ELSE 'accepted' END"""
    present = f"CASE WHEN {future} THEN 0 ELSE x.n - floor(x.n * x.r_absent * 0.3)::int END"
    leave = f"CASE WHEN {future} THEN 0 ELSE floor((x.n - ({present})) * x.r_leave)::int END"
    recorded = (
        f"CASE WHEN {future} THEN NULL WHEN x.r_odd < 0.004 THEN x.starts + interval '20 days' "
        "ELSE x.starts + interval '1 day' END"
    )
    title = """CASE x.kinds[1] WHEN 'theme_day' THEN '主题党日：学习贯彻党的创新理论'
        WHEN 'committee_meeting' THEN '支委会：研究本月支部工作' WHEN 'group_meeting' THEN '党小组会：交流学习体会'
        WHEN 'general_meeting' THEN '支部党员大会：通报季度工作' WHEN 'party_lecture' THEN '党课：坚定理想信念'
        WHEN 'talk' THEN '谈心谈话' ELSE '组织生活会暨民主评议党员' END"""
    exprs = {
        "branch": "x.branch_id",
        "party_group": "x.group_id",
        "kinds": "x.kinds",
        "title": title,
        "place": "'党员活动室'",
        "starts_at": "x.starts",
        "ends_at": "x.starts + interval '90 minutes'",
        "state": state,
        "planned_at": "CASE WHEN x.r_odd BETWEEN 0.004 AND 0.007 THEN NULL ELSE x.starts - interval '10 days' END",
        "unplanned_reason": "''",
        "host": "NULL",
        "recorder": "NULL",
        "lecturer": "NULL",
        "lecturer_name": "''",
        "minutes": "''",
        "decisions": "''",
        "topics": "''",
        "expected_count": "x.n",
        "present_count": present,
        "online_count": "0",
        "leave_count": leave,
        "absent_count": f"CASE WHEN {future} THEN 0 ELSE x.n - ({present}) - ({leave}) END",
        "roster_count": "x.n",
        "recorded_at": recorded,
        "submitted_at": f"CASE WHEN ({state}) IN ('submitted', 'accepted', 'returned') THEN ({recorded}) + interval '1 hour' END",
        "reviewed_at": f"CASE WHEN ({state}) IN ('accepted', 'returned') THEN ({recorded}) + interval '3 days' END",
        "reviewed_by": "NULL",
        "review_comment": "CASE WHEN x.r_state < 0.01 AND NOT (x.starts > now()) THEN '记录过于简单，请补充讨论发言要点' ELSE '' END",
        "cancel_reason": "''",
        "version": "1",
        "created_by": "NULL",
        "minutes_bands": "'{}'::bigint[]",
        "minutes_signature": "'{}'::bigint[]",
        "created_at": "coalesce(x.starts - interval '10 days', now())",
        "updated_at": "now()",
    }
    meetings = insert_select(Meeting, exprs, x, [skip])
    log(f"  meetings: {meetings:,} in {time.monotonic() - started:.1f}s")

    t = time.monotonic()
    meeting = Meeting._meta.db_table
    status = """CASE WHEN r.state = 'planned' THEN 'unknown' WHEN r.rk <= r.present_count THEN 'present'
        WHEN r.rk <= r.present_count + r.leave_count THEN 'leave' ELSE 'absent' END"""
    att = f"""(
      SELECT m.id AS meeting_id, m.state, m.present_count, m.leave_count, r.member_id,
             r.status AS member_status, r.k AS rk
      FROM {meeting} m JOIN seed_roster r ON r.branch_id = m.branch_id AND r.k <= m.expected_count
      WHERE m.party_group_id IS NULL
      UNION ALL
      SELECT m.id, m.state, m.present_count, m.leave_count, r.member_id, r.status, r.kg
      FROM {meeting} m JOIN seed_roster r ON r.group_id = m.party_group_id AND r.kg <= m.expected_count
      WHERE m.party_group_id IS NOT NULL
    ) r"""
    attendance = insert_select(
        Attendance,
        {
            "meeting": "r.meeting_id",
            "member": "r.member_id",
            "status": status,
            "reason": f"CASE WHEN ({status}) = 'leave' THEN '{LEAVE_REASON}' ELSE '' END",
            "has_vote": "r.member_status = 'full'",
            "excluded_from_expected": "false",
            "exclusion_basis": "''",
        },
        att,
    )
    log(f"  attendance: {attendance:,} in {time.monotonic() - t:.1f}s")
    t = time.monotonic()
    flags = insert_select(
        MeetingFlag,
        {
            "meeting": "m.id",
            "code": "CASE WHEN m.planned_at IS NULL THEN 'unplanned' ELSE 'late_entry' END",
            "detail": "CASE WHEN m.planned_at IS NULL THEN '未列入计划且未说明原因' "
            "ELSE '会议结束后20天才首次录入' END",
            "other": "NULL",
        },
        f"{meeting} m WHERE m.state <> 'planned' AND (m.planned_at IS NULL "
        "OR m.recorded_at > m.ends_at + interval '15 days')",
    )
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = origin")
    log(f"  meeting flags: {flags:,} in {time.monotonic() - t:.1f}s")
    return {"meetings": meetings, "attendance": attendance, "flags": flags}


def generated_quarters(*, months: int = 24, today: dt.date | None = None) -> list:
    """The quarters `build_meetings` fills, oldest first."""
    from apps.core.periods import Period, PeriodKind, local_today

    today = today or local_today()
    quarters = []
    q = Period.containing(PeriodKind.QUARTER, _first_month(today, months))
    while q.start <= today:
        quarters.append(q)
        q = q.next()
    return quarters


def build_meeting_rollups(log=print, *, months: int = 24, today: dt.date | None = None) -> None:
    """Layer 2 from the raw rows, then layer 3 for every quarter and year generated."""
    from apps.core.periods import Period, local_today
    from apps.meetings import rollups

    today = today or local_today()
    t = time.monotonic()
    rows = rollups.stats_recompute_all()
    log(f"  meetings branch rollup: {rows:,} rows in {time.monotonic() - t:.1f}s")
    first = _first_month(today, months)
    windows: list[Period] = generated_quarters(months=months, today=today)
    for year in range(first.year, today.year + 1):
        windows.append(Period.year_of(year))
    t = time.monotonic()
    for window in windows:
        rollups.org_stats_refresh(window, today=today)
    log(f"  meetings tree rollup: {len(windows)} periods in {time.monotonic() - t:.1f}s")
