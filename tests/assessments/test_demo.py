"""The demo step builds a published 2025 cycle and an open 2026 cycle, and skips without data."""

from __future__ import annotations

import datetime as dt
import random

from apps.assessments import demo
from apps.assessments.models import Cycle, CyclePhase, StarRating, WeakOrg
from apps.core.management.commands.seed_demo import DemoContext


def test_demo_cycles_on_the_county(tree):
    ctx = DemoContext(rng=random.Random(1), today=dt.date(2026, 11, 22), log=lambda *a: None)
    ctx.data["county"] = tree.county
    ctx.data["branches"] = [tree.branch_a, tree.branch_b, tree.branch_c]
    demo.seed(ctx)
    phases = dict(Cycle.objects.values_list("year", "phase"))
    assert phases == {2025: CyclePhase.PUBLISHED, 2026: CyclePhase.SELF_ASSESSMENT}
    assert StarRating.objects.filter(cycle__year=2025).count() == 3
    assert WeakOrg.objects.count() == 2
    assert {s[1] for s in ctx.signins} == {"kaohe", "pingyi"}


def test_demo_skips_without_a_county(db):
    ctx = DemoContext(rng=random.Random(1), today=dt.date(2026, 11, 22), log=lambda *a: None)
    demo.seed(ctx)
    assert not Cycle.objects.exists()
