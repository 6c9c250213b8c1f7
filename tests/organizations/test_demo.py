import datetime as dt
import random

import pytest
from django.db import transaction

from apps.core.management.commands.seed_demo import DemoContext
from apps.members.models import MemberStatus
from apps.organizations import demo
from apps.organizations.models import (
    BRANCH_TYPES,
    CommitteePosition,
    Org,
    OrgParentLink,
    OrgType,
    Position,
    Term,
)
from apps.organizations.rules import term_status
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 3, 1)


def build(seed: int, scale: float = 1.0) -> DemoContext:
    ctx = DemoContext(
        rng=random.Random(f"{seed}:organizations.seed_tree"),
        today=TODAY,
        scale=scale,
        log=lambda *a: None,
    )
    demo.seed_tree(ctx)
    return ctx


def snapshot():
    return list(
        Org.objects.order_by("path").values_list(
            "path", "code", "name", "founded_on", "parent__code"
        )
    )


def test_seed_tree_builds_a_believable_consistent_county():
    ctx = build(1)
    assert Org.objects.find_problems() == ([], [], [], [], [])
    for org in Org.objects.select_related("parent"):
        assert (org.parent.path if org.parent else "") == org.path[: (org.depth - 1) * Org.steplen]
    assert OrgParentLink.objects.filter(valid_to__isnull=True).count() == Org.objects.count()
    assert 250 <= len(ctx.data["branches"]) <= 350
    assert ctx.data["county"].depth == 1 and ctx.data["party_groups"]
    assert Org.objects.filter(depth=2).count() >= 15
    joint = Org.objects.filter(org_type=OrgType.JOINT_BRANCH)
    assert joint.exists() and all(1 <= len(o.joint_units) <= 5 for o in joint)
    # a 社区党委 with 网格 branches and 楼栋 党小组
    group = Org.objects.get(name="幸福社区1号楼党小组")
    assert (
        group.parent.name.startswith("幸福社区第1网格")
        and group.parent.parent.name == "幸福社区党委"
    )
    states = [term_status(t, TODAY).code for t in Term.objects.exclude(state="closed")]
    assert states.count("overdue") == 1 and states.count("due_soon") >= 5


def test_seed_tree_is_deterministic_for_a_seed():
    with transaction.atomic():
        build(7, scale=0.3)
        first = snapshot()
        transaction.set_rollback(True)
    build(7, scale=0.3)
    assert snapshot() == first
    assert len(first) < 250  # scale shrinks it


def test_seed_committees_uses_member_records_and_skips_empty_branches():
    ctx = build(3, scale=0.3)
    big, small, empty = ctx.data["branches"][:3]
    for _ in range(8):
        MemberFactory(branch=big)
    MemberFactory(branch=small)
    MemberFactory(branch=small, status=MemberStatus.PROBATIONARY)
    ctx.rng = random.Random("3:organizations.seed_committees")
    demo.seed_committees(ctx)
    big_positions = set(
        CommitteePosition.objects.filter(org=big).values_list("position", flat=True)
    )
    assert {Position.ORGANIZATION, Position.PUBLICITY, Position.DISCIPLINE} <= big_positions
    assert not CommitteePosition.objects.filter(org=empty).exists()
    assert all(
        p.member.branch.path.startswith(p.org.path)
        for p in CommitteePosition.objects.select_related("member__branch", "org")
    )
    assert all(o.org_type in BRANCH_TYPES for o in ctx.data["branches"])
