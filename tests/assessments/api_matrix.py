"""Role x endpoint cases for the assessments API (format: tests/api_matrix.py).

The world: a cycle opened by `staff` (组织部 at town_a) for town_a's subtree (branch_a, branch_b).
admin (系统管理员 at the county) sees everything but is no superior (403 on writes); secretary
and committee write for branch_a; member holds only `self` (403 where it sees its own branch,
404 elsewhere); outsider (branch_c) and nobody see nothing (404)."""

from __future__ import annotations

import datetime as dt

from tests.api_matrix import Case

ALL_SIGNED_IN = {
    r: 200 for r in ("admin", "staff", "secretary", "committee", "member", "outsider", "nobody")
}
READERS = {"admin": 200, "staff": 200, "secretary": 200, "committee": 200, "member": 403}
SUPERIOR_WRITE = {"staff": 201, "admin": 403}
# a template copied by staff belongs to town_a: the branch below sees it (403 on edits), the
# member, the outsider and nobody do not (404)
COPY_READERS = {"secretary": 403, "committee": 403}
BRANCH_WRITE = {"secretary": 201, "committee": 201, "staff": 403, "admin": 403, "member": 403}


def _default_template(kind="branch"):
    from apps.assessments.models import Template

    return Template.objects.get(is_default=True, kind=kind)


def _cycle(world, phase="deployment", secretary=False):
    from apps.assessments import services
    from apps.assessments.models import PHASE_ORDER

    cycle = services.cycle_open(
        actor=world.users.staff,
        org=world.tree.town_a,
        year=2026,
        branch_template=_default_template(),
        secretary_template=_default_template("secretary") if secretary else None,
    )
    for p in PHASE_ORDER[1 : PHASE_ORDER.index(phase) + 1]:
        if p == "published":
            _review_all(world, cycle)
        services.cycle_advance(
            actor=world.users.staff,
            cycle=cycle,
            to_phase=p,
            cutoff=dt.date(2026, 1, 1) if p in ("midterm", "self_assessment", "review") else None,
        )
    return cycle


def _unscored(assessment):
    from apps.assessments import services

    return [
        {"indicator": line.indicator.pk, "points": "0", "reason": "核定"}
        for line in services.card_for(assessment).lines
        if line.unscored and not line.is_group
    ]


def _review_all(world, cycle):
    from apps.assessments import services

    for a in cycle.assessments.all():
        adj = {e["indicator"]: e for e in _unscored(a)}
        services.assessment_review(actor=world.users.staff, assessment=a, adjustments=adj)


def _branch_a_card(cycle, world):
    return cycle.assessments.get(org=world.tree.branch_a, kind="branch")


def cycle_path(phase="deployment"):
    def build(world):
        return {"path": {"id": _cycle(world, phase).pk}}

    return build


def cycle_with(phase, data):
    def build(world):
        return {
            "path": {"id": _cycle(world, phase).pk},
            "data": data(world) if callable(data) else data,
        }

    return build


def card_path(phase="deployment", data=None):
    def build(world):
        cycle = _cycle(world, phase)
        card = _branch_a_card(cycle, world)
        if data is None:
            return {"path": {"id": card.pk}}
        return {"path": {"id": card.pk}, "data": data(card) if callable(data) else data}

    return build


def copied_indicator(world):
    from apps.assessments import services

    copy = services.template_copy(
        actor=world.users.staff, template=_default_template(), name="副本"
    )
    return {"path": {"id": copy.indicators.get(code="D1").pk}, "data": {"max_points": "5"}}


def copied_template(world):
    from apps.assessments import services

    copy = services.template_copy(
        actor=world.users.staff, template=_default_template(), name="副本"
    )
    group = copy.indicators.get(code="F")
    return {
        "path": {"id": copy.pk},
        "data": {
            "parent": group.pk,
            "code": "F3",
            "name": "志愿服务",
            "method": "manual",
            "max_points": "1",
        },
    }


def report(world, evaluator=None):
    from apps.assessments import services

    cycle = _cycle(world, "self_assessment", secretary=True)
    r = services.duty_report_submit(
        actor=world.users.secretary, cycle=cycle, org=world.tree.branch_a, content="述职"
    )
    if evaluator is not None:
        services.evaluator_add(
            actor=world.users.staff, cycle=cycle, user=evaluator, group="committee"
        )
    return r


def appeal(world):
    from apps.assessments import services

    cycle = _cycle(world, "published")
    a = services.appeal_submit(
        actor=world.users.secretary, assessment=_branch_a_card(cycle, world), reason="有误"
    )
    return {"path": {"id": a.pk}, "data": {"outcome": "rejected", "response": "维持原结果"}}


