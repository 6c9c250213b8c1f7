"""Bad periods and query parameters: Chinese messages and 4xx, never a 500; a bad dirty mark
never blocks the rollup refresh of the other periods."""

from __future__ import annotations

import pytest
import time_machine
from django.core.exceptions import ValidationError

from apps.meetings import rollups, services, tasks
from apps.meetings.models import Exemption, OrgPeriodStat, RollupDirty
from tests.meetings.conftest import at, hold

pytestmark = pytest.mark.django_db

BAD_PERIODS = ["0-Q1", "-5-Q1", "1920", "2200-01", "2024-Q5", "2024-13", "abc", "9" * 30]


@time_machine.travel(at(2024, 3, 20), tick=False)
def test_exemption_period_is_validated(tree, users, client_for, api_for):
    for key in BAD_PERIODS:
        with pytest.raises(ValidationError) as exc:
            services.exemption_grant(
                actor=users.staff, branch=tree.branch_a, period_key=key, reason="新成立"
            )
        assert "期间" in str(exc.value)
        r = api_for(users.staff).post(
            "/api/v1/meetings/exemptions/",
            {"branch": tree.branch_a.pk, "period_key": key[:10], "reason": "新成立"},
            format="json",
        )
        assert r.status_code == 400 and "period_key" in r.json(), key
        r = client_for(users.staff).post(
            "/meetings/exemptions/",
            {
                "org": tree.town_a.pk,
                "branch": tree.branch_a.pk,
                "period_key": key[:10],
                "reason": "新成立",
            },
        )
        assert r.status_code == 400 and "期间" in r.content.decode(), key
    assert not Exemption.objects.exists()
    e = Exemption(
        branch=tree.branch_a,
        period_key="0-Q1",
        reason="x",
        approved_by=users.staff,
        approved_on=at(2024, 3, 20).date(),
    )
    with pytest.raises(ValidationError) as exc:
        e.full_clean()  # the admin path
    assert "period_key" in exc.value.message_dict


@time_machine.travel(at(2024, 3, 20), tick=False)
def test_refresh_job_drops_a_bad_key_and_refreshes_the_rest(tree, users, roster_a):
    hold(actor=users.secretary, branch=tree.branch_a, kinds=["theme_day"], when=at(2023, 5, 5))
    for key in ("0-Q1", "2023-Q2", "2023-05", "junk"):
        RollupDirty.objects.get_or_create(period_key=key)
    done = rollups.org_stats_refresh_due()
    assert {"2023-Q2", "2023", "2024-Q1", "2024"} <= set(done)
    assert not RollupDirty.objects.exists()
    assert OrgPeriodStat.objects.filter(period_key="2023-Q2", org=tree.branch_a).exists()
    assert tasks.org_stats_refresh("0-Q1") == 0


@time_machine.travel(at(2024, 3, 20), tick=False)
def test_bad_query_parameters_are_not_500(tree, users, roster_a, client_for, api_for):
    c = client_for(users.staff)
    for url in (
        "/meetings/?month=0-01",
        "/meetings/?month=2024-13",
        f"/meetings/?branch={tree.branch_a.pk}&month=1921-01",
        f"/meetings/?branch={tree.branch_a.pk}&month=2199-12",
        "/meetings/mine/?month=abc",
        f"/meetings/compliance/?org={tree.town_a.pk}&period=0-Q1",
        f"/meetings/compliance/?org={tree.town_a.pk}&period=1921-Q1",
        f"/meetings/compliance/?org={tree.town_a.pk}&period=2199",
        f"/meetings/exemptions/?org={tree.town_a.pk}&period=0-Q1",
        "/meetings/review/?state=bogus&kind=bogus&flagged=x&page=abc",
    ):
        assert c.get(url).status_code < 500, url
    api = api_for(users.staff)
    for url in (
        f"/api/v1/meetings/compliance/branch/{tree.branch_a.pk}/?period=0-Q1",
        f"/api/v1/meetings/compliance/subtree/{tree.town_a.pk}/?period=-5-Q1",
        f"/api/v1/meetings/compliance/overdue/{tree.town_a.pk}/?period=2200",
        f"/api/v1/meetings/attendance/{tree.branch_a.pk}/?period=abc",
        "/api/v1/meetings/?from=2024-13-01",
        "/api/v1/meetings/?branch=abc",
    ):
        r = api.get(url)
        assert 400 <= r.status_code < 500, (url, r.status_code)
    r = api.get(f"/api/v1/meetings/compliance/branch/{tree.branch_a.pk}/?period=0-Q1")
    assert "期间" in r.json()["period"][0]
