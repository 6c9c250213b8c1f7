import random
from types import SimpleNamespace

import pytest

from apps.core.periods import local_today
from apps.members import demo
from apps.members.idcard import validate_id_number
from apps.members.models import DevelopmentStep, DuesBranchMonth, Member, MemberStatus

pytestmark = pytest.mark.django_db


def test_seed_fills_every_branch_with_valid_people(tree):
    branches = [tree.branch_a, tree.branch_b, tree.branch_c]
    ctx = SimpleNamespace(
        rng=random.Random(3),
        today=local_today(),
        scale=1.0,
        log=lambda *a: None,
        data={"branches": branches, "party_groups": [tree.group_a]},
    )
    demo.seed(ctx)
    assert set(ctx.data["members_by_branch"]) == {b.pk for b in branches}
    for m in Member.objects.all():
        assert (
            validate_id_number(m.id_number, birth_date=m.birth_date, gender=m.gender) == m.id_number
        )
    assert DevelopmentStep.objects.exists()
    developing = Member.objects.filter(steps__isnull=False).distinct()
    assert all(m.status != MemberStatus.FULL for m in developing)
    assert DuesBranchMonth.objects.filter(branch__in=branches).exists()


def test_seed_without_branches_is_skipped():
    ctx = SimpleNamespace(rng=random.Random(1), today=local_today(), data={}, log=lambda *a: None)
    demo.seed(ctx)
    assert not Member.objects.exists()
