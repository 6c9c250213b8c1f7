"""Role x endpoint cases for the members API (format: tests/api_matrix.py).

Objects live in branch_a (secretary/committee write, staff = superior with reveal over town_a,
admin = system administrator without branch rights). Outsiders and nobody get 404; the member
role sees only /members/me/."""

from __future__ import annotations

import datetime as dt

from tests.api_matrix import Case

VIEWERS = {"admin": 200, "staff": 200, "secretary": 200, "committee": 200}
WRITERS = {"admin": 403, "staff": 403, "secretary": 200, "committee": 200}
WRITERS_201 = {"admin": 403, "staff": 403, "secretary": 201, "committee": 201}
# An ordinary member may see their own branch's basic page, so a write there is 403, not 404.
OWN_BRANCH_WRITE = {**WRITERS_201, "member": 403}
LIST = {**VIEWERS, "outsider": 200, "member": 403, "nobody": 403}


def _member(world, **kw):
    from apps.members.models import MemberStatus
    from tests.factories import MemberFactory

    kw.setdefault("status", MemberStatus.FULL)
    return MemberFactory(branch=world.tree.branch_a, **kw)


def member(world):
    return {"path": {"id": _member(world).pk}}


def applicant(world):
    from apps.core.periods import local_today
    from apps.members import services

    m = services.development_apply(
        actor=None,
        branch=world.tree.branch_a,
        name="申请人",
        gender="male",
        applied_on=local_today(),
        birth_date=dt.date(2000, 1, 1),
    )
    return {"path": {"id": m.pk}, "data": {"step": 2, "done_on": local_today().isoformat()}}


def with_dues(world):
    from apps.core.periods import local_today
    from apps.members import services

    m = _member(world)
    services.dues_base_set(actor=None, member=m, year=local_today().year, kind="student")
    return {"path": {"id": m.pk}, "data": {"months": [local_today().replace(day=1).isoformat()]}}


def contact(world):
    from apps.core.periods import local_today

    return {**member(world), "data": {"contacted_on": local_today().isoformat(), "way": "电话"}}


def pending(world):
    from apps.core.periods import local_today
    from apps.members.models import PendingItem

    m = _member(world)
    item = PendingItem.objects.create(
        member=m, branch=m.branch, kind="lapse_review", raised_on=local_today()
    )
    return {"path": {"id": item.pk}, "data": {"resolution": "经支部研究，予以自行脱党除名"}}


def transfer(world):
    from apps.core.periods import local_today
    from apps.members import services

    m = _member(world)
    t = services.member_transfer_start(
        actor=None,
        member=m,
        kind="internal",
        applied_on=local_today(),
        target_org=world.tree.town_b,
    )
    return {"path": {"id": t.pk, "action": "approve"}, "data": {}}


def waiver(world):
    from apps.core.periods import local_today
    from apps.members import services

    month = local_today().replace(day=1)
    w = services.dues_waiver_request(
        actor=None,
        member=_member(world),
        first_month=month,
        last_month=month,
        monthly_amount=0,
        reason="长期患病，生活困难",
    )
    return {"path": {"id": w.pk}, "data": {"approve": True}}


