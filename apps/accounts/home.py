"""The home page per role (首页): a few cheap counts and links to what each role does daily.

Links name url names of other apps; a link is shown only when its url name reverses (pages
appear here as the other apps build them)."""

from __future__ import annotations

from django.urls import NoReverseMatch, reverse

from apps.accounts.models import Role
from apps.accounts.scope import scope_of

# (label, url name, icon); url names taking the org id are tried with it first.
SECRETARY_LINKS = [
    ("登记会议", "meetings:create", "calendar-plus"),
    ("三会一课", "meetings:calendar", "calendar-check"),
    ("党员名册", "members:list", "people"),
    ("发展党员", "members:pipeline", "person-up"),
    ("党费收缴", "members:dues", "cash-coin"),
    ("支部信息", "organizations:detail", "diagram-3"),
]
STAFF_LINKS = [
    ("组织架构", "organizations:tree", "diagram-3"),
    ("预警提示", "organizations:warnings", "exclamation-triangle"),
    ("数据看板", "dashboards:home", "bar-chart"),
    ("考核评议", "assessments:home", "clipboard-check"),
    ("季度报告", "reports:list", "file-earmark-text"),
]
ADMIN_LINKS = [
    ("组织架构", "organizations:tree", "diagram-3"),
    ("用户与角色", "accounts:users", "person-gear"),
    ("规则参数", "core:rules", "sliders"),
    ("审计日志", "accounts:audit", "journal-text"),
]
MEMBER_LINKS = [
    ("我的档案", "members:me", "person-badge"),
    ("我的会议", "meetings:mine", "calendar-check"),
    ("党费记录", "members:my_dues", "cash-coin"),
]


def resolve_links(links, org=None) -> list[dict]:
    result = []
    for label, name, icon in links:
        url = None
        attempts = ([[org.pk]] if org is not None else []) + [[]]
        for args in attempts:
            try:
                url = reverse(name, args=args)
                break
            except NoReverseMatch:
                continue
        if url:
            result.append({"label": label, "url": url, "icon": icon})
    return result


def _branch_card(grant) -> dict:
    from apps.members.models import Member

    org = grant.org
    counts = Member.objects.filter(branch=org).party_members()
    return {
        "org": org,
        "role": grant.get_role_display(),
        "members": counts.count(),
        "links": resolve_links(SECRETARY_LINKS, org),
    }


def _subtree_card(grant) -> dict:
    from apps.organizations.models import BRANCH_TYPES, Org

    org = grant.org
    subtree = Org.objects.filter(path__startswith=org.path, abolished_on__isnull=True)
    return {
        "org": org,
        "role": grant.get_role_display(),
        "orgs": subtree.count(),
        "branches": subtree.filter(org_type__in=BRANCH_TYPES).count(),
        "links": resolve_links(STAFF_LINKS, org),
    }


def home_context(user) -> dict:
    scope = scope_of(user)
    grants = list(
        user.grants.select_related("org")
        .filter(org__abolished_on__isnull=True)
        .order_by("org__path")
    )
    cards: dict[str, list] = {"admin": [], "staff": [], "branch": [], "member": []}
    for grant in grants[:10]:  # a handful at most; keeps the page cheap
        if grant.role == Role.SYSADMIN:
            cards["admin"].append({"org": grant.org, "role": grant.get_role_display()})
        elif grant.role == Role.ORG_STAFF:
            cards["staff"].append(_subtree_card(grant))
        elif grant.role in (Role.SECRETARY, Role.COMMITTEE):
            cards["branch"].append(_branch_card(grant))
        elif grant.role == Role.MEMBER:
            cards["member"].append({"org": grant.org, "role": grant.get_role_display()})
    return {
        "scope": scope,
        "grants": grants,
        "cards": cards,
        "admin_links": resolve_links(ADMIN_LINKS) if cards["admin"] or scope.unrestricted else [],
        "member_links": resolve_links(MEMBER_LINKS),
    }
