"""REST endpoints for assessments. Every write calls the same service as the HTML pages."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.urls import path
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.scope import can, get_org_or_404, require, scope_of
from apps.assessments import selectors, services
from apps.assessments.models import (
    Appeal,
    AppealOutcome,
    CommitmentKind,
    CommitmentStatus,
    CyclePhase,
    EvaluatorGroup,
    Grade,
    Indicator,
    Method,
    ProblemOrigin,
    StarRating,
    Template,
)
from apps.assessments.sources import record_url

# --- output ---------------------------------------------------------------------------------


def _d(value):
    return None if value is None else str(value)


def template_data(t: Template, *, indicators: bool = False) -> dict:
    data = {
        "id": t.pk,
        "name": t.name,
        "kind": t.kind,
        "category": t.category,
        "year": t.year,
        "is_default": t.is_default,
        "bonus_cap": _d(t.bonus_cap),
        "copied_from": t.copied_from_id,
        "org": None if t.org_id is None else {"id": t.org_id, "name": t.org.name},
    }
    if indicators:
        data["indicators"] = [
            {
                "id": i.pk,
                "parent": i.parent_id,
                "code": i.code,
                "name": i.name,
                "method": i.method,
                "max_points": _d(i.max_points),
                "source": i.source,
                "rule": i.rule,
                "params": i.params,
                "evidence_required": i.evidence_required,
            }
            for i in t.indicators.order_by("order", "id")
        ]
        data["problems"] = services.template_problems(t)
    return data


def cycle_data(c) -> dict:
    return {
        "id": c.pk,
        "name": c.name,
        "year": c.year,
        "org": {"id": c.org_id, "name": c.org.name},
        "phase": c.phase,
        "phase_label": c.get_phase_display(),
        "branch_template": c.branch_template_id,
        "secretary_template": c.secretary_template_id,
        "published_on": c.published_on,
    }


def line_data(line) -> dict:
    return {
        "indicator": line.indicator.pk,
        "code": line.indicator.code,
        "name": line.indicator.name,
        "method": line.method,
        "depth": line.depth,
        "max_points": _d(line.max_points),
        "points": _d(line.points),
        "lost": _d(line.lost),
        "auto_points": _d(line.auto_points),
        "self_points": _d(line.self_points),
        "review_points": _d(line.review_points),
        "review_reason": line.review_reason,
        "value": _d(line.value),
        "source_available": line.available,
        "explanation": line.explanation,
        "vetoed": line.vetoed,
        "unscored": line.unscored,
        "details": [d | {"url": record_url(d)} for d in line.details],
    }


def scorecard_data(view) -> dict:
    a = view.assessment
    comp = view.computation
    return {
        "id": a.pk,
        "cycle": a.cycle_id,
        "org": {"id": a.org_id, "name": a.org.name},
        "kind": a.kind,
        "state": a.state,
        "stage": view.stage,
        "final_score": _d(a.final_score) if view.show_final else None,
        "grade": a.grade if view.show_final else "",
        "vetoed": a.vetoed if view.show_final else view.card.vetoed,
        "self_total": _d(a.self_total),
        "computation": None
        if comp is None
        else {
            "id": comp.pk,
            "cutoff": comp.cutoff,
            "computed_at": comp.computed_at,
            "total": _d(comp.total),
            "auto_max": _d(comp.auto_max),
            "vetoed": comp.vetoed,
        },
        "card_total": _d(view.card.total),
        "base": _d(view.card.base),
        "bonus": _d(view.card.bonus),
        "lines": [line_data(line) for line in view.card.lines],
        "appeals": [
            {
                "id": ap.pk,
                "reason": ap.reason,
                "outcome": ap.outcome,
                "response": ap.response,
                "score_before": _d(ap.score_before),
                "score_after": _d(ap.score_after),
            }
            for ap in view.appeals
        ],
    }


def report_data(user, report) -> dict:
    show = selectors.results_public(user, report.cycle, report.org) or (
        report.secretary_id == getattr(user, "pk", None)
    )
    counts = {g: 0 for g in Grade.values}
    for choice in report.votes.values_list("choice", flat=True):
        counts[choice] += 1
    evaluator = services.evaluator_for(user, report.cycle)
    return {
        "id": report.pk,
        "cycle": report.cycle_id,
        "org": {"id": report.org_id, "name": report.org.name},
        "content": report.content,
        "submitted_at": report.submitted_at,
        "score": _d(report.score) if show else None,
        "grade": report.grade if show else "",
        "votes": counts if show else None,
        "my_vote": report.votes.filter(evaluator=evaluator).values_list("choice", flat=True).first()
        if evaluator
        else None,
    }


def commitment_data(c) -> dict:
    return {
        "id": c.pk,
        "cycle": c.cycle_id,
        "org": {"id": c.org_id, "name": c.org.name},
        "kind": c.kind,
        "content": c.content,
        "status": c.status,
        "progress": c.progress,
        "progress_at": c.progress_at,
        "updates": [
            {"status": u.status, "progress": u.progress, "at": u.at, "by": u.by_id}
            for u in c.updates.all()
        ],
    }


def problem_data(p) -> dict:
    return {
        "id": p.pk,
        "cycle": p.cycle_id,
        "org": {"id": p.org_id, "name": p.org.name},
        "origin": p.origin,
        "description": p.description,
        "measure": p.measure,
        "due_on": p.due_on,
        "state": p.state,
        "closed_at": p.closed_at,
        "progress": [
            {"note": e.note, "has_file": bool(e.file), "at": e.created_at} for e in p.progress.all()
        ],
    }


def reports_data(user, reports: list) -> list[dict]:
    """`report_data` for a list, in a fixed number of queries (votes counted in one)."""
    from django.db.models import Count

    from apps.assessments.models import Vote

    counts: dict[int, dict] = {r.pk: {g: 0 for g in Grade.values} for r in reports}
    for row in (
        Vote.objects.filter(report__in=reports)
        .values("report_id", "choice")
        .annotate(n=Count("id"))
    ):
        counts[row["report_id"]][row["choice"]] = row["n"]
    mine = dict(
        Vote.objects.filter(
            report__in=reports, evaluator__user_id=getattr(user, "pk", None)
        ).values_list("report_id", "choice")
    )
    out = []
    for report in reports:
        show = selectors.results_public(user, report.cycle, report.org) or (
            report.secretary_id == getattr(user, "pk", None)
        )
        out.append(
            {
                "id": report.pk,
                "cycle": report.cycle_id,
                "org": {"id": report.org_id, "name": report.org.name},
                "content": report.content,
                "submitted_at": report.submitted_at,
                "score": _d(report.score) if show else None,
                "grade": report.grade if show else "",
                "votes": counts[report.pk] if show else None,
                "my_vote": mine.get(report.pk),
            }
        )
    return out


def weak_data(w, *, full: bool = False) -> dict:
    data = {
        "id": w.pk,
        "org": {"id": w.org_id, "name": w.org.name},
        "year": w.year,
        "reasons": w.reasons,
        "state": w.state,
        "leader": w.leader,
        "plan": w.plan,
        "closed_on": w.closed_on,
    }
    if full:
        data["closing_review"] = w.closing_review
        data["progress"] = [{"note": p.note, "at": p.created_at} for p in w.progress.all()]
    return data


# --- input ----------------------------------------------------------------------------------


# years are checked by the services (2000–2100) after the permission check, so a user without
# the right gets 403 whatever the body
class AsmtCopyIn(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    year = serializers.IntegerField(required=False, allow_null=True)
    org = serializers.IntegerField(required=False, allow_null=True, help_text="模板所属党组织")
    category = serializers.CharField(required=False, allow_blank=True, default="")


class AsmtIndicatorIn(serializers.Serializer):
    code = serializers.CharField(required=False, max_length=40)
    method = serializers.ChoiceField(required=False, choices=Method.choices)
    source = serializers.CharField(required=False, allow_blank=True, max_length=60)
    rule = serializers.CharField(required=False, allow_blank=True, max_length=20)
    order = serializers.IntegerField(required=False, min_value=0, max_value=999)
    name = serializers.CharField(required=False, max_length=200)
    max_points = serializers.DecimalField(required=False, max_digits=6, decimal_places=2)
    params = serializers.JSONField(required=False)
    evidence_required = serializers.BooleanField(required=False)
    description = serializers.CharField(required=False, allow_blank=True)


class AsmtCycleIn(serializers.Serializer):
    org = serializers.IntegerField()
    year = serializers.IntegerField()
    name = serializers.CharField(required=False, allow_blank=True, default="")
    branch_template = serializers.IntegerField(required=False, allow_null=True)
    secretary_template = serializers.IntegerField(required=False, allow_null=True)
    note = serializers.CharField(required=False, allow_blank=True, default="")


class AsmtAdvanceIn(serializers.Serializer):
    to_phase = serializers.ChoiceField(choices=CyclePhase.choices)
    cutoff = serializers.DateField(required=False, allow_null=True)


class AsmtCutoffIn(serializers.Serializer):
    cutoff = serializers.DateField(required=False, allow_null=True)


class AsmtTaskIn(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    due_on = serializers.DateField(required=False, allow_null=True)


class AsmtCommitmentIn(serializers.Serializer):
    org = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=CommitmentKind.choices)
    content = serializers.CharField()


class AsmtCommitmentUpdateIn(serializers.Serializer):
    # length (2000) and status are checked by the service after the permission check, with the
    # same messages as the page
    progress = serializers.CharField(allow_blank=True, trim_whitespace=False)
    status = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text="推进状态：" + "、".join(f"{v}（{lbl}）" for v, lbl in CommitmentStatus.choices),
    )


class AsmtEvaluatorIn(serializers.Serializer):
    user = serializers.IntegerField()
    group = serializers.ChoiceField(choices=EvaluatorGroup.choices)


class AsmtDutyReportIn(serializers.Serializer):
    org = serializers.IntegerField()
    content = serializers.CharField()


class AsmtProblemIn(serializers.Serializer):
    org = serializers.IntegerField()
    origin = serializers.ChoiceField(choices=ProblemOrigin.choices)
    description = serializers.CharField()
    measure = serializers.CharField(required=False, allow_blank=True, default="")
    due_on = serializers.DateField(required=False, allow_null=True)


class AsmtEntryIn(serializers.Serializer):
    indicator = serializers.IntegerField()
    points = serializers.CharField(required=False, allow_blank=True, allow_null=True)
    comment = serializers.CharField(required=False, allow_blank=True, default="")
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class AsmtSelfIn(serializers.Serializer):
    entries = AsmtEntryIn(many=True, required=False)
    comment = serializers.CharField(required=False, allow_blank=True, default="")
    submit = serializers.BooleanField(required=False, default=False)


class AsmtReviewIn(serializers.Serializer):
    adjustments = AsmtEntryIn(many=True, required=False)
    vetoes = serializers.ListField(child=serializers.IntegerField(), required=False, default=list)
    comment = serializers.CharField(required=False, allow_blank=True, default="")


class AsmtEvidenceIn(serializers.Serializer):
    indicator = serializers.IntegerField()
    file = serializers.FileField()
    note = serializers.CharField(required=False, allow_blank=True, default="")


class AsmtReasonIn(serializers.Serializer):
    reason = serializers.CharField()


class AsmtDecideIn(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=[AppealOutcome.UPHELD, AppealOutcome.REJECTED])
    response = serializers.CharField()
    score_after = serializers.DecimalField(
        max_digits=6, decimal_places=2, required=False, allow_null=True
    )


class AsmtVoteIn(serializers.Serializer):
    choice = serializers.ChoiceField(choices=Grade.choices)


class AsmtNoteIn(serializers.Serializer):
    note = serializers.CharField()


class AsmtProgressIn(serializers.Serializer):
    note = serializers.CharField()
    file = serializers.FileField(required=False, allow_null=True)


class AsmtStarIn(serializers.Serializer):
    stars = serializers.IntegerField(min_value=1, max_value=5)
    reason = serializers.CharField()


class AsmtWeakIn(serializers.Serializer):
    org = serializers.IntegerField()
    year = serializers.IntegerField()
    reasons = serializers.ListField(child=serializers.CharField())
    note = serializers.CharField(required=False, allow_blank=True, default="")
    plan = serializers.CharField(required=False, allow_blank=True, default="")
    leader = serializers.CharField(required=False, allow_blank=True, default="")


class AsmtReviewTextIn(serializers.Serializer):
    review = serializers.CharField()


def _valid(serializer_class, request):
    s = serializer_class(data=request.data)
    s.is_valid(raise_exception=True)
    return s.validated_data


def _template(user, pk) -> Template:
    """A template through the scope (a copy owned outside the user's subtree is a 404)."""
    return selectors.template_for(user, pk)


def _body_template(user, pk, field: str) -> Template | None:
    """A template named in a request body: one the user cannot see is a field error."""
    if not pk:
        return None
    try:
        return selectors.templates_visible_to(user).get(pk=pk)
    except Template.DoesNotExist:
        raise ValidationError({field: ["未找到该模板。"]}) from None


def _require_assessment_user(user) -> None:
    scope = scope_of(user)
    if not (scope.has("view") or scope.has("admin_rules")):
        raise PermissionDenied("没有权限访问考核。")


def _entries(rows) -> dict:
    return {
        r["indicator"]: {
            "points": r.get("points"),
            "comment": r.get("comment", ""),
            "reason": r.get("reason", ""),
        }
        for r in rows or []
    }


# --- views ----------------------------------------------------------------------------------

J = {"200": dict}


class TemplateList(APIView):
    """Indicator templates (考核模板)."""

    @extend_schema(operation_id="assessments_templates_list", responses=J)
    def get(self, request):
        _require_assessment_user(request.user)
        return Response([template_data(t) for t in selectors.templates_visible_to(request.user)])


class TemplateDetail(APIView):
    @extend_schema(responses=J)
    def get(self, request, pk: int):
        _require_assessment_user(request.user)
        return Response(template_data(_template(request.user, pk), indicators=True))


class TemplateCopy(APIView):
    @extend_schema(request=AsmtCopyIn, responses=J)
    def post(self, request, pk: int):
        template = _template(request.user, pk)
        data = _valid(AsmtCopyIn, request)
        org = get_org_or_404(request.user, data.pop("org")) if data.get("org") else None
        data.pop("org", None)
        copy = services.template_copy(actor=request.user, template=template, org=org, **data)
        return Response(template_data(copy, indicators=True), status=201)


class AsmtIndicatorAddIn(AsmtIndicatorIn):
    parent = serializers.IntegerField(required=False, allow_null=True)
    code = serializers.CharField(max_length=40)
    name = serializers.CharField(max_length=200)
    method = serializers.ChoiceField(choices=Method.choices)


class TemplateIndicators(APIView):
    """Add an indicator to a copied template (under `parent`, a group of the template)."""

    @extend_schema(request=AsmtIndicatorAddIn, responses=J)
    def post(self, request, pk: int):
        template = _template(request.user, pk)
        data = _valid(AsmtIndicatorAddIn, request)
        parent = None
        if data.get("parent"):
            parent = template.indicators.filter(pk=data.pop("parent")).first()
            if parent is None:
                raise ValidationError({"parent": ["上级指标不属于本模板。"]})
        data.pop("parent", None)
        data.pop("order", None)
        ind = services.indicator_add(actor=request.user, template=template, parent=parent, **data)
        return Response(
            {"id": ind.pk, "code": ind.code, "problems": services.template_problems(template)},
            status=201,
        )


def _indicator(user, pk) -> Indicator:
    try:
        return Indicator.objects.select_related("template").get(
            pk=pk, template__in=selectors.templates_visible_to(user)
        )
    except Indicator.DoesNotExist:
        raise Http404("未找到。") from None


class IndicatorDetail(APIView):
    @extend_schema(responses={204: None})
    def delete(self, request, pk: int):
        services.indicator_delete(actor=request.user, indicator=_indicator(request.user, pk))
        return Response(status=204)

    @extend_schema(request=AsmtIndicatorIn, responses=J)
    def patch(self, request, pk: int):
        indicator = _indicator(request.user, pk)
        data = AsmtIndicatorIn(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        ind = services.indicator_update(
            actor=request.user, indicator=indicator, **data.validated_data
        )
        return Response(
            {"id": ind.pk, "name": ind.name, "max_points": _d(ind.max_points), "params": ind.params}
        )


class CycleList(APIView):
    """Cycles visible to the user; POST opens one (年初部署)."""

    @extend_schema(operation_id="assessments_cycles_list", responses=J)
    def get(self, request):
        return Response([cycle_data(c) for c in selectors.cycles_visible_to(request.user)])

    @extend_schema(request=AsmtCycleIn, responses=J)
    def post(self, request):
        data = _valid(AsmtCycleIn, request)
        org = get_org_or_404(request.user, data["org"])
        cycle = services.cycle_open(
            actor=request.user,
            org=org,
            year=data["year"],
            name=data["name"],
            note=data["note"],
            branch_template=_body_template(
                request.user, data.get("branch_template"), "branch_template"
            ),
            secretary_template=_body_template(
                request.user, data.get("secretary_template"), "secretary_template"
            ),
        )
        return Response(cycle_data(cycle), status=201)


class CycleDetail(APIView):
    """A cycle with the visible ranking, distribution and (for the superior) attention list."""

    @extend_schema(
        responses=J,
        parameters=[
            OpenApiParameter("page", int, description="排名页码（默认1）"),
            OpenApiParameter("page_size", int, description="每页条数（默认50，最多200）"),
        ],
    )
    def get(self, request, pk: int):
        cycle = selectors.cycle_for(request.user, pk)
        rows = selectors.ranking(request.user, cycle)
        data = cycle_data(cycle)
        try:
            size = min(200, max(1, int(request.query_params.get("page_size") or 50)))
            number = max(1, int(request.query_params.get("page") or 1))
        except ValueError:
            raise ValidationError({"page": ["页码应为正整数。"]}) from None
        ranked = list(enumerate(rows, start=1))
        data["ranking_count"] = len(rows)
        data["ranking_page"] = number
        data["ranking_pages"] = max(1, -(-len(rows) // size))
        data["ranking"] = [
            {
                "scorecard": r.pk,
                "org": {"id": r.org_id, "name": r.org.name},
                "state": r.state,
                "score": _d(r.shown_score),
                "auto_score": _d(r.auto_score),
                "grade": r.grade if r.shown_score else "",
                "stars": r.star.stars if r.star else None,
                "rank": rank,
            }
            for rank, r in ranked[(number - 1) * size : number * size]
        ]
        data["distribution"] = selectors.distribution(rows)
        data["tasks"] = [{"title": t.title, "due_on": t.due_on} for t in cycle.tasks.all()]
        if can(request.user, "superior", cycle.org):
            data["attention"] = [
                {"label": i["label"], "count": i["count"]}
                for i in selectors.attention(request.user, cycle, rows)
            ]
        return Response(data)


class CycleAdvance(APIView):
    @extend_schema(request=AsmtAdvanceIn, responses=J)
    def post(self, request, pk: int):
        cycle = selectors.cycle_for(request.user, pk)
        data = _valid(AsmtAdvanceIn, request)
        return Response(cycle_data(services.cycle_advance(actor=request.user, cycle=cycle, **data)))


class CycleCompute(APIView):
    @extend_schema(request=AsmtCutoffIn, responses=J)
    def post(self, request, pk: int):
        cycle = selectors.cycle_for(request.user, pk)
        data = _valid(AsmtCutoffIn, request)
        return Response(
            {
                "computed": services.cycle_compute(
                    actor=request.user, cycle=cycle, cutoff=data.get("cutoff")
                )
            }
        )


class CycleTasks(APIView):
    @extend_schema(request=AsmtTaskIn, responses=J)
    def post(self, request, pk: int):
        cycle = selectors.cycle_for(request.user, pk)
        task = services.cycle_task_add(
            actor=request.user, cycle=cycle, **_valid(AsmtTaskIn, request)
        )
        return Response({"id": task.pk, "title": task.title, "due_on": task.due_on}, status=201)


class CycleCommitments(APIView):
    """The cycle's commitments in the user's subtree, each with its progress updates."""

    @extend_schema(operation_id="assessments_cycle_commitments_list", responses=J)
    def get(self, request, pk: int):
        cycle = selectors.cycle_for(request.user, pk)
        rows = selectors.commitments_visible_to(request.user, cycle)
        return Response([commitment_data(c) for c in rows])

    @extend_schema(request=AsmtCommitmentIn, responses=J)
    def post(self, request, pk: int):
        cycle = selectors.cycle_for(request.user, pk)
        data = _valid(AsmtCommitmentIn, request)
        org = get_org_or_404(request.user, data["org"])
        item = services.commitment_add(
            actor=request.user, cycle=cycle, org=org, kind=data["kind"], content=data["content"]
        )
        return Response({"id": item.pk, "kind": item.kind, "content": item.content}, status=201)


class CommitmentDetail(APIView):
    """PATCH: the committing org's secretary records progress (and optionally the status)."""

    @extend_schema(responses=J)
    def get(self, request, pk: int):
        return Response(commitment_data(selectors.commitment_for(request.user, pk)))

    @extend_schema(request=AsmtCommitmentUpdateIn, responses=J)
    def patch(self, request, pk: int):
        commitment = selectors.commitment_for(request.user, pk)
        data = _valid(AsmtCommitmentUpdateIn, request)
        commitment = services.commitment_update(
            actor=request.user,
            commitment=commitment,
            progress=data["progress"],
            status=data.get("status"),
        )
        return Response(commitment_data(selectors.commitment_for(request.user, commitment.pk)))


class CycleEvaluators(APIView):
    @extend_schema(request=AsmtEvaluatorIn, responses=J)
    def post(self, request, pk: int):
        cycle = selectors.cycle_for(request.user, pk)
        data = _valid(AsmtEvaluatorIn, request)
        require(request.user, "superior", cycle.org)
        user = selectors.evaluator_user_for(cycle, pk=data["user"])
        ev = services.evaluator_add(actor=request.user, cycle=cycle, user=user, group=data["group"])
        return Response({"id": ev.pk, "user": ev.user_id, "group": ev.group}, status=201)


class CycleDutyReports(APIView):
    """The cycle's duty reports in the user's subtree (scores and votes once visible)."""

    @extend_schema(operation_id="assessments_cycle_duty_reports_list", responses=J)
    def get(self, request, pk: int):
        cycle = selectors.cycle_for(request.user, pk)
        reports = list(
            selectors.duty_reports_visible_to(request.user, cycle).select_related("cycle")
        )
        return Response(reports_data(request.user, reports))

    @extend_schema(request=AsmtDutyReportIn, responses=J)
    def post(self, request, pk: int):
        cycle = selectors.cycle_for(request.user, pk)
        data = _valid(AsmtDutyReportIn, request)
        org = get_org_or_404(request.user, data["org"])
        report = services.duty_report_submit(
            actor=request.user, cycle=cycle, org=org, content=data["content"]
        )
        return Response(report_data(request.user, report), status=201)


class CycleProblems(APIView):
    """The cycle's problem list (问题清单) in the user's subtree, with rectification progress."""

    @extend_schema(operation_id="assessments_cycle_problems_list", responses=J)
    def get(self, request, pk: int):
        cycle = selectors.cycle_for(request.user, pk)
        rows = selectors.problems_visible_to(request.user, cycle)
        return Response([problem_data(p) for p in rows])

    @extend_schema(request=AsmtProblemIn, responses=J)
    def post(self, request, pk: int):
        cycle = selectors.cycle_for(request.user, pk)
        data = _valid(AsmtProblemIn, request)
        org = get_org_or_404(request.user, data.pop("org"))
        problem = services.problem_raise(actor=request.user, cycle=cycle, org=org, **data)
        return Response({"id": problem.pk, "state": problem.state}, status=201)


def star_data(r, *, changes: bool = False) -> dict:
    data = {
        "id": r.pk,
        "org": r.org_id,
        "score": _d(r.score),
        "rank": r.rank,
        "stars": r.stars,
        "by_score": r.by_score,
        "limited_by": r.limited_by,
    }
    if changes:
        data["org_name"] = r.org.name
        data["changes"] = [
            {
                "from_stars": ch.from_stars,
                "to_stars": ch.to_stars,
                "reason": ch.reason,
                "manual": ch.manual,
                "at": ch.at,
            }
            for ch in r.changes.all()
        ]
    return data


class CycleStars(APIView):
    """GET: the star ratings the user may see (the superior before publication, the subtree
    after it) with every change and its reason. POST: rate stars from the final scores
    (thresholds, five-star cap, vetoes, 软弱涣散)."""

    @extend_schema(operation_id="assessments_cycle_stars_list", responses=J)
    def get(self, request, pk: int):
        cycle = selectors.cycle_for(request.user, pk)
        return Response(
            [star_data(r, changes=True) for r in selectors.stars_visible_to(request.user, cycle)]
        )

    @extend_schema(request=None, responses=J)
    def post(self, request, pk: int):
        cycle = selectors.cycle_for(request.user, pk)
        ratings = services.stars_compute(actor=request.user, cycle=cycle)
        return Response([star_data(r) for r in ratings])


class ScorecardDetail(APIView):
    """A scorecard: every indicator, where points were lost, and the records behind them."""

    @extend_schema(responses=J)
    def get(self, request, pk: int):
        assessment = selectors.assessment_for(request.user, pk)
        return Response(scorecard_data(selectors.scorecard(request.user, assessment)))


class ScorecardCompute(APIView):
    @extend_schema(request=AsmtCutoffIn, responses=J)
    def post(self, request, pk: int):
        assessment = selectors.assessment_for(request.user, pk)
        data = _valid(AsmtCutoffIn, request)
        services.assessment_compute(
            actor=request.user, assessment=assessment, cutoff=data.get("cutoff")
        )
        return Response(scorecard_data(selectors.scorecard(request.user, assessment)))


class ScorecardSelf(APIView):
    @extend_schema(request=AsmtSelfIn, responses=J)
    def post(self, request, pk: int):
        assessment = selectors.assessment_for(request.user, pk)
        data = _valid(AsmtSelfIn, request)
        services.assessment_self_assess(
            actor=request.user,
            assessment=assessment,
            entries=_entries(data.get("entries")),
            comment=data["comment"],
            submit=data["submit"],
        )
        return Response(
            scorecard_data(
                selectors.scorecard(request.user, selectors.assessment_for(request.user, pk))
            )
        )


class ScorecardReview(APIView):
    @extend_schema(request=AsmtReviewIn, responses=J)
    def post(self, request, pk: int):
        assessment = selectors.assessment_for(request.user, pk)
        data = _valid(AsmtReviewIn, request)
        services.assessment_review(
            actor=request.user,
            assessment=assessment,
            adjustments=_entries(data.get("adjustments")),
            vetoes=data["vetoes"],
            comment=data["comment"],
        )
        return Response(
            scorecard_data(
                selectors.scorecard(request.user, selectors.assessment_for(request.user, pk))
            )
        )


class ScorecardEvidence(APIView):
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    @extend_schema(request=AsmtEvidenceIn, responses=J)
    def post(self, request, pk: int):
        assessment = selectors.assessment_for(request.user, pk)
        require(request.user, "branch_write", assessment.org)
        data = _valid(AsmtEvidenceIn, request)
        ev = services.evidence_add(
            actor=request.user,
            assessment=assessment,
            indicator_id=data["indicator"],
            file=data["file"],
            note=data["note"],
        )
        return Response({"id": ev.pk, "file": ev.file.url}, status=201)


class ScorecardAppeals(APIView):
    @extend_schema(request=AsmtReasonIn, responses=J)
    def post(self, request, pk: int):
        assessment = selectors.assessment_for(request.user, pk)
        appeal = services.appeal_submit(
            actor=request.user, assessment=assessment, **_valid(AsmtReasonIn, request)
        )
        return Response({"id": appeal.pk, "outcome": appeal.outcome}, status=201)


class AppealDecide(APIView):
    @extend_schema(request=AsmtDecideIn, responses=J)
    def post(self, request, pk: int):
        try:
            appeal = Appeal.objects.select_related("assessment__org").get(pk=pk)
        except Appeal.DoesNotExist:
            raise Http404("未找到。") from None
        selectors.assessment_for(request.user, appeal.assessment_id)  # 404 outside the subtree
        data = _valid(AsmtDecideIn, request)
        appeal = services.appeal_decide(actor=request.user, appeal=appeal, **data)
        return Response(
            {"id": appeal.pk, "outcome": appeal.outcome, "score_after": _d(appeal.score_after)}
        )


class DutyReportDetail(APIView):
    @extend_schema(responses=J)
    def get(self, request, pk: int):
        return Response(report_data(request.user, selectors.duty_report_for(request.user, pk)))


class DutyReportsToVote(APIView):
    """The reports the signed-in evaluator may vote on now (the voting page's list)."""

    @extend_schema(operation_id="assessments_duty_reports_to_vote", responses=J)
    def get(self, request):
        reports = selectors.reports_to_vote(request.user)
        voted = {r.pk: r.voted for r in reports}
        rows = reports_data(request.user, reports)
        for row, report in zip(rows, reports, strict=True):
            row["cycle_name"] = report.cycle.name
            row["voted"] = voted[report.pk]
        return Response(rows)


class DutyReportVote(APIView):
    """Cast the evaluator's one vote (好/较好/一般/差)."""

    @extend_schema(request=AsmtVoteIn, responses=J)
    def post(self, request, pk: int):
        report = selectors.duty_report_for(request.user, pk)
        data = _valid(AsmtVoteIn, request)
        services.vote_cast(actor=request.user, report=report, choice=data["choice"])
        return Response(report_data(request.user, report), status=201)


class ProblemProgress(APIView):
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    @extend_schema(request=AsmtProgressIn, responses=J)
    def post(self, request, pk: int):
        problem = selectors.problem_for(request.user, pk)
        data = _valid(AsmtProgressIn, request)
        entry = services.problem_progress_add(
            actor=request.user, problem=problem, note=data["note"], file=data.get("file")
        )
        return Response({"id": entry.pk}, status=201)


class ProblemClose(APIView):
    @extend_schema(request=None, responses=J)
    def post(self, request, pk: int):
        problem = selectors.problem_for(request.user, pk)
        problem = services.problem_close(actor=request.user, problem=problem)
        return Response({"id": problem.pk, "state": problem.state})


class StarChangeView(APIView):
    @extend_schema(request=AsmtStarIn, responses=J)
    def post(self, request, pk: int):
        try:
            rating = StarRating.objects.select_related("org", "cycle", "cycle__org").get(pk=pk)
        except StarRating.DoesNotExist:
            raise Http404("未找到。") from None
        selectors.require_view(request.user, rating.org)
        data = _valid(AsmtStarIn, request)
        rating = services.star_change(actor=request.user, rating=rating, **data)
        return Response({"id": rating.pk, "stars": rating.stars})


class WeakOrgList(APIView):
    """Designated 软弱涣散 orgs in scope; POST designates one."""

    @extend_schema(operation_id="assessments_weak_orgs_list", responses=J)
    def get(self, request):
        _require_assessment_user(request.user)
        return Response([weak_data(w) for w in selectors.weak_orgs_visible_to(request.user)])

    @extend_schema(request=AsmtWeakIn, responses=J)
    def post(self, request):
        data = _valid(AsmtWeakIn, request)
        org = get_org_or_404(request.user, data.pop("org"))
        weak = services.weak_org_designate(actor=request.user, org=org, **data)
        return Response(weak_data(weak, full=True), status=201)


class WeakOrgCandidates(APIView):
    """The screening list computed from data (`?org=` subtree root, default the user's first)."""

    @extend_schema(parameters=[OpenApiParameter("org", int)], responses=J)
    def get(self, request):
        _require_assessment_user(request.user)
        org_id = request.query_params.get("org")
        if org_id:
            root = get_org_or_404(request.user, org_id)
        else:
            root = selectors.default_root(request.user)
            if root is None:
                return Response([])
        require(request.user, "superior", root)
        return Response(
            [
                {
                    "org": {"id": c.org.pk, "name": c.org.name},
                    "reasons": c.reasons,
                    "designated": c.designated,
                    "details": [d | {"url": record_url(d)} for d in c.details],
                }
                for c in selectors.weak_org_candidates(request.user, root)
            ]
        )


class AsmtWeakPlanIn(serializers.Serializer):
    plan = serializers.CharField(allow_blank=True)
    leader = serializers.CharField(allow_blank=True)


class WeakOrgDetail(APIView):
    @extend_schema(responses=J)
    def get(self, request, pk: int):
        weak = selectors.weak_org_for(request.user, pk)
        selectors.require_view(request.user, weak.org)
        return Response(weak_data(weak, full=True))

    @extend_schema(request=AsmtWeakPlanIn, responses=J)
    def patch(self, request, pk: int):
        """The rectification plan (整顿方案) and the responsible leader (包联领导)."""
        weak = selectors.weak_org_for(request.user, pk)
        weak = services.weak_org_update(
            actor=request.user, weak_org=weak, **_valid(AsmtWeakPlanIn, request)
        )
        return Response(weak_data(weak, full=True))


class WeakOrgProgress(APIView):
    @extend_schema(request=AsmtNoteIn, responses=J)
    def post(self, request, pk: int):
        weak = selectors.weak_org_for(request.user, pk)
        entry = services.weak_org_progress_add(
            actor=request.user, weak_org=weak, **_valid(AsmtNoteIn, request)
        )
        return Response({"id": entry.pk}, status=201)


class WeakOrgClose(APIView):
    @extend_schema(request=AsmtReviewTextIn, responses=J)
    def post(self, request, pk: int):
        weak = selectors.weak_org_for(request.user, pk)
        weak = services.weak_org_close(
            actor=request.user, weak_org=weak, **_valid(AsmtReviewTextIn, request)
        )
        return Response(weak_data(weak, full=True))


P = "assessments/"
urlpatterns = [
    path(f"{P}templates/", TemplateList.as_view(), name="assessments-templates"),
    path(f"{P}templates/<int:pk>/", TemplateDetail.as_view(), name="assessments-template"),
    path(f"{P}templates/<int:pk>/copy/", TemplateCopy.as_view(), name="assessments-template-copy"),
    path(
        f"{P}templates/<int:pk>/indicators/",
        TemplateIndicators.as_view(),
        name="assessments-template-indicators",
    ),
    path(f"{P}indicators/<int:pk>/", IndicatorDetail.as_view(), name="assessments-indicator"),
    path(f"{P}cycles/", CycleList.as_view(), name="assessments-cycles"),
    path(f"{P}cycles/<int:pk>/", CycleDetail.as_view(), name="assessments-cycle"),
    path(f"{P}cycles/<int:pk>/advance/", CycleAdvance.as_view(), name="assessments-cycle-advance"),
    path(f"{P}cycles/<int:pk>/compute/", CycleCompute.as_view(), name="assessments-cycle-compute"),
    path(f"{P}cycles/<int:pk>/tasks/", CycleTasks.as_view(), name="assessments-cycle-tasks"),
    path(
        f"{P}cycles/<int:pk>/commitments/",
        CycleCommitments.as_view(),
        name="assessments-cycle-commitments",
    ),
    path(f"{P}commitments/<int:pk>/", CommitmentDetail.as_view(), name="assessments-commitment"),
    path(
        f"{P}cycles/<int:pk>/evaluators/",
        CycleEvaluators.as_view(),
        name="assessments-cycle-evaluators",
    ),
    path(
        f"{P}cycles/<int:pk>/duty-reports/",
        CycleDutyReports.as_view(),
        name="assessments-cycle-duty-reports",
    ),
    path(
        f"{P}cycles/<int:pk>/problems/", CycleProblems.as_view(), name="assessments-cycle-problems"
    ),
    path(f"{P}cycles/<int:pk>/stars/", CycleStars.as_view(), name="assessments-cycle-stars"),
    path(f"{P}scorecards/<int:pk>/", ScorecardDetail.as_view(), name="assessments-scorecard"),
    path(
        f"{P}scorecards/<int:pk>/compute/",
        ScorecardCompute.as_view(),
        name="assessments-scorecard-compute",
    ),
    path(
        f"{P}scorecards/<int:pk>/self-assessment/",
        ScorecardSelf.as_view(),
        name="assessments-scorecard-self",
    ),
    path(
        f"{P}scorecards/<int:pk>/review/",
        ScorecardReview.as_view(),
        name="assessments-scorecard-review",
    ),
    path(
        f"{P}scorecards/<int:pk>/evidence/",
        ScorecardEvidence.as_view(),
        name="assessments-scorecard-evidence",
    ),
    path(
        f"{P}scorecards/<int:pk>/appeals/",
        ScorecardAppeals.as_view(),
        name="assessments-scorecard-appeals",
    ),
    path(f"{P}appeals/<int:pk>/decide/", AppealDecide.as_view(), name="assessments-appeal-decide"),
    path(
        f"{P}duty-reports/to-vote/",
        DutyReportsToVote.as_view(),
        name="assessments-duty-reports-to-vote",
    ),
    path(f"{P}duty-reports/<int:pk>/", DutyReportDetail.as_view(), name="assessments-duty-report"),
    path(
        f"{P}duty-reports/<int:pk>/vote/",
        DutyReportVote.as_view(),
        name="assessments-duty-report-vote",
    ),
    path(
        f"{P}problems/<int:pk>/progress/",
        ProblemProgress.as_view(),
        name="assessments-problem-progress",
    ),
    path(f"{P}problems/<int:pk>/close/", ProblemClose.as_view(), name="assessments-problem-close"),
    path(f"{P}stars/<int:pk>/change/", StarChangeView.as_view(), name="assessments-star-change"),
    path(f"{P}weak-orgs/", WeakOrgList.as_view(), name="assessments-weak-orgs"),
    path(
        f"{P}weak-orgs/candidates/", WeakOrgCandidates.as_view(), name="assessments-weak-candidates"
    ),
    path(f"{P}weak-orgs/<int:pk>/", WeakOrgDetail.as_view(), name="assessments-weak-org"),
    path(
        f"{P}weak-orgs/<int:pk>/progress/",
        WeakOrgProgress.as_view(),
        name="assessments-weak-org-progress",
    ),
    path(
        f"{P}weak-orgs/<int:pk>/close/", WeakOrgClose.as_view(), name="assessments-weak-org-close"
    ),
]