CASES = [
    Case("GET", "/api/v1/members/", expect=LIST),
    Case(
        "GET",
        "/api/v1/members/",
        build=lambda w: {"path": {}, "query": {"q": "党员", "org": w.tree.branch_a.pk}},
        expect={**VIEWERS, "member": 403, "nobody": 403},
        note="search in a subtree",
    ),
    Case(
        "POST",
        "/api/v1/members/",
        build=lambda w: {
            "path": {},
            "data": {"branch": w.tree.branch_a.pk, "name": "新党员", "gender": "female"},
        },
        expect=OWN_BRANCH_WRITE,
    ),
    Case("GET", "/api/v1/members/{id}/", build=member, expect=VIEWERS),
    Case(
        "PATCH",
        "/api/v1/members/{id}/",
        build=lambda w: {**member(w), "data": {"work_unit": "县供销社"}},
        expect=WRITERS,
    ),
    Case("GET", "/api/v1/members/{id}/timeline/", build=member, expect=VIEWERS),
    Case("GET", "/api/v1/members/{id}/contacts/", build=member, expect=VIEWERS),
    Case(
        "POST",
        "/api/v1/members/{id}/contacts/",
        build=contact,
        expect=WRITERS_201,
    ),
    Case(
        "POST",
        "/api/v1/members/{id}/lifecycle/",
        build=lambda w: {
            **member(w),
            "data": {
                "action": "suspend",
                "on": dt.date.today().isoformat(),
                "reason": "失联满6个月",
            },
        },
        expect={"admin": 403, "staff": 200, "secretary": 200, "committee": 200},
    ),
    Case(
        "GET",
        "/api/v1/members/{id}/steps/",
        build=lambda w: {"path": applicant(w)["path"]},
        expect=VIEWERS,
    ),
    Case(
        "POST",
        "/api/v1/members/{id}/steps/",
        build=applicant,
        expect={"admin": 403, "staff": 201, "secretary": 201, "committee": 201},
    ),
    Case(
        "POST",
        "/api/v1/members/apply/",
        build=lambda w: {
            "path": {},
            "data": {
                "branch": w.tree.branch_a.pk,
                "name": "申请人",
                "gender": "male",
                "applied_on": dt.date.today().isoformat(),
                "birth_date": "2000-01-01",
            },
        },
        expect=OWN_BRANCH_WRITE,
    ),
    Case("GET", "/api/v1/members/due/", expect=LIST),
    Case("GET", "/api/v1/members/pipeline/", expect=LIST),
    Case("GET", "/api/v1/members/pending/", expect=LIST),
    Case(
        "GET",
        "/api/v1/members/pending/",
        build=lambda w: {"path": {}, "query": {"org": w.tree.branch_a.pk}},
        expect={**VIEWERS, "member": 403, "nobody": 403},
        note="one subtree; outsider 404",
    ),
    Case(
        "POST",
        "/api/v1/members/pending/{id}/resolve/",
        build=pending,
        expect={"admin": 403, "staff": 200, "secretary": 200, "committee": 200},
    ),
    Case(
        "GET",
        "/api/v1/members/pipeline/",
        build=lambda w: {"path": {}, "query": {"org": w.tree.branch_a.pk}},
        expect={**VIEWERS, "member": 403, "nobody": 403},
        note="one subtree; outsider 404",
    ),
    Case(
        "GET",
        "/api/v1/members/dues/",
        build=lambda w: {"path": {}, "query": {"branch": w.tree.branch_a.pk}},
        expect=VIEWERS,
    ),
    Case(
        "POST",
        "/api/v1/members/{id}/dues/base/",
        build=lambda w: {
            **member(w),
            "data": {"year": dt.date.today().year, "kind": "employed", "base": "5400"},
        },
        expect=WRITERS,
    ),
    Case("POST", "/api/v1/members/{id}/dues/payments/", build=with_dues, expect=WRITERS_201),
    Case(
        "POST",
        "/api/v1/members/{id}/study/",
        build=lambda w: {
            **member(w),
            "data": {"course": "党课", "held_on": dt.date.today().isoformat(), "hours": "4"},
        },
        expect=WRITERS_201,
    ),
    Case(
        "GET",
        "/api/v1/members/study/",
        build=lambda w: {"path": {}, "query": {"org": w.tree.town_a.pk, "year": 2026}},
        expect={
            "admin": 200,
            "staff": 200,
            "secretary": 404,
            "committee": 404,
            "member": 403,
            "nobody": 403,
        },
        note="per branch across a subtree",
    ),
    Case("GET", "/api/v1/members/me/", expect={"member": 200}),
    Case("GET", "/api/v1/members/transfers/", expect=LIST),
    Case(
        "GET",
        "/api/v1/members/export/",
        build=lambda w: {"path": {}, "query": {"org": w.tree.branch_a.pk}},
        expect={**VIEWERS, "member": 403, "nobody": 403},
        note="masked roster of a subtree; outsider 404",
    ),
    Case(
        "POST",
        "/api/v1/members/{id}/transfers/",
        build=lambda w: {
            **member(w),
            "data": {"kind": "out_letter", "external_org": "外省某党支部"},
        },
        expect=WRITERS_201,
    ),
    Case(
        "POST",
        "/api/v1/members/transfers/{id}/{action}/",
        build=transfer,
        expect={"admin": 403, "staff": 200, "secretary": 403, "committee": 403},
    ),
    Case("GET", "/api/v1/members/dues/waivers/", expect=LIST),
    Case(
        "POST",
        "/api/v1/members/{id}/dues/waivers/",
        build=lambda w: {
            **member(w),
            "data": {
                "first_month": dt.date.today().replace(day=1).isoformat(),
                "last_month": dt.date.today().replace(day=1).isoformat(),
                "monthly_amount": "0",
                "reason": "长期患病，生活困难",
            },
        },
        expect=WRITERS_201,
    ),
    Case(
        "POST",
        "/api/v1/members/dues/waivers/{id}/decide/",
        build=waiver,
        expect={"admin": 403, "staff": 200, "secretary": 403, "committee": 403},
        note="only the superior committee decides",
    ),
    Case(
        "PUT",
        "/api/v1/members/{id}/photo/",
        build=member,
        expect={"admin": 403, "staff": 403, "secretary": 400, "committee": 400},
        note="no file: 400 naming the field",
    ),
    Case(
        "DELETE",
        "/api/v1/members/{id}/photo/",
        build=member,
        expect={**WRITERS, "secretary": 204, "committee": 204},
    ),
]