def problem(world, with_file=False):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from apps.assessments import services

    cycle = _cycle(world)
    p = services.problem_raise(
        actor=world.users.staff,
        cycle=cycle,
        org=world.tree.branch_a,
        origin="midterm",
        description="主题党日不规范",
    )
    if with_file:
        services.problem_progress_add(
            actor=world.users.secretary,
            problem=p,
            note="已整改",
            file=SimpleUploadedFile("a.pdf", b"%PDF-1.4"),
        )
    return p


def star(world):
    from apps.assessments.models import StarRating

    cycle = _cycle(world, "published")
    rating = StarRating.objects.get(cycle=cycle, org=world.tree.branch_a)
    return {
        "path": {"id": rating.pk},
        "data": {"stars": 1 if rating.stars != 1 else 2, "reason": "动态调整"},
    }


def weak(world, progress=False):
    from apps.assessments import services

    w = services.weak_org_designate(
        actor=world.users.staff, org=world.tree.branch_a, year=2026, reasons=["书记空缺"]
    )
    if progress:
        services.weak_org_progress_add(actor=world.users.staff, weak_org=w, note="已选派第一书记")
    return w


def commitment(world, phase="midterm"):
    from apps.assessments import services

    cycle = _cycle(world, phase)
    return services.commitment_add(
        actor=world.users.secretary,
        cycle=cycle,
        org=world.tree.branch_a,
        kind="public_pledge",
        content="每月走访困难党员",
    )


def commitment_patch(progress="已走访5户", status="in_progress"):
    def build(world):
        data = {"progress": progress} | ({"status": status} if status else {})
        return {"path": {"id": commitment(world).pk}, "data": data}

    return build


def cycle_with_problem(world):
    return {"path": {"id": problem(world).cycle_id}}


def cycle_with_report(world):
    return {"path": {"id": report(world).cycle_id}}


