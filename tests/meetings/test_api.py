"""API flow: plan → record → submit → return, bad input → 400, uploads checked."""

from __future__ import annotations

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.meetings.models import BranchPeriodStat, Meeting
from tests.meetings.conftest import at

pytestmark = pytest.mark.django_db


@time_machine.travel(at(2024, 3, 20), tick=False)
def test_secretary_flow_through_the_api(tree, users, roster_a, api_for, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    api = api_for(users.secretary)
    r = api.post(
        "/api/v1/meetings/",
        {
            "branch": tree.branch_a.pk,
            "kinds": ["general_meeting", "party_lecture"],
            "title": "一季度党员大会",
            "starts_at": "2024-03-31T23:30:00+08:00",
            "ends_at": "2024-04-01T00:30:00+08:00",
            "guests": [{"name": "王列席", "affiliation": "镇党委"}],
        },
        format="json",
    )
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["expected_count"] == 10 and body["guests"][0]["name"] == "王列席"
    mid = body["id"]
    held = time_machine.travel(at(2024, 3, 31, 23, 40), tick=False)  # recorded once begun
    held.start()
    attendance = [{"member_id": a["member_id"], "status": "present"} for a in body["attendances"]]
    attendance[0] = {"member_id": attendance[0]["member_id"], "status": "leave"}
    r = api.post(f"/api/v1/meetings/{mid}/record/", {"attendance": attendance}, format="json")
    assert r.status_code == 400 and "attendance" in r.json()  # leave needs a reason
    attendance[0]["reason"] = "住院"
    host = attendance[1]["member_id"]
    r = api.post(
        f"/api/v1/meetings/{mid}/record/",
        {
            "attendance": attendance,
            "host_id": host,
            "recorder_id": host,
            "lecturer_id": host,
            "minutes": "学习党章并讨论。",
            "votes": [{"title": "接收张三为预备党员", "yes": 7, "no": 0, "abstain": 0}],
        },
        format="json",
    )
    assert r.status_code == 200, r.content
    vote = r.json()["votes"][0]
    assert vote["passed"] is True and vote["expected_voting"] == 8 and vote["present_voting"] == 7
    held.stop()
    png = SimpleUploadedFile(
        "签到表.png", b"\x89PNG\r\n\x1a\n" + b"0" * 100, content_type="image/png"
    )
    r = api.post(
        f"/api/v1/meetings/{mid}/attachments/", {"file": png, "kind": "signin"}, format="multipart"
    )
    assert r.status_code == 201, r.content
    fake = SimpleUploadedFile("x.pdf", b"not a pdf", content_type="application/pdf")
    r = api.post(f"/api/v1/meetings/{mid}/attachments/", {"file": fake}, format="multipart")
    assert r.status_code == 400 and "file" in r.json()
    exe = SimpleUploadedFile("x.exe", b"MZ", content_type="application/octet-stream")
    assert (
        api.post(
            f"/api/v1/meetings/{mid}/attachments/", {"file": exe}, format="multipart"
        ).status_code
        == 400
    )
    with time_machine.travel(at(2024, 4, 2), tick=False):
        assert api.post(f"/api/v1/meetings/{mid}/submit/").status_code == 200
        assert (
            BranchPeriodStat.objects.get(
                org=tree.branch_a, period_key="2024-Q1", kind="general_meeting"
            ).meeting_count
            == 1
        )
        staff = api_for(users.staff)
        assert (
            staff.post(
                f"/api/v1/meetings/{mid}/return/", {"comment": ""}, format="json"
            ).status_code
            == 400
        )
        assert (
            staff.post(
                f"/api/v1/meetings/{mid}/return/", {"comment": "请补充决议"}, format="json"
            ).status_code
            == 200
        )
        assert (
            BranchPeriodStat.objects.get(
                org=tree.branch_a, period_key="2024-Q1", kind="general_meeting"
            ).meeting_count
            == 0
        )
        r = staff.get(
            f"/api/v1/meetings/compliance/subtree/{tree.town_a.pk}/", {"period": "2024-Q1"}
        )
        assert r.status_code == 200 and len(r.json()["children"]) == 2
        r = api.get(
            f"/api/v1/meetings/compliance/branch/{tree.branch_a.pk}/", {"period": "2024-Q1"}
        )
        assert r.json()["state"] == "red"
        assert (
            api.get(
                f"/api/v1/meetings/compliance/branch/{tree.branch_a.pk}/", {"period": "bad"}
            ).status_code
            == 400
        )


def test_outsider_ids_in_bodies_are_404(tree, users, roster_a, api_for):
    api = api_for(users.outsider)
    r = api.post(
        "/api/v1/meetings/",
        {
            "branch": tree.branch_a.pk,
            "kinds": ["theme_day"],
            "title": "x",
            "starts_at": "2024-03-01T09:00:00+08:00",
            "ends_at": "2024-03-01T10:00:00+08:00",
        },
        format="json",
    )
    assert r.status_code == 404
    r = api.get("/api/v1/meetings/", {"branch": tree.branch_a.pk})
    assert r.status_code == 404
    assert not Meeting.objects.exists()


def test_bad_plan_input_is_400(tree, users, roster_a, api_for):
    api = api_for(users.secretary)
    r = api.post(
        "/api/v1/meetings/",
        {
            "branch": tree.branch_a.pk,
            "kinds": ["nonsense"],
            "title": "",
            "starts_at": "x",
            "ends_at": "2024-03-01T10:00:00+08:00",
        },
        format="json",
    )
    assert r.status_code == 400
    assert {"kinds", "title", "starts_at"} <= set(r.json())
