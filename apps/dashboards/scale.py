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
    county = Org.objects.filter(parent=root).order_by("path").first()
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
