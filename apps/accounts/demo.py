"""Demo sign-ins, one per role, on the demo county (seed_demo step `accounts.seed`).

Reads `ctx.data["county"]` and `ctx.data["branches"]` from the organizations step (and member
records from the members step when present); every key is optional, so the step never fails
when an earlier step is missing: it signs in what it can and logs what it skipped.
"""

from __future__ import annotations

from apps.accounts.models import Role, RoleGrant, User

# (role label, username, password, full name, phone)
DEMO_USERS = [
    ("系统管理员", "admin", "demo-admin-2026", "赵管理", "13900000001"),
    ("组织部/上级党委", "zuzhibu", "demo-staff-2026", "钱组织", "13900000002"),
    ("支部书记", "shuji", "demo-secretary-2026", "孙书记", "13900000003"),
    ("支委", "zhiwei", "demo-committee-2026", "李支委", "13900000004"),
    ("党员", "dangyuan", "demo-member-2026", "周党员", "13900000005"),
]


def demo_signins() -> list[tuple[str, str, str]]:
    """The demo sign-ins that exist in this database (for `seed_demo --if-empty`)."""
    existing = set(
        User.objects.filter(username__in=[u[1] for u in DEMO_USERS]).values_list(
            "username", flat=True
        )
    )
    return [
        (label, username, password)
        for label, username, password, *_ in DEMO_USERS
        if username in existing
    ]


def _pick_town(county):
    from apps.organizations.models import COMMITTEE_TYPES, Org, OrgCategory

    towns = Org.objects.filter(
        parent=county, org_type__in=COMMITTEE_TYPES, abolished_on__isnull=True
    ).order_by("path")
    return towns.filter(category=OrgCategory.RURAL).first() or towns.first()


def _pick_branch(branches, town):
    """A branch with members, preferably inside `town` (so the staff user sees it)."""
    from django.db.models import Count

    from apps.organizations.models import Org

    ids = [b.pk for b in branches]
    qs = (
        Org.objects.filter(pk__in=ids, abolished_on__isnull=True)
        .annotate(n=Count("members"))
        .order_by("-n", "path")
    )
    if town is not None:
        inside = qs.filter(path__startswith=town.path, n__gte=3).first()
        if inside is not None:
            return inside
    return qs.first()


def seed(ctx) -> None:
    county = ctx.data.get("county")
    if county is None:
        from apps.organizations.models import Org

        county = Org.objects.filter(depth=1).order_by("path").first()
    if county is None:
        ctx.log("  accounts.seed: no organizations yet; demo sign-ins skipped")
        return
    branches = list(ctx.data.get("branches") or [])
    if not branches:
        from apps.organizations.models import BRANCH_TYPES, Org

        branches = list(
            Org.objects.filter(path__startswith=county.path, org_type__in=BRANCH_TYPES)[:500]
        )
    town = _pick_town(county)
    branch = _pick_branch(branches, town) if branches else None
    places = {
        "admin": county,
        "zuzhibu": town or county,
        "shuji": branch,
        "zhiwei": branch,
        "dangyuan": branch,
    }
    roles = {
        "admin": Role.SYSADMIN,
        "zuzhibu": Role.ORG_STAFF,
        "shuji": Role.SECRETARY,
        "zhiwei": Role.COMMITTEE,
        "dangyuan": Role.MEMBER,
    }
    members = _free_members(branch)
    admin_user = None
    for label, username, password, full_name, phone in DEMO_USERS:
        org = places[username]
        if org is None:
            ctx.log(f"  accounts.seed: no branch for {label}; skipped")
            continue
        user = User.objects.filter(username=username).first() or User(username=username)
        member = members.pop(username, None)
        user.full_name = member.name if member is not None else full_name
        user.set_phone(phone)
        user.set_password(password)
        user.created_by = admin_user
        user.save()
        RoleGrant.objects.get_or_create(
            user=user, org=org, role=roles[username], defaults={"granted_by": admin_user}
        )
        if member is not None:
            member.user = user
            member.save(update_fields=["user"])
        if username == "admin":
            admin_user = user
        ctx.signins.append((label, username, password))


def _free_members(branch) -> dict:
    """Member records of the branch to link to the demo users: the 书记 for `shuji` (when the
    committee step ran), then ordinary members for `zhiwei` and `dangyuan`."""
    if branch is None:
        return {}
    try:
        from apps.members.models import Member
    except ImportError:
        return {}
    result = {}
    free = Member.objects.filter(branch=branch, user__isnull=True).party_members().order_by("id")
    try:
        from apps.organizations.models import CommitteePosition, Position

        position = (
            CommitteePosition.objects.filter(
                org=branch,
                position=Position.SECRETARY,
                ended_on__isnull=True,
                member__user__isnull=True,
            )
            .select_related("member")
            .first()
        )
        if position is not None:
            result["shuji"] = position.member
            free = free.exclude(pk=position.member_id)
    except ImportError:
        pass
    for username, member in zip(("zhiwei", "dangyuan"), free[:2], strict=False):
        result[username] = member
    return result
