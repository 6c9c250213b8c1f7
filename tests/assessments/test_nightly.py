"""The nightly job (config/celery.py beat `assessments-nightly`): open cycles' automatic scores
recomputed (only what changed is stored, so a second run stores nothing) and the 软弱涣散
screening stored per subtree; both idempotent."""

from __future__ import annotations

import datetime as dt

import time_machine

from apps.assessments import services as svc
from apps.assessments import tasks
from apps.assessments.models import (
    AssessmentState,
    Computation,
    CyclePhase,
    WeakCandidate,
)
from apps.organizations.models import CommitteePosition, Position
from config.celery import app
from tests.factories import MemberFactory
from tests.meetings.conftest import at, hold

NOW = dt.datetime(2026, 11, 30, 10, tzinfo=dt.UTC)


def test_the_job_is_declared_once_in_the_beat_schedule():
    entry = app.conf.beat_schedule["assessments-nightly"]
    assert entry["task"] == "assessments.nightly_sweep"
    assert "assessments.nightly_sweep" in app.tasks


def test_nightly_recompute_stores_only_changes_and_skips_reviewed_and_published(
    tree, users, county_staff, branch_template
):
    with time_machine.travel(NOW, tick=False):
        cycle = svc.cycle_open(
            actor=county_staff, org=tree.county, year=2026, branch_template=branch_template
        )
        svc.cycle_advance(actor=county_staff, cycle=cycle, to_phase=CyclePhase.MIDTERM)
        assert Computation.objects.filter(assessment__cycle=cycle).count() == 3
        # nothing changed since entering 年中督查: the job stores nothing
        assert tasks.recompute_cycle(cycle.pk) == 0
    # a 主题党日 recorded for branch_b in December changes branch_b's scores only
    when = at(2026, 12, 3)
    MemberFactory(branch=tree.branch_b)
    with time_machine.travel(when + dt.timedelta(hours=2), tick=False):
        hold(actor=users.staff, branch=tree.branch_b, kinds=["theme_day"], when=when)
    later = dt.datetime(2026, 12, 4, 19, tzinfo=dt.UTC)  # 5 Dec 03:00 Beijing, after the beat time
    with time_machine.travel(later, tick=False):
        assert tasks.recompute_cycle(cycle.pk) == 1
        b = cycle.assessments.get(org=tree.branch_b)
        latest = Computation.objects.filter(assessment=b).latest("computed_at", "id")
        assert latest.cutoff == dt.date(2026, 12, 5)
        assert tasks.recompute_cycle(cycle.pk) == 0  # twice: nothing more
        # branch_a's computation of 30 Nov still holds on 5 Dec: marked, not duplicated
        a = cycle.assessments.get(org=tree.branch_a)
        kept = Computation.objects.get(assessment=a)
        assert (kept.cutoff, kept.unchanged_through) == (
            dt.date(2026, 11, 30),
            dt.date(2026, 12, 5),
        )
        assert Computation.objects.filter(assessment__cycle=cycle).count() == 4
        # a reviewed scorecard keeps the computation its final score rests on
        cycle.assessments.filter(org=tree.branch_a).update(state=AssessmentState.REVIEWED)
        CommitteePosition.objects.create(
            org=tree.branch_a,
            member=MemberFactory(branch=tree.branch_a),
            position=Position.SECRETARY,
            started_on=dt.date(2026, 12, 1),
        )
        assert tasks.recompute_cycle(cycle.pk) == 0
        # a published cycle is not recomputed
        cycle.phase = CyclePhase.PUBLISHED
        cycle.save(update_fields=["phase"])
        cycle.assessments.update(state=AssessmentState.OPEN)
        assert tasks.recompute_cycle(cycle.pk) == 0


def test_nightly_screening_is_stored_per_subtree_and_idempotent(tree, users, client_for):
    with time_machine.travel(NOW, tick=False):
        # no meeting anywhere: every branch has whole quarters without 三会一课
        assert tasks.weak_screening(tree.county.pk) == 3
        first = list(WeakCandidate.objects.order_by("org_id").values_list("org_id", "reasons"))
        assert tasks.weak_screening(tree.county.pk) == 3
        assert (
            list(WeakCandidate.objects.order_by("org_id").values_list("org_id", "reasons")) == first
        )
        assert {r for _, reasons in first for r in reasons} == {
            "“三会一课”整季度未开展（2025年第4季度、2026年第1季度、2026年第2季度、2026年第3季度）",
            "连续2年未发展党员",
        }
        # the town_a staff sees the stored list of its subtree only, with the screening date
        page = client_for(users.staff).get(f"/assessments/weak/?org={tree.town_a.pk}")
        html = page.content.decode()
        assert "筛查日期 2026-11-30" in html
        assert tree.branch_a.name in html and tree.branch_c.name not in html


def test_rescreen_button_needs_the_superior(tree, users, client_for):
    with time_machine.travel(NOW, tick=False):
        url = "/assessments/weak/screen/"
        assert client_for(users.outsider).post(url, {"org": tree.town_a.pk}).status_code == 404
        assert client_for(users.admin).post(url, {"org": tree.county.pk}).status_code == 403
        assert not WeakCandidate.objects.exists()
        response = client_for(users.staff).post(url, {"org": tree.town_a.pk})
        assert response.status_code == 302
        assert set(WeakCandidate.objects.values_list("org_id", flat=True)) == {
            tree.branch_a.pk,
            tree.branch_b.pk,
        }
