import random
from datetime import date

import pytest

from apps.accounts import demo
from apps.accounts.models import Role, User
from apps.core.management.commands.seed_demo import DemoContext
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db


def _ctx(**data):
    return DemoContext(rng=random.Random(1), today=date(2026, 5, 1), data=data, log=lambda *_: None)


def test_one_sign_in_per_role_and_member_linked(tree):
    MemberFactory.create_batch(4, branch=tree.branch_a)
    ctx = _ctx(county=tree.county, branches=[tree.branch_a, tree.branch_b, tree.branch_c])
    demo.seed(ctx)
    assert [s[1] for s in ctx.signins] == ["admin", "zuzhibu", "shuji", "zhiwei", "dangyuan"]
    assert User.objects.get(username="admin").grants.get().org == tree.county
    staff_grant = User.objects.get(username="zuzhibu").grants.get()
    assert staff_grant.role == Role.ORG_STAFF and staff_grant.org.parent == tree.county
    member_user = User.objects.get(username="dangyuan")
    assert member_user.grants.get().org == tree.branch_a
    assert member_user.member.branch == tree.branch_a
    assert member_user.check_password("demo-member-2026")
    assert demo.demo_signins() == ctx.signins


def test_sign_in_with_demo_password_through_the_page(client, tree):
    MemberFactory.create_batch(3, branch=tree.branch_a)
    demo.seed(_ctx(county=tree.county, branches=[tree.branch_a]))
    response = client.post(
        "/accounts/login/", {"username": "13900000003", "password": "demo-secretary-2026"}
    )
    assert response.status_code == 302


def test_missing_data_never_crashes(db):
    ctx = _ctx()
    demo.seed(ctx)  # no organizations at all
    assert ctx.signins == []
    assert demo.demo_signins() == []


def test_county_without_branches_still_gets_an_admin(tree):
    from apps.organizations.models import Org

    Org.objects.exclude(pk=tree.county.pk).filter(org_type="branch").update(
        org_type="general_branch"
    )
    ctx = _ctx(county=tree.county)
    demo.seed(ctx)
    assert [s[1] for s in ctx.signins] == ["admin", "zuzhibu"]
