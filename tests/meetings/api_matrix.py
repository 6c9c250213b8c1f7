"""Role x endpoint cases for the meetings API (format: tests/api_matrix.py).

Objects live in branch_a (secretary/committee write there; staff at town_a is its superior;
admin at the county may read; outsider, member and nobody do not see it: 404)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from tests.api_matrix import Case

READ = {"admin": 200, "staff": 200, "secretary": 200, "committee": 200}
WRITE = {"admin": 403, "staff": 403, "secretary": 200, "committee": 200}
SUPERIOR = {"admin": 403, "staff": 200, "secretary": 403, "committee": 403}
# The `member` user is an expected attendee of the meetings built below (branch_a's roster):
# they read the meeting (own attendance only) and get 403 on everything else about it.
ATTENDEE_READ = {**READ, "member": 200}
ATTENDEE_NO = {"member": 403}


def _secretary(world):
    from apps.accounts.models import User

    return User.objects.get(username="secretary")


def _members(world, n=4):
    from apps.members.models import Member
    from tests.factories import MemberFactory

    existing = list(Member.objects.filter(branch=world.tree.branch_a))
    return existing + [
        MemberFactory(branch=world.tree.branch_a) for _ in range(max(0, n - len(existing)))
    ]


def _meeting(world, *, state="planned", kinds=("theme_day",)):
    from apps.meetings import services

    _members(world)
    now = timezone.now()
    start = now - dt.timedelta(days=2) if state != "planned" else now + dt.timedelta(days=2)
    m = services.meeting_plan(
        actor=_secretary(world),
        branch=world.tree.branch_a,
        kinds=list(kinds),
        title="主题党日",
        starts_at=start,
        ends_at=start + dt.timedelta(hours=1),
        unplanned_reason="临时",
    )
    if state == "planned":
        return m
    rows = list(m.attendances.all())
    m = services.meeting_record(
        actor=_secretary(world),
        meeting=m,
        host_id=rows[0].member_id,
        recorder_id=rows[0].member_id,
        minutes="学习文件并讨论。",
        attendance=[{"member_id": a.member_id, "status": "present"} for a in rows],
    )
    if state == "recorded":
        return m
    return services.meeting_submit(actor=_secretary(world), meeting=m)


def meeting(state="planned", **kw):
    return lambda world: {"path": {"id": _meeting(world, state=state, **kw).pk}}


def meeting_without_member(world):
    """A meeting of branch_a whose expected attendees leave out the `member` user."""
    from apps.meetings import services
    from apps.members.models import Member

    _members(world)
    start = timezone.now() + dt.timedelta(days=2)
    ids = list(
        Member.objects.filter(branch=world.tree.branch_a, user__isnull=True).values_list(
            "pk", flat=True
        )
    )
    m = services.meeting_plan(
        actor=_secretary(world),
        branch=world.tree.branch_a,
        kinds=["committee_meeting"],
        title="支委会",
        starts_at=start,
        ends_at=start + dt.timedelta(hours=1),
        attendee_ids=ids,
    )
    return {"path": {"id": m.pk}}


def plan_body(world):
    start = timezone.now() + dt.timedelta(days=3)
    _members(world)
    return {
        "path": {},
        "data": {
            "branch": world.tree.branch_a.pk,
            "kinds": ["theme_day"],
            "title": "主题党日",
            "starts_at": start.isoformat(),
            "ends_at": (start + dt.timedelta(hours=1)).isoformat(),
        },
    }


def record_body(world):
    from apps.meetings import services

    _members(world)
    start = timezone.now() - dt.timedelta(hours=2)  # held (a meeting is recorded once begun)
    m = services.meeting_plan(
        actor=_secretary(world),
        branch=world.tree.branch_a,
        kinds=["theme_day"],
        title="主题党日",
        starts_at=start,
        ends_at=start + dt.timedelta(hours=1),
        unplanned_reason="临时",
    )
    rows = list(m.attendances.all())
    return {
        "path": {"id": m.pk},
        "data": {
            "minutes": "学习了文件。",
            "host_id": rows[0].member_id,
            "attendance": [{"member_id": a.member_id, "status": "present"} for a in rows],
        },
    }


def move_body(world):
    start = timezone.now() + dt.timedelta(days=5)
    return {
        "path": {"id": _meeting(world).pk},
        "data": {
            "starts_at": start.isoformat(),
            "ends_at": (start + dt.timedelta(hours=1)).isoformat(),
        },
    }


def appraisal_body(world):
    m = _meeting(world, state="recorded", kinds=("member_appraisal",))
    return {
        "path": {"id": m.pk},
        "data": {
            "grades": [
                {"member_id": a.member_id, "grade": "qualified"} for a in m.attendances.all()
            ]
        },
    }


def criticism_body(world):
    m = _meeting(world, state="recorded", kinds=("org_life_meeting",))
    a = m.attendances.first()
    return {
        "path": {"id": m.pk},
        "data": {
            "topics": "对照检视",
            "notes": [{"member_id": a.member_id, "self_criticism": "学习不够"}],
        },
    }


def attachment(world):
    from django.core.files.base import ContentFile

    from apps.meetings.models import MeetingAttachment

    m = _meeting(world, state="recorded")
    att = MeetingAttachment(
        meeting=m, original_name="签到表.png", content_type="image/png", size=10
    )
    att.file.save("x.png", ContentFile(b"\x89PNG\r\n\x1a\n00"), save=False)
    att.save()
    return {"path": {"id": att.pk}}


def branch_a(world):
    return {"path": {"id": world.tree.branch_a.pk}, "query": {"period": "2024-Q1"}}


def town_a(world):
    return {"path": {"id": world.tree.town_a.pk}, "query": {"period": "2024-Q1"}}


def branch_c(world):
    return {"path": {"id": world.tree.branch_c.pk}, "query": {"period": "2024-Q1"}}


def exemption(world):
    from apps.accounts.models import User
    from apps.meetings import services

    e = services.exemption_grant(
        actor=User.objects.get(username="staff"),
        branch=world.tree.branch_a,
        period_key="2024-Q1",
        reason="新成立",
    )
    return {"path": {"id": e.pk}, "query": {"reason": "批错了"}}


def exemption_body(world):
    return {
        "path": {},
        "data": {"branch": world.tree.branch_a.pk, "period_key": "2024-Q1", "reason": "新成立"},
    }


CASES = [
    Case(
        "GET",
        "/api/v1/meetings/",
        expect={**READ, "outsider": 200, "member": 200, "nobody": 200},
        note="lists only the user's subtree",
    ),
    Case(
        "GET",
        "/api/v1/meetings/",
        build=lambda w: {"path": {}, "query": {"branch": w.tree.branch_a.pk}},
        expect=READ,
        note="branch filter in scope",
    ),
    Case(
        "POST",
        "/api/v1/meetings/",
        build=plan_body,
        expect={**WRITE, "secretary": 201, "committee": 201},
    ),
    Case("GET", "/api/v1/meetings/{id}/", build=meeting(), expect=ATTENDEE_READ),
    Case(
        "GET",
        "/api/v1/meetings/{id}/",
        build=meeting_without_member,
        expect=READ,
        note="member not expected at it: 404",
    ),
    Case(
        "GET",
        "/api/v1/meetings/mine/",
        expect={"member": 200},
        note="only users with a member record",
    ),
    Case(
        "DELETE",
        "/api/v1/meetings/{id}/",
        build=meeting(),
        expect={**WRITE, **ATTENDEE_NO, "secretary": 204, "committee": 204},
        note="unlocked",
    ),
    Case(
        "DELETE",
        "/api/v1/meetings/{id}/",
        build=lambda w: {**meeting("submitted")(w), "query": {"reason": "重复录入"}},
        expect={**SUPERIOR, **ATTENDEE_NO, "staff": 400},
        note="locked: superior only, and a record ever reported is refused (400)",
    ),
    Case(
        "POST",
        "/api/v1/meetings/{id}/record/",
        build=record_body,
        expect={**WRITE, **ATTENDEE_NO},
    ),
    Case("POST", "/api/v1/meetings/{id}/move/", build=move_body, expect={**WRITE, **ATTENDEE_NO}),
    Case(
        "POST",
        "/api/v1/meetings/{id}/attendees/",
        build=lambda w: {
            **meeting()(w),
            "data": {"guests": [{"name": "王书记", "affiliation": "镇党委"}]},
        },
        expect={**WRITE, **ATTENDEE_NO},
    ),
    Case(
        "POST",
        "/api/v1/meetings/{id}/cancel/",
        build=lambda w: {**meeting()(w), "data": {"reason": "改期"}},
        expect={**WRITE, **ATTENDEE_NO},
    ),
    Case(
        "POST",
        "/api/v1/meetings/{id}/submit/",
        build=meeting("recorded"),
        expect={**WRITE, **ATTENDEE_NO},
    ),
    Case(
        "POST",
        "/api/v1/meetings/{id}/accept/",
        build=meeting("submitted"),
        expect={**SUPERIOR, **ATTENDEE_NO},
    ),
    Case(
        "POST",
        "/api/v1/meetings/{id}/return/",
        build=lambda w: {**meeting("submitted")(w), "data": {"comment": "缺签到表"}},
        expect={**SUPERIOR, **ATTENDEE_NO},
    ),
    Case(
        "POST",
        "/api/v1/meetings/{id}/appraisals/",
        build=appraisal_body,
        expect={**WRITE, **ATTENDEE_NO},
    ),
    Case(
        "POST",
        "/api/v1/meetings/{id}/criticism/",
        build=criticism_body,
        expect={**WRITE, **ATTENDEE_NO},
    ),
    Case(
        "POST",
        "/api/v1/meetings/{id}/attachments/",
        build=lambda w: {**meeting("recorded")(w), "data": {}},
        expect={**WRITE, **ATTENDEE_NO, "secretary": 415, "committee": 415},
        note="JSON body refused (multipart only)",
    ),
    Case(
        "GET",
        "/api/v1/meetings/{id}/versions/",
        build=meeting("submitted"),
        expect={**READ, **ATTENDEE_NO},
    ),
    Case(
        "DELETE",
        "/api/v1/meetings/attachments/{id}/",
        build=attachment,
        expect={**WRITE, "secretary": 204, "committee": 204},
    ),
    Case("GET", "/api/v1/meetings/requirements/", expect={**READ, "outsider": 200}, default=403),
    Case(
        "POST",
        "/api/v1/meetings/exemptions/",
        build=exemption_body,
        expect={**SUPERIOR, "staff": 201},
    ),
    Case(
        "GET",
        "/api/v1/meetings/exemptions/",
        expect={**READ, "outsider": 200},
        default=403,
        note="lists only the user's subtree",
    ),
    Case(
        "DELETE",
        "/api/v1/meetings/exemptions/{id}/",
        build=exemption,
        expect={**SUPERIOR, "staff": 204},
    ),
    Case("GET", "/api/v1/meetings/compliance/branch/{id}/", build=branch_a, expect=READ),
    Case(
        "GET",
        "/api/v1/meetings/compliance/branch/{id}/",
        build=branch_c,
        expect={"admin": 200, "outsider": 200},
        note="another subtree",
    ),
    Case(
        "GET",
        "/api/v1/meetings/compliance/subtree/{id}/",
        build=town_a,
        expect={"admin": 200, "staff": 200},
    ),
    Case(
        "GET",
        "/api/v1/meetings/compliance/overdue/{id}/",
        build=town_a,
        expect={"admin": 200, "staff": 200},
    ),
    Case("GET", "/api/v1/meetings/attendance/{id}/", build=branch_a, expect=READ),
]
