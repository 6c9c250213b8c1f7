"""年初部署 commitments tracked through the year, and the cycle's list endpoints (problems, duty
reports, reports to vote on, stars): owner, read-only (403), outsider (404), bad input (400)."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.contrib.messages import get_messages

from apps.assessments import services as svc
from apps.assessments.models import CommitmentUpdate
from apps.core.models import AuditEntry


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(dt.datetime(2026, 6, 30, 10, tzinfo=dt.UTC), tick=False):
        yield


@pytest.fixture
def cycle(tree, users, branch_template):
    return svc.cycle_open(
        actor=users.staff, org=tree.town_a, year=2026, branch_template=branch_template
    )


@pytest.fixture
def pledge(cycle, tree, users):
    return svc.commitment_add(
        actor=users.secretary,
        cycle=cycle,
        org=tree.branch_a,
        kind="public_pledge",
        content="每月走访困难党员",
    )


def _messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


# --- commitments --------------------------------------------------------------------------


def test_secretary_updates_progress_by_api_each_update_kept_and_audited(users, pledge, api_for):
    api = api_for(users.secretary)
    url = f"/api/v1/assessments/commitments/{pledge.pk}/"
    r = api.patch(url, {"progress": "已走访3户", "status": "in_progress"}, format="json")
    assert r.status_code == 200, r.content
    assert r.json()["status"] == "in_progress"
    r = api.patch(url, {"progress": "已走访12户，全部完成"}, format="json")  # status kept
    assert r.status_code == 200
    body = r.json()
    assert body["progress"] == "已走访12户，全部完成"
    assert body["status"] == "in_progress"
    assert [u["progress"] for u in body["updates"]] == ["已走访3户", "已走访12户，全部完成"]
    assert CommitmentUpdate.objects.filter(commitment=pledge).count() == 2
    entry = AuditEntry.objects.filter(verb="commitment_update").order_by("id").first()
    assert entry.changes["status"] == ["planned", "in_progress"]


def test_superior_sees_progress_but_may_not_write_it(users, cycle, pledge, api_for):
    svc.commitment_update(
        actor=users.committee, commitment=pledge, progress="推进中", status="in_progress"
    )
    staff = api_for(users.staff)
    rows = staff.get(f"/api/v1/assessments/cycles/{cycle.pk}/commitments/").json()
    assert [(c["id"], c["progress"], c["status"]) for c in rows] == [
        (pledge.pk, "推进中", "in_progress")
    ]
    r = staff.patch(
        f"/api/v1/assessments/commitments/{pledge.pk}/", {"progress": "改写"}, format="json"
    )
    assert r.status_code == 403


def test_read_only_member_403_outsider_404(users, pledge, api_for, client_for):
    url = f"/api/v1/assessments/commitments/{pledge.pk}/"
    assert api_for(users.member).patch(url, {"progress": "x"}, format="json").status_code == 403
    assert api_for(users.outsider).patch(url, {"progress": "x"}, format="json").status_code == 404
    assert api_for(users.outsider).get(url).status_code == 404
    page = client_for(users.outsider).post(
        f"/assessments/cycles/{pledge.cycle_id}/commitment_progress/",
        {"commitment": pledge.pk, "progress": "x"},
    )
    assert page.status_code == 404
    pledge.refresh_from_db()
    assert pledge.progress == ""


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"progress": "进" * 2001}, "progress", "进展不能超过2000个字（现为2001个）。"),
        ({"progress": "   "}, "progress", "请填写进展情况。"),
        ({"progress": "好", "status": "finished"}, "status", "请选择推进状态。"),
        ({}, "progress", None),
    ],
)
def test_bad_input_is_400_with_a_field_error(users, pledge, api_for, data, field, message):
    r = api_for(users.secretary).patch(
        f"/api/v1/assessments/commitments/{pledge.pk}/", data, format="json"
    )
    assert r.status_code == 400
    if message:
        assert r.json()[field] == [message]
    assert not CommitmentUpdate.objects.exists()


def test_unknown_or_huge_ids_are_404(users, cycle, api_for, client_for):
    api = api_for(users.secretary)
    for pk in (999999, 2**70):
        assert (
            api.patch(f"/api/v1/assessments/commitments/{pk}/", {"progress": "x"}).status_code
            == 404
        )
    page = client_for(users.secretary)
    for value in ("abc", "-1", str(2**70), ""):
        r = page.post(
            f"/assessments/cycles/{cycle.pk}/commitment_progress/",
            {"commitment": value, "progress": "x"},
        )
        assert r.status_code == 404


def test_commitment_of_another_cycle_is_404_on_the_page(users, tree, pledge, client_for):
    other = svc.cycle_open(
        actor=users.staff,
        org=tree.town_a,
        year=2027,
        branch_template=pledge.cycle.branch_template,
    )
    r = client_for(users.secretary).post(
        f"/assessments/cycles/{other.pk}/commitment_progress/",
        {"commitment": pledge.pk, "progress": "x"},
    )
    assert r.status_code == 404


def test_page_form_updates_progress_and_shows_it(users, cycle, pledge, client_for):
    page = client_for(users.secretary)
    html = page.get(f"/assessments/cycles/{cycle.pk}/").content.decode()
    assert "更新进展" in html and 'name="commitment"' in html
    r = page.post(
        f"/assessments/cycles/{cycle.pk}/commitment_progress/",
        {"commitment": pledge.pk, "progress": "已走访5户", "status": "in_progress"},
    )
    assert r.status_code == 302
    assert "已更新承诺进展。" in _messages(r)
    r = page.post(
        f"/assessments/cycles/{cycle.pk}/commitment_progress/",
        {"commitment": pledge.pk, "progress": "长" * 2001},
    )
    assert "进展不能超过2000个字（现为2001个）。" in _messages(r)
    # the superior reads the progress but gets no form
    html = client_for(users.staff).get(f"/assessments/cycles/{cycle.pk}/").content.decode()
    assert "已走访5户" in html and "推进中" in html
    assert 'name="commitment"' not in html


def test_closed_cycle_refuses_updates(users, cycle, pledge):
    from django.core.exceptions import ValidationError

    type(cycle).objects.filter(pk=cycle.pk).update(phase="closed")
    with pytest.raises(ValidationError, match="考核周期已结束"):
        svc.commitment_update(actor=users.secretary, commitment=pledge, progress="迟到的进展")


# --- list endpoints -----------------------------------------------------------------------


def test_problem_list_is_scoped_to_the_subtree(users, tree, cycle, api_for):
    a = svc.problem_raise(
        actor=users.staff, cycle=cycle, org=tree.branch_a, origin="midterm", description="甲"
    )
    b = svc.problem_raise(
        actor=users.staff, cycle=cycle, org=tree.branch_b, origin="midterm", description="乙"
    )
    url = f"/api/v1/assessments/cycles/{cycle.pk}/problems/"
    staff = api_for(users.staff).get(url).json()
    assert {p["id"] for p in staff} == {a.pk, b.pk}
    mine = api_for(users.secretary).get(url).json()
    assert [(p["id"], p["description"], p["state"]) for p in mine] == [(a.pk, "甲", "open")]
    assert api_for(users.outsider).get(url).status_code == 404
    assert api_for(users.staff).get("/api/v1/assessments/cycles/abc/problems/").status_code == 404


def test_duty_report_list_and_to_vote(users, tree, api_for, branch_template, secretary_template):
    cycle = svc.cycle_open(
        actor=users.staff,
        org=tree.town_a,
        year=2026,
        branch_template=branch_template,
        secretary_template=secretary_template,
    )
    for phase in ("midterm", "self_assessment"):
        svc.cycle_advance(
            actor=users.staff, cycle=cycle, to_phase=phase, cutoff=dt.date(2026, 6, 1)
        )
    report = svc.duty_report_submit(
        actor=users.secretary, cycle=cycle, org=tree.branch_a, content="述职报告"
    )
    svc.evaluator_add(actor=users.staff, cycle=cycle, user=users.staff, group="committee")
    url = f"/api/v1/assessments/cycles/{cycle.pk}/duty-reports/"
    rows = api_for(users.staff).get(url).json()
    assert [(r["id"], r["content"]) for r in rows] == [(report.pk, "述职报告")]
    assert api_for(users.outsider).get(url).status_code == 404

    to_vote = api_for(users.staff).get("/api/v1/assessments/duty-reports/to-vote/").json()
    assert [(r["id"], r["voted"], r["my_vote"]) for r in to_vote] == [(report.pk, False, None)]
    svc.vote_cast(actor=users.staff, report=report, choice="good")
    to_vote = api_for(users.staff).get("/api/v1/assessments/duty-reports/to-vote/").json()
    assert [(r["id"], r["voted"], r["my_vote"]) for r in to_vote] == [(report.pk, True, "good")]
    # not an evaluator: an empty list, not an error
    assert api_for(users.outsider).get("/api/v1/assessments/duty-reports/to-vote/").json() == []


def test_stars_with_their_history_public_after_publication(users, tree, cycle, api_for):
    from apps.assessments.models import StarRating
    from tests.assessments.api_matrix import _review_all

    for phase in ("midterm", "self_assessment", "review"):
        svc.cycle_advance(
            actor=users.staff, cycle=cycle, to_phase=phase, cutoff=dt.date(2026, 6, 1)
        )
    _review_all(type("W", (), {"users": users})(), cycle)
    svc.stars_compute(actor=users.staff, cycle=cycle)
    url = f"/api/v1/assessments/cycles/{cycle.pk}/stars/"
    staff = api_for(users.staff).get(url).json()
    assert {r["org"] for r in staff} == {tree.branch_a.pk, tree.branch_b.pk}
    assert all(r["changes"] for r in staff)
    assert api_for(users.secretary).get(url).json() == []  # not published yet
    svc.cycle_advance(actor=users.staff, cycle=cycle, to_phase="published")
    rating = StarRating.objects.get(cycle=cycle, org=tree.branch_a)
    new = 1 if rating.stars != 1 else 2
    svc.star_change(actor=users.staff, rating=rating, stars=new, reason="动态调整")
    mine = api_for(users.secretary).get(url).json()
    assert [r["org"] for r in mine] == [tree.branch_a.pk]
    assert mine[0]["stars"] == new
    assert mine[0]["changes"][-1] | {"at": None} == {
        "from_stars": rating.stars,
        "to_stars": new,
        "reason": "动态调整",
        "manual": True,
        "at": None,
    }
    assert api_for(users.outsider).get(url).status_code == 404