CASES = [
    # templates
    Case(
        "GET", "/api/v1/assessments/templates/", expect=READERS | {"outsider": 200, "nobody": 403}
    ),
    Case(
        "GET",
        "/api/v1/assessments/templates/{id}/",
        build=lambda w: {"path": {"id": _default_template().pk}},
        expect=READERS | {"outsider": 200, "nobody": 403},
    ),
    Case(
        "POST",
        "/api/v1/assessments/templates/{id}/copy/",
        build=lambda w: {"path": {"id": _default_template().pk}, "data": {"name": "2027年模板"}},
        expect={"admin": 201, "staff": 201},
        default=403,
    ),
    Case(
        "PATCH",
        "/api/v1/assessments/indicators/{id}/",
        build=copied_indicator,
        expect={"admin": 200, "staff": 200} | COPY_READERS,
    ),
    Case(
        "DELETE",
        "/api/v1/assessments/indicators/{id}/",
        build=copied_indicator,
        expect={"admin": 204, "staff": 204} | COPY_READERS,
    ),
    Case(
        "POST",
        "/api/v1/assessments/templates/{id}/indicators/",
        build=copied_template,
        expect={"admin": 201, "staff": 201} | COPY_READERS,
    ),
    # cycles
    Case(
        "GET",
        "/api/v1/assessments/cycles/",
        build=lambda w: (_cycle(w), {"path": {}})[1],  # a cycle exists, so the list is not empty
        expect=ALL_SIGNED_IN,
    ),
    Case(
        "POST",
        "/api/v1/assessments/cycles/",
        build=lambda w: {"path": {}, "data": {"org": w.tree.town_a.pk, "year": 2027}},
        expect=SUPERIOR_WRITE,
    ),
    Case(
        "POST",
        "/api/v1/assessments/cycles/",
        note="bad year",
        build=lambda w: {"path": {}, "data": {"org": w.tree.town_a.pk, "year": 1900}},
        expect={"staff": 400, "admin": 403},
    ),
    Case(
        "GET",
        "/api/v1/assessments/cycles/{id}/",
        build=cycle_path(),
        expect={"admin": 200, "staff": 200, "secretary": 200, "committee": 200},
    ),
    Case(
        "POST",
        "/api/v1/assessments/cycles/{id}/advance/",
        build=cycle_with("deployment", {"to_phase": "midterm"}),
        expect={"staff": 200, "admin": 403},
    ),
    Case(
        "POST",
        "/api/v1/assessments/cycles/{id}/advance/",
        note="skipping a phase",
        build=cycle_with("deployment", {"to_phase": "review"}),
        expect={"staff": 400, "admin": 403},
    ),
    Case(
        "POST",
        "/api/v1/assessments/cycles/{id}/compute/",
        build=cycle_with("midterm", {}),
        expect={"staff": 200, "admin": 403},
    ),
    Case(
        "POST",
        "/api/v1/assessments/cycles/{id}/tasks/",
        build=cycle_with("deployment", {"title": "开展主题党日"}),
        expect=SUPERIOR_WRITE,
    ),
    Case(
        "POST",
        "/api/v1/assessments/cycles/{id}/commitments/",
        build=cycle_with(
            "deployment",
            lambda w: {"org": w.tree.branch_a.pk, "kind": "led_project", "content": "领办"},
        ),
        expect=BRANCH_WRITE | {"member": 404},
    ),
    Case(
        "GET",
        "/api/v1/assessments/cycles/{id}/commitments/",
        build=lambda w: {"path": {"id": commitment(w).cycle_id}},
        expect={"admin": 200, "staff": 200, "secretary": 200, "committee": 200},
    ),
    Case(
        "GET",
        "/api/v1/assessments/commitments/{id}/",
        build=lambda w: {"path": {"id": commitment(w).pk}},
        expect=READERS,
    ),
    Case(
        "PATCH",
        "/api/v1/assessments/commitments/{id}/",
        build=commitment_patch(),
        expect={"secretary": 200, "committee": 200, "staff": 403, "admin": 403, "member": 403},
    ),
    Case(
        "PATCH",
        "/api/v1/assessments/commitments/{id}/",
        note="too long",
        build=commitment_patch(progress="进" * 2001),
        expect={"secretary": 400, "committee": 400, "staff": 403, "admin": 403, "member": 403},
    ),
    Case(
        "PATCH",
        "/api/v1/assessments/commitments/{id}/",
        note="bad status",
        build=commitment_patch(status="finished"),
        expect={"secretary": 400, "committee": 400, "staff": 403, "admin": 403, "member": 403},
    ),
    Case(
        "POST",
        "/api/v1/assessments/cycles/{id}/evaluators/",
        build=cycle_with(
            "deployment", lambda w: {"user": w.users.committee.pk, "group": "representative"}
        ),
        expect=SUPERIOR_WRITE,
    ),
    Case(
        "POST",
        "/api/v1/assessments/cycles/{id}/duty-reports/",
        build=cycle_with(
            "self_assessment", lambda w: {"org": w.tree.branch_a.pk, "content": "述职报告"}
        ),
        expect=BRANCH_WRITE | {"member": 404},
    ),
    Case(
        "POST",
        "/api/v1/assessments/cycles/{id}/problems/",
        build=cycle_with(
            "midterm",
            lambda w: {"org": w.tree.branch_a.pk, "origin": "midterm", "description": "问题"},
        ),
        expect={"staff": 201, "admin": 403, "secretary": 403, "committee": 403},
    ),
    Case(
        "GET",
        "/api/v1/assessments/cycles/{id}/duty-reports/",
        build=cycle_with_report,
        expect={"admin": 200, "staff": 200, "secretary": 200, "committee": 200},
    ),
    Case(
        "GET",
        "/api/v1/assessments/cycles/{id}/problems/",
        build=cycle_with_problem,
        expect={"admin": 200, "staff": 200, "secretary": 200, "committee": 200},
    ),
    Case(
        "GET",
        "/api/v1/assessments/cycles/{id}/stars/",
        build=lambda w: {"path": {"id": _cycle(w, "published").pk}},
        expect={"admin": 200, "staff": 200, "secretary": 200, "committee": 200},
    ),
    Case(
        "POST",
        "/api/v1/assessments/cycles/{id}/stars/",
        build=cycle_with("review", {}),
        expect={"staff": 200, "admin": 403},
    ),
    # scorecards
    Case("GET", "/api/v1/assessments/scorecards/{id}/", build=card_path("midterm"), expect=READERS),
    Case(
        "POST",
        "/api/v1/assessments/scorecards/{id}/compute/",
        build=card_path("midterm", {}),
        expect={"staff": 200, "secretary": 200, "committee": 200, "admin": 403, "member": 403},
    ),
    Case(
        "POST",
        "/api/v1/assessments/scorecards/{id}/self-assessment/",
        build=card_path("self_assessment", {"entries": [], "comment": "自评"}),
        expect={"secretary": 200, "committee": 200, "staff": 403, "admin": 403, "member": 403},
    ),
    Case(
        "POST",
        "/api/v1/assessments/scorecards/{id}/review/",
        build=card_path("review", lambda card: {"adjustments": _unscored(card)}),
        expect={"staff": 200, "admin": 403, "secretary": 403, "committee": 403, "member": 403},
    ),
    Case(
        "POST",
        "/api/v1/assessments/scorecards/{id}/review/",
        note="adjustment without reason",
        build=card_path(
            "review", lambda card: {"adjustments": [e | {"reason": ""} for e in _unscored(card)]}
        ),
        expect={"staff": 400, "admin": 403, "secretary": 403, "committee": 403, "member": 403},
    ),
    Case(
        "POST",
        "/api/v1/assessments/scorecards/{id}/evidence/",
        note="no file",
        build=card_path("self_assessment", {"note": "照片"}),
        expect={"secretary": 400, "committee": 400, "staff": 403, "admin": 403, "member": 403},
    ),
    Case(
        "POST",
        "/api/v1/assessments/scorecards/{id}/appeals/",
        build=card_path("published", {"reason": "有误"}),
        expect=BRANCH_WRITE,
    ),
    Case(
        "POST",
        "/api/v1/assessments/appeals/{id}/decide/",
        build=appeal,
        expect={"staff": 200, "admin": 403, "secretary": 403, "committee": 403, "member": 403},
    ),
    # 述职评议
    Case(
        "GET",
        "/api/v1/assessments/duty-reports/{id}/",
        build=lambda w: {"path": {"id": report(w).pk}},
        expect=READERS,
    ),
    Case(
        "GET",
        "/api/v1/assessments/duty-reports/to-vote/",
        build=lambda w: (report(w, evaluator=w.users.staff), {"path": {}})[1],
        expect=ALL_SIGNED_IN,  # everyone signed in gets their own list (empty unless chosen)
    ),
    Case(
        "POST",
        "/api/v1/assessments/duty-reports/{id}/vote/",
        build=lambda w: {
            "path": {"id": report(w, evaluator=w.users.staff).pk},
            "data": {"choice": "good"},
        },
        expect={"staff": 201, "admin": 403, "secretary": 403, "committee": 403, "member": 403},
    ),
    # problems
    Case(
        "POST",
        "/api/v1/assessments/problems/{id}/progress/",
        build=lambda w: {"path": {"id": problem(w).pk}, "data": {"note": "正在整改"}},
        expect={"secretary": 201, "committee": 201, "staff": 201, "admin": 403, "member": 403},
    ),
    Case(
        "POST",
        "/api/v1/assessments/problems/{id}/close/",
        build=lambda w: {"path": {"id": problem(w, with_file=True).pk}},
        expect={"staff": 200, "admin": 403, "secretary": 403, "committee": 403, "member": 403},
    ),
    Case(
        "POST",
        "/api/v1/assessments/stars/{id}/change/",
        build=star,
        expect={"staff": 200, "admin": 403, "secretary": 403, "committee": 403, "member": 403},
    ),
    # 软弱涣散
    Case(
        "GET", "/api/v1/assessments/weak-orgs/", expect=READERS | {"outsider": 200, "nobody": 403}
    ),
    Case(
        "POST",
        "/api/v1/assessments/weak-orgs/",
        build=lambda w: {
            "path": {},
            "data": {"org": w.tree.branch_a.pk, "year": 2026, "reasons": ["书记空缺"]},
        },
        expect={"staff": 201, "admin": 403, "secretary": 403, "committee": 403, "member": 403},
    ),
    Case(
        "GET",
        "/api/v1/assessments/weak-orgs/candidates/",
        build=lambda w: {"path": {}, "query": {"org": w.tree.town_a.pk}},
        expect={"staff": 200, "admin": 403, "member": 403, "nobody": 403},
    ),
    Case(
        "GET",
        "/api/v1/assessments/weak-orgs/{id}/",
        build=lambda w: {"path": {"id": weak(w).pk}},
        expect=READERS,
    ),
    Case(
        "PATCH",
        "/api/v1/assessments/weak-orgs/{id}/",
        build=lambda w: {
            "path": {"id": weak(w).pk},
            "data": {"plan": "选派第一书记，三个月内完成班子调整", "leader": "王副书记"},
        },
        expect={"staff": 200, "admin": 403, "secretary": 403, "committee": 403, "member": 403},
    ),
    Case(
        "POST",
        "/api/v1/assessments/weak-orgs/{id}/progress/",
        build=lambda w: {"path": {"id": weak(w).pk}, "data": {"note": "召开专题会"}},
        expect={"secretary": 201, "committee": 201, "staff": 201, "admin": 403, "member": 403},
    ),
    Case(
        "POST",
        "/api/v1/assessments/weak-orgs/{id}/close/",
        build=lambda w: {"path": {"id": weak(w, progress=True).pk}, "data": {"review": "验收合格"}},
        expect={"staff": 200, "admin": 403, "secretary": 403, "committee": 403, "member": 403},
    ),
]
