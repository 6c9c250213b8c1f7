"""Member search and roster import at county scale, in a scratch database.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/dj_x python bench/members.py [--members 40000]

Creates `<db>_membench` next to the configured database, migrates it, builds a county-shaped
tree (1 county → 20 towns → ~90 branches each) with ~40,000 members (COPY; ID numbers and
phones encrypted in Python exactly as the app does), then prints:
- member search (the real selector `member_search` + `capped_count`) within the county and within
  one town: name prefix with a common surname (王), a rare one, a two-character prefix, an ID
  suffix; page 1 of 20 rows and the capped count;
- the time to import a generated 5,000-row roster through the real import service
  (`apps.members.roster.roster_import`: validate every row, then one transaction).
The scratch database is dropped at the end.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DJANGO_DEBUG", "1")


def _scratch_url(base: str) -> tuple[str, str, str]:
    parsed = urlparse(base)
    name = parsed.path.lstrip("/") + "_membench"
    admin = urlunparse(parsed._replace(path="/postgres"))
    return urlunparse(parsed._replace(path="/" + name)), admin, name


def _admin_sql(admin_url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=40_000)
    parser.add_argument("--import-rows", type=int, default=5_000)
    parser.add_argument("--keep", action="store_true", help="do not drop the scratch database")
    args = parser.parse_args()
    base = os.environ.get("DATABASE_URL")
    if not base:
        sys.exit("Set DATABASE_URL (a PostgreSQL server where we may create a scratch database).")
    url, admin_url, name = _scratch_url(base)
    _admin_sql(admin_url, f'DROP DATABASE IF EXISTS "{name}"')
    _admin_sql(admin_url, f'CREATE DATABASE "{name}"')
    os.environ["DATABASE_URL"] = url
    try:
        import django

        django.setup()
        from django.core.management import call_command

        t = time.perf_counter()
        call_command("migrate", verbosity=0)
        print(f"scratch database {name} migrated in {time.perf_counter() - t:.1f}s")
        run(args)
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            _admin_sql(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            print(f"scratch database {name} dropped")


def build_tree(rng):
    from apps.organizations.models import Org, OrgCategory, OrgType

    county = Org(
        path=Org._get_path("", 1, 1),
        depth=1,
        numchild=20,
        name="基准县委",
        code="B",
        org_type=OrgType.LOCAL_COMMITTEE,
    )
    county.save()
    towns, branches = [], []
    for t in range(1, 21):
        town = Org(
            path=Org._get_path(county.path, 2, t),
            depth=2,
            numchild=90,
            parent=county,
            name=f"第{t}镇党委",
            code=f"B{t:02d}",
            org_type=OrgType.PRIMARY_COMMITTEE,
        )
        towns.append(town)
    Org.objects.bulk_create(towns)
    for town in towns:
        for b in range(1, 91):
            branches.append(
                Org(
                    path=Org._get_path(town.path, 3, b),
                    depth=3,
                    numchild=0,
                    parent=town,
                    name=f"{town.name[:-2]}第{b}村党支部",
                    code=f"{town.code}{b:03d}",
                    org_type=OrgType.BRANCH,
                    category=OrgCategory.RURAL,
                )
            )
    Org.objects.bulk_create(branches, batch_size=2000)
    return county, towns, branches


def build_members(rng, branches, total: int) -> float:
    import datetime as dt

    from django.db import connection

    from apps.core import crypto
    from apps.members.demo import AREAS, _name
    from apps.members.idcard import make_id_number

    t = time.perf_counter()
    today = dt.date.today()
    seen: set[str] = set()
    buf = io.StringIO()
    per_branch = max(1, total // len(branches))
    count = 0
    for branch in branches:
        n = max(3, int(rng.gauss(per_branch, per_branch / 3)))
        for _ in range(n):
            if count >= total:
                break
            male = rng.random() < 0.7
            while True:
                born = today - dt.timedelta(days=rng.randint(19 * 365, 85 * 365))
                number = make_id_number(rng.choice(AREAS), born, rng.randint(0, 99), male=male)
                if number not in seen:
                    seen.add(number)
                    break
            name = _name(rng, male)
            if rng.random() < 0.06:
                name = "王" + name[1:]  # make 王 about 12% like a real county
            phone = f"13{rng.randint(0, 9)}{rng.randint(10000000, 99999999)}"
            row = [
                str(branch.pk),
                name,
                "male" if male else "female",
                born.isoformat(),
                "full",
                "汉族",
                crypto.encrypt(number),
                crypto.blind_index("id_number", number),
                crypto.mask_id_number(number),
                crypto.encrypt(phone),
                crypto.blind_index("phone", phone),
                crypto.mask_phone(phone),
            ]
            buf.write("\t".join(row) + "\n")
            count += 1
    buf.seek(0)
    columns = (
        "branch_id, name, gender, birth_date, status, ethnicity, id_number, id_number_hash, id_number_masked, "
        "phone, phone_hash, phone_masked"
    )
    with connection.cursor() as cursor:
        with cursor.copy(
            f"COPY members_member ({columns}, created_at, updated_at, education, occupation, work_unit, post, "
            "management_status, mobile_out_to, mobile_in_from, is_center_household, photo, removal_kind) FROM STDIN"
        ) as copy:
            for line in buf:
                copy.write(line.rstrip("\n") + "\tnow\tnow\t\t\t\t\temployed\t\t\tf\t\t\n")
        cursor.execute("ANALYZE members_member")
        cursor.execute("ANALYZE organizations_org")
    print(f"members: {count} rows via COPY in {time.perf_counter() - t:.1f}s (encryption included)")
    return time.perf_counter() - t


def timed(fn, repeat: int = 7) -> float:
    fn()  # warm
    runs = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        runs.append((time.perf_counter() - t) * 1000)
    return statistics.median(runs)


def run(args) -> None:
    from apps.accounts.models import Role, RoleGrant, User
    from apps.members import roster
    from apps.members.models import Member
    from apps.members.selectors import capped_count, member_search

    rng = random.Random(7)
    county, towns, branches = build_tree(rng)
    print(f"tree: 1 county, {len(towns)} towns, {len(branches)} branches")
    build_members(rng, branches, args.members)
    staff = User.objects.create_user("bench-staff", password="x")
    RoleGrant.objects.create(user=staff, org=county, role=Role.ORG_STAFF)
    town_staff = User.objects.create_user("bench-town", password="x")
    RoleGrant.objects.create(user=town_staff, org=towns[0], role=Role.ORG_STAFF)

    suffix = (
        Member.objects.filter(branch__path__startswith=towns[0].path)
        .values_list("id_number_masked", flat=True)
        .first()[-4:]
    )
    rare = "韦"
    queries = [
        ("name prefix 王 (common)", "王"),
        (f"name prefix {rare} (rare)", rare),
        ("name prefix 王建", "王建"),
        (f"ID suffix {suffix}", suffix),
    ]
    print(f"\nmember search, median of 7 warm runs (ms); total members {Member.objects.count()}")
    print(f"{'query':<28}{'scope':<8}{'page 1 (20)':>12}{'capped count':>14}{'  count'}")
    for label, user in (("county", staff), ("town", town_staff)):
        for qlabel, q in queries:

            def qs(q=q, user=user):
                return member_search(user=user, q=q)

            page_ms = timed(lambda qs=qs: list(qs()[:20]))
            count_ms = timed(lambda qs=qs: capped_count(qs()))
            n, capped = capped_count(qs())
            print(
                f"{qlabel:<28}{label:<8}{page_ms:>12.2f}{count_ms:>14.2f}  {n}{'+' if capped else ''}"
            )
        page_ms = timed(lambda user=user: list(member_search(user=user)[:20]))
        count_ms = timed(lambda user=user: capped_count(member_search(user=user)))
        print(f"{'(no filter) list page':<28}{label:<8}{page_ms:>12.2f}{count_ms:>14.2f}")

    # Import: a generated roster of branches in town 1 and 2, by a secretary-level user at the county.
    importer = User.objects.create_user("bench-importer", password="x")
    RoleGrant.objects.create(user=importer, org=county, role=Role.SECRETARY)
    data = roster_workbook(rng, branches[:180], args.import_rows)
    t = time.perf_counter()
    result = roster.roster_import(actor=importer, file=io.BytesIO(data))
    elapsed = time.perf_counter() - t
    print(
        f"\nimport of a {args.import_rows}-row roster: {elapsed:.2f}s, created {result.created}, "
        f"errors {len(result.errors)}"
    )
    bad = roster_workbook(rng, branches[:180], args.import_rows, bad_every=1000)
    t = time.perf_counter()
    result = roster.roster_import(actor=importer, file=io.BytesIO(bad))
    print(
        f"import of a {args.import_rows}-row roster with {len(result.errors)} bad rows: "
        f"{time.perf_counter() - t:.2f}s, created {result.created} (nothing imported)"
    )


def roster_workbook(rng, branches, rows: int, bad_every: int = 0) -> bytes:
    import datetime as dt

    from openpyxl import Workbook

    from apps.members.demo import AREAS, _name
    from apps.members.idcard import make_id_number

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("花名册")
    ws.append(
        [
            "序号",
            "姓名",
            "性别",
            "公民身份号码",
            "民族",
            "出生日期",
            "学历",
            "人员类别",
            "入党日期",
            "转正日期",
            "工作单位及职务",
            "联系电话",
            "所在党支部",
        ]
    )
    today = dt.date.today()
    seen: set[str] = set()
    for i in range(rows):
        male = rng.random() < 0.7
        while True:
            born = today - dt.timedelta(days=rng.randint(25 * 365, 80 * 365))
            number = make_id_number(
                "9" + rng.choice(AREAS)[1:], born, rng.randint(0, 99), male=male
            )
            if number not in seen:
                seen.add(number)
                break
        joined = born + dt.timedelta(days=rng.randint(19 * 365, 24 * 365))
        if bad_every and i % bad_every == 7:
            number = number[:-1] + ("0" if number[-1] != "0" else "1")
        ws.append(
            [
                i + 1,
                _name(rng, male),
                "男" if male else "女",
                number,
                "汉族",
                f"{born.year}年{born.month}月{born.day}日",
                rng.choice(["本科", "大专", "高中"]),
                rng.choice(["农牧渔民", "工人", "专业技术人员"]),
                joined.strftime("%Y.%m.%d"),
                (joined + dt.timedelta(days=366)).strftime("%Y/%m/%d"),
                "村民委员会 委员",
                f"13{rng.randint(100000000, 999999999)}",
                rng.choice(branches).name,
            ]
        )
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


if __name__ == "__main__":
    main()
