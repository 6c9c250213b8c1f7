"""Shared fixtures: a small org tree and one user per role.

county (地方党委)
├── town_a (基层党委)
│   ├── branch_a (党支部) ── group_a (党小组)
│   └── branch_b (党支部)
└── town_b (基层党委)
    └── branch_c (党支部)
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.core.cache import cache
from django.test import Client

from apps.accounts.models import Role
from apps.organizations.models import OrgType
from tests.factories import MemberFactory, make_org, make_user


def clear_own_cache_keys() -> None:
    """Delete this test process's cache keys only. `cache.clear()` is FLUSHDB on Redis, which
    would also wipe other pytest-xdist workers' keys and the Celery broker's queues."""
    client = cache._cache.get_client(write=True)
    keys = list(client.scan_iter(match=f"{cache.key_prefix}:*", count=1000))
    if keys:
        client.delete(*keys)


@pytest.fixture(autouse=True)
def _clear_cache():
    clear_own_cache_keys()
    yield


@pytest.fixture
def tree(db):
    county = make_org(None, org_type=OrgType.LOCAL_COMMITTEE, name="测试县委")
    town_a = make_org(county, org_type=OrgType.PRIMARY_COMMITTEE, name="甲镇党委")
    town_b = make_org(county, org_type=OrgType.PRIMARY_COMMITTEE, name="乙镇党委")
    branch_a = make_org(town_a, name="甲村党支部")
    branch_b = make_org(town_a, name="乙村党支部")
    branch_c = make_org(town_b, name="丙村党支部")
    group_a = make_org(branch_a, org_type=OrgType.PARTY_GROUP, name="甲村第一党小组")
    for org in (county, town_a, town_b, branch_a, branch_b, branch_c, group_a):
        org.refresh_from_db()
    return SimpleNamespace(
        county=county,
        town_a=town_a,
        town_b=town_b,
        branch_a=branch_a,
        branch_b=branch_b,
        branch_c=branch_c,
        group_a=group_a,
    )


@pytest.fixture
def users(tree):
    """One user per role. `secretary` and `committee` hold branch_a; `staff` holds town_a;
    `admin` holds the county; `outsider` is a secretary of branch_c (another subtree);
    `member` is an ordinary member of branch_a with a member record."""
    member_user = make_user(Role.MEMBER, tree.branch_a, username="member")
    MemberFactory(branch=tree.branch_a, user=member_user, name="普通党员")
    return SimpleNamespace(
        admin=make_user(Role.SYSADMIN, tree.county, username="admin"),
        staff=make_user(Role.ORG_STAFF, tree.town_a, username="staff"),
        secretary=make_user(Role.SECRETARY, tree.branch_a, username="secretary"),
        committee=make_user(Role.COMMITTEE, tree.branch_a, username="committee"),
        outsider=make_user(Role.SECRETARY, tree.branch_c, username="outsider"),
        member=member_user,
        nobody=make_user(None, None, username="nobody"),
    )


@pytest.fixture
def client_for():
    """client_for(user) -> a Django test client signed in as that user."""

    def make(user) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return make


@pytest.fixture
def api_for():
    """api_for(user) -> a DRF APIClient authenticated as that user."""
    from rest_framework.test import APIClient

    def make(user) -> APIClient:
        client = APIClient()
        client.force_authenticate(user)
        return client

    return make
