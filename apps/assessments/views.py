"""Assessment pages (phone first). Each view: authorize → validate → one service → render.

Form posts that change something redirect back with a message; a ValidationError from the
service is shown as a Chinese message and nothing is saved (the services are atomic)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from apps.accounts.scope import can, get_org_or_404, orgs_visible_to, require, scope_of
from apps.assessments import selectors, services
from apps.assessments.models import (
    PHASE_ORDER,
    VOTING_PHASES,
    Appeal,
    CommitmentKind,
    CommitmentStatus,
    CyclePhase,
    EvaluatorGroup,
    Grade,
    Method,
    ProblemOrigin,
    RuleKind,
    StarRating,
    Template,
    TemplateKind,
)
from apps.assessments.sources import get_source, record_url, source_choices
from apps.core.periods import local_today

RANKING_PAGE_SIZE = 30
GRADE_CLASS = {"good": "success", "fairly_good": "primary", "average": "warning", "poor": "danger"}


def _messages(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        return "；".join(m for errors in exc.message_dict.values() for m in errors)
    return "；".join(exc.messages)


def _act(request: HttpRequest, to: str, action: Callable[[], object], done: str) -> HttpResponse:
    try:
        action()
    except ValidationError as exc:
        messages.error(request, _messages(exc))
    else:
        messages.success(request, done)
    return redirect(to)


def _pk(value) -> int:
    """An id posted in a form field; anything that is not a positive whole number becomes 0,
    which matches nothing (the caller answers 404 as for a missing id)."""
    try:
        number = int(str(value or "").strip())
    except ValueError:
        return 0
    return number if 0 < number < 2**63 else 0


def _date(value: str | None) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValidationError({"date": ["日期格式应为 YYYY-MM-DD。"]}) from None


def _need_reader(user) -> None:
    scope = scope_of(user)
    if (
        not (scope.has("view") or scope.has("admin_rules"))
        and not services.Evaluator.objects.filter(user_id=user.pk).exists()
    ):
        raise PermissionDenied("没有权限访问考核评议。")


# --- home ---------------------------------------------------------------------------------


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """考核评议: my cycles, my scorecards, what to vote on, 软弱涣散 summary."""
    _need_reader(request.user)
    user = request.user
    cycles = list(selectors.cycles_visible_to(user)[:20])
    mine = [
        a
        for a in selectors.assessments_visible_to(user)
        .filter(cycle__in=cycles)
        .order_by("-cycle__year", "org__path")
        if can(user, "branch_write", a.org)
    ][:20]
    superior_orgs = (
        [
            o
            for o in orgs_visible_to(user, "superior")
            .filter(depth__lte=3)
            .exclude(org_type__in=["branch", "joint_branch", "temp_branch", "party_group"])[:10]
        ]
        if scope_of(user).has("superior")
        else []
    )
    return render(
        request,
        "assessments/home.html",
        {
            "cycles": cycles,
            "mine": mine,
            "votes": selectors.reports_to_vote(user),
            "weak": selectors.weak_summary(user),
            "superior_orgs": superior_orgs,
            "templates": selectors.templates_visible_to(user),
            "year": local_today().year,
            "grade_class": GRADE_CLASS,
        },
    )


def _chosen_template(request: HttpRequest, field: str, kind: str) -> Template | None:
    """The template picked in a form (None when none was picked); one the user cannot see, or
    of the wrong kind, is refused like a missing one."""
    value = (request.POST.get(field) or "").strip()
    if not value:
        return None
    try:
        return selectors.templates_visible_to(request.user).get(pk=int(value), kind=kind)
    except (Template.DoesNotExist, ValueError):
        raise ValidationError({field: ["未找到该模板。"]}) from None


@login_required
@require_POST
def cycle_new(request: HttpRequest) -> HttpResponse:
    def run():
        org = get_org_or_404(request.user, request.POST.get("org") or 0)
        try:
            year = int(request.POST.get("year", ""))
        except ValueError:
            raise ValidationError({"year": ["请填写年度。"]}) from None
        branch_t = _chosen_template(request, "branch_template", TemplateKind.BRANCH)
        sec_t = _chosen_template(request, "secretary_template", TemplateKind.SECRETARY)
        cycle = services.cycle_open(
            actor=request.user,
            org=org,
            year=year,
            name=request.POST.get("name", ""),
            branch_template=branch_t,
            secretary_template=sec_t,
            note=request.POST.get("note", ""),
        )
        request._new = cycle

    try:
        run()
    except ValidationError as exc:
        messages.error(request, _messages(exc))
        return redirect("assessments:home")
    messages.success(request, "考核周期已发起（年初部署）。")
    return redirect("assessments:cycle", request._new.pk)


# --- cycles -------------------------------------------------------------------------------


@login_required
def cycle_detail(request: HttpRequest, pk: int) -> HttpResponse:
    cycle = selectors.cycle_for(request.user, pk)
    user = request.user
    rows = selectors.ranking(user, cycle)
    superior = can(user, "superior", cycle.org)
    secretary_rows = (
        selectors.ranking(user, cycle, kind=TemplateKind.SECRETARY)
        if cycle.secretary_template_id
        else []
    )
    reports = list(selectors.duty_reports_visible_to(user, cycle))
    writable = [r.org for r in rows if can(user, "branch_write", r.org)]
    next_phase = (
        PHASE_ORDER[cycle.phase_index + 1] if cycle.phase_index + 1 < len(PHASE_ORDER) else None
    )
    problems = selectors.scoped(cycle.problems.select_related("org"), user, path_field="org__path")
    page = Paginator(rows, RANKING_PAGE_SIZE).get_page(request.GET.get("page"))
    commitments = list(selectors.commitments_visible_to(user, cycle))
    for c in commitments:
        c.editable = cycle.phase != CyclePhase.CLOSED and can(user, "branch_write", c.org)
    return render(
        request,
        "assessments/cycle.html",
        {
            "cycle": cycle,
            "rows": rows,
            "page": page,
            "rank_offset": page.start_index() - 1 if rows else 0,
            "secretary_rows": secretary_rows,
            "superior": superior,
            "distribution": selectors.distribution(rows),
            "attention": selectors.attention(user, cycle, rows) if superior else [],
            "phases": [
                (p, CyclePhase(p).label, i <= cycle.phase_index) for i, p in enumerate(PHASE_ORDER)
            ],
            "next_phase": next_phase,
            "next_label": CyclePhase(next_phase).label if next_phase else "",
            "tasks": cycle.tasks.all(),
            "reports": reports,
            "writable": writable,
            "commitments": commitments,
            "commitment_kinds": CommitmentKind.choices,
            "commitment_statuses": CommitmentStatus.choices,
            "evaluator_groups": EvaluatorGroup.choices,
            "evaluators": cycle.evaluators.select_related("user") if superior else [],
            "problems": problems,
            "origins": ProblemOrigin.choices,
            "public": selectors.results_public(user, cycle),
            "grade_class": GRADE_CLASS,
            "today": local_today(),
        },
    )


@login_required
@require_POST
def cycle_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    cycle = selectors.cycle_for(request.user, pk)
    to = reverse("assessments:cycle", args=[cycle.pk])
    post, user = request.POST, request.user
    if action == "advance":
        return _act(
            request,
            to,
            lambda: services.cycle_advance(
                actor=user,
                cycle=cycle,
                to_phase=post.get("to_phase", ""),
                cutoff=_date(post.get("cutoff")),
            ),
            "已进入下一阶段。",
        )
    if action == "compute":
        return _act(
            request,
            to,
            lambda: services.cycle_compute(
                actor=user, cycle=cycle, cutoff=_date(post.get("cutoff"))
            ),
            "已按截止日期重新计算自动评分（保留历次计算）。",
        )
    if action == "stars":
        return _act(
            request, to, lambda: services.stars_compute(actor=user, cycle=cycle), "已评定星级。"
        )
    if action == "task":
        return _act(
            request,
            to,
            lambda: services.cycle_task_add(
                actor=user,
                cycle=cycle,
                title=post.get("title", ""),
                description=post.get("description", ""),
                due_on=_date(post.get("due_on")),
            ),
            "已添加部署任务。",
        )
    if action == "commitment":
        return _act(
            request,
            to,
            lambda: services.commitment_add(
                actor=user,
                cycle=cycle,
                org=get_org_or_404(user, post.get("org") or 0),
                kind=post.get("kind", ""),
                content=post.get("content", ""),
            ),
            "已登记承诺事项。",
        )
    if action == "commitment_progress":
        commitment = selectors.commitment_for(user, _pk(post.get("commitment")), cycle=cycle)
        return _act(
            request,
            to,
            lambda: services.commitment_update(
                actor=user,
                commitment=commitment,
                progress=post.get("progress", ""),
                status=post.get("status") or None,
            ),
            "已更新承诺进展。",
        )
    if action == "evaluator":

        def add():
            require(user, "superior", cycle.org)
            target = selectors.evaluator_user_for(
                cycle, username=post.get("username", ""), field="username"
            )
            services.evaluator_add(
                actor=user, cycle=cycle, user=target, group=post.get("group", "")
            )

        return _act(request, to, add, "已添加评议人。")
    if action == "problem":
        return _act(
            request,
            to,
            lambda: services.problem_raise(
                actor=user,
                cycle=cycle,
                org=get_org_or_404(user, post.get("org") or 0),
                origin=post.get("origin", ""),
                description=post.get("description", ""),
                measure=post.get("measure", ""),
                due_on=_date(post.get("due_on")),
            ),
            "已列入问题清单。",
        )
    if action == "duty_report":
        return _act(
            request,
            to,
            lambda: services.duty_report_submit(
                actor=user,
                cycle=cycle,
                org=get_org_or_404(user, post.get("org") or 0),
                content=post.get("content", ""),
            ),
            "述职报告已提交。",
        )
    raise Http404("未找到。")


# --- scorecards ---------------------------------------------------------------------------


@login_required
def scorecard(request: HttpRequest, pk: int) -> HttpResponse:
    assessment = selectors.assessment_for(request.user, pk)
    view = selectors.scorecard(request.user, assessment)
    for line in view.card.lines:
        line.rows = [d | {"url": record_url(d)} for d in line.details]
        src = get_source(line.indicator.source) if line.indicator.source else None
        line.source_label = src.label if src else ""
    lost = [line for line in view.card.lines if not line.is_group and line.lost and line.lost > 0]
    return render(
        request,
        "assessments/scorecard.html",
        {
            "v": view,
            "a": assessment,
            "cycle": assessment.cycle,
            "lost": lost,
            "lost_total": sum((line.lost for line in lost), Decimal(0)),
            "grade_class": GRADE_CLASS,
            "Method": Method,
            "can_upload": view.can_self_assess,
            "can_decide": can(request.user, "superior", assessment.org),
        },
    )


@login_required
@require_POST
def scorecard_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    assessment = selectors.assessment_for(request.user, pk)
    to = reverse("assessments:scorecard", args=[assessment.pk])
    post, user = request.POST, request.user
    indicator_ids = [k.split("_", 1)[1] for k in post if k.startswith("points_")]
    if action == "self":
        entries = {
            i: {"points": post.get(f"points_{i}", ""), "comment": post.get(f"comment_{i}", "")}
            for i in indicator_ids
        }
        return _act(
            request,
            to,
            lambda: services.assessment_self_assess(
                actor=user,
                assessment=assessment,
                entries=entries,
                comment=post.get("comment", ""),
                submit=post.get("submit") == "1",
            ),
            "自评已提交。" if post.get("submit") == "1" else "自评已保存。",
        )
    if action == "review":
        entries = {
            i: {"points": post.get(f"points_{i}", ""), "reason": post.get(f"reason_{i}", "")}
            for i in indicator_ids
            if post.get(f"points_{i}", "") != ""
        }
        return _act(
            request,
            to,
            lambda: services.assessment_review(
                actor=user,
                assessment=assessment,
                adjustments=entries,
                vetoes=post.getlist("veto"),
                comment=post.get("comment", ""),
            ),
            "已完成考核评定。",
        )
    if action == "compute":
        return _act(
            request,
            to,
            lambda: services.assessment_compute(
                actor=user, assessment=assessment, cutoff=_date(post.get("cutoff"))
            ),
            "已重新计算。",
        )
    if action == "evidence":
        return _act(
            request,
            to,
            lambda: services.evidence_add(
                actor=user,
                assessment=assessment,
                indicator_id=post.get("indicator"),
                file=request.FILES.get("file"),
                note=post.get("note", ""),
            ),
            "佐证材料已上传。",
        )
    if action == "appeal":
        return _act(
            request,
            to,
            lambda: services.appeal_submit(
                actor=user, assessment=assessment, reason=post.get("reason", "")
            ),
            "申诉已提交。",
        )
    if action == "decide":
        appeal = Appeal.objects.filter(pk=_pk(post.get("appeal")), assessment=assessment).first()
        if appeal is None:
            raise Http404("未找到。")
        return _act(
            request,
            to,
            lambda: services.appeal_decide(
                actor=user,
                appeal=appeal,
                outcome=post.get("outcome", ""),
                response=post.get("response", ""),
                score_after=post.get("score_after") or None,
            ),
            "申诉已处理。",
        )
    raise Http404("未找到。")


# --- 述职评议 ------------------------------------------------------------------------------


@login_required
def duty_report(request: HttpRequest, pk: int) -> HttpResponse:
    report = selectors.duty_report_for(request.user, pk)
    evaluator = services.evaluator_for(request.user, report.cycle)
    my_vote = report.votes.filter(evaluator=evaluator).first() if evaluator else None
    show = (
        selectors.results_public(request.user, report.cycle, report.org)
        or report.secretary_id == request.user.pk
    )
    counts = {g: 0 for g in Grade.values}
    for choice in report.votes.values_list("choice", flat=True):
        counts[choice] += 1
    return render(
        request,
        "assessments/duty_report.html",
        {
            "report": report,
            "evaluator": evaluator,
            "my_vote": my_vote,
            "show": show,
            "counts": [(Grade(g).label, n, GRADE_CLASS[g]) for g, n in counts.items()],
            "choices": [(g, Grade(g).label, GRADE_CLASS[g]) for g in Grade.values],
            "can_vote": evaluator is not None
            and my_vote is None
            and report.cycle.phase in VOTING_PHASES
            and report.secretary_id != request.user.pk,
            "vote_closed": "不能评议本人的述职报告。"
            if report.secretary_id == request.user.pk
            else (
                ""
                if report.cycle.phase in VOTING_PHASES
                else "述职评议在“年终自评”和“上级考核”阶段进行，当前不能投票。"
            ),
            "problems": report.cycle.problems.filter(org=report.org) if show else [],
            "grade_class": GRADE_CLASS,
        },
    )


@login_required
@require_POST
def duty_report_vote(request: HttpRequest, pk: int) -> HttpResponse:
    report = selectors.duty_report_for(request.user, pk)
    return _act(
        request,
        reverse("assessments:duty_report", args=[report.pk]),
        lambda: services.vote_cast(
            actor=request.user, report=report, choice=request.POST.get("choice", "")
        ),
        "投票成功，感谢参与评议。",
    )


# --- problems -------------------------------------------------------------------------------


@login_required
def problem(request: HttpRequest, pk: int) -> HttpResponse:
    item = selectors.problem_for(request.user, pk)
    return render(
        request,
        "assessments/problem.html",
        {
            "p": item,
            "can_progress": can(request.user, "branch_write", item.org)
            or can(request.user, "superior", item.org),
            "can_close": can(request.user, "superior", item.org),
        },
    )


@login_required
@require_POST
def problem_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    item = selectors.problem_for(request.user, pk)
    to = reverse("assessments:problem", args=[item.pk])
    if action == "progress":
        return _act(
            request,
            to,
            lambda: services.problem_progress_add(
                actor=request.user,
                problem=item,
                note=request.POST.get("note", ""),
                file=request.FILES.get("file"),
            ),
            "已记录整改进展。",
        )
    if action == "close":
        return _act(
            request,
            to,
            lambda: services.problem_close(actor=request.user, problem=item),
            "问题已销号。",
        )
    raise Http404("未找到。")


@login_required
@require_POST
def star_change(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        rating = StarRating.objects.select_related("org", "cycle").get(pk=pk)
    except StarRating.DoesNotExist:
        raise Http404("未找到。") from None
    selectors.require_view(request.user, rating.org)
    return _act(
        request,
        reverse("assessments:cycle", args=[rating.cycle_id]),
        lambda: services.star_change(
            actor=request.user,
            rating=rating,
            stars=request.POST.get("stars"),
            reason=request.POST.get("reason", ""),
        ),
        "星级已调整，变更已记录。",
    )


# --- 软弱涣散 -------------------------------------------------------------------------------


@login_required
def weak_orgs(request: HttpRequest) -> HttpResponse:
    _need_reader(request.user)
    root = None
    if request.GET.get("org"):
        root = get_org_or_404(request.user, request.GET["org"])
    elif scope_of(request.user).has("superior"):
        root = selectors.default_root(request.user)
    candidates, screened_on = [], None
    if root is not None and can(request.user, "superior", root):
        # the nightly screening's list; a subtree never screened is screened now (not stored)
        candidates, screened_on = selectors.weak_candidates_stored(request.user, root)
        if screened_on is None:
            candidates = selectors.weak_org_candidates(request.user, root)
            screened_on = local_today()
        for c in candidates:
            c.rows = [d | {"url": record_url(d)} for d in c.details]
    return render(
        request,
        "assessments/weak_orgs.html",
        {
            "root": root,
            "candidates": candidates,
            "screened_on": screened_on,
            "designated": selectors.weak_orgs_visible_to(request.user),
            "year": local_today().year,
        },
    )


@login_required
@require_POST
def weak_screen(request: HttpRequest) -> HttpResponse:
    """重新筛查: screen the subtree now and store the list (superior over the org)."""
    root = get_org_or_404(request.user, request.POST.get("org") or 0)
    return _act(
        request,
        f"{reverse('assessments:weak_orgs')}?org={root.pk}",
        lambda: services.weak_screening_refresh(actor=request.user, root=root),
        "已按当前数据重新筛查。",
    )


@login_required
@require_POST
def weak_designate(request: HttpRequest) -> HttpResponse:
    post = request.POST
    reasons = [r for r in post.getlist("reasons") if r.strip()] + [
        line for line in post.get("other", "").splitlines() if line.strip()
    ]
    return _act(
        request,
        reverse("assessments:weak_orgs"),
        lambda: services.weak_org_designate(
            actor=request.user,
            org=get_org_or_404(request.user, post.get("org") or 0),
            year=post.get("year", ""),
            reasons=reasons,
            note=post.get("note", ""),
            plan=post.get("plan", ""),
            leader=post.get("leader", ""),
        ),
        "已认定为软弱涣散党组织，请跟进整顿。",
    )


@login_required
def weak_org(request: HttpRequest, pk: int) -> HttpResponse:
    weak = selectors.weak_org_for(request.user, pk)
    return render(
        request,
        "assessments/weak_org.html",
        {
            "w": weak,
            "superior": can(request.user, "superior", weak.org),
            "can_progress": can(request.user, "branch_write", weak.org)
            or can(request.user, "superior", weak.org),
        },
    )


@login_required
@require_POST
def weak_org_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    weak = selectors.weak_org_for(request.user, pk)
    to = reverse("assessments:weak_org", args=[weak.pk])
    post = request.POST
    if action == "progress":
        return _act(
            request,
            to,
            lambda: services.weak_org_progress_add(
                actor=request.user, weak_org=weak, note=post.get("note", "")
            ),
            "已记录整顿进展。",
        )
    if action == "plan":
        return _act(
            request,
            to,
            lambda: services.weak_org_update(
                actor=request.user,
                weak_org=weak,
                plan=post.get("plan", ""),
                leader=post.get("leader", ""),
            ),
            "整顿方案已保存。",
        )
    if action == "close":
        return _act(
            request,
            to,
            lambda: services.weak_org_close(
                actor=request.user, weak_org=weak, review=post.get("review", "")
            ),
            "已验收销号。",
        )
    raise Http404("未找到。")


# --- templates ------------------------------------------------------------------------------


def _indicator_rows(template: Template) -> list[dict]:
    indicators = list(template.indicators.all())
    by_parent: dict = {}
    for ind in indicators:
        by_parent.setdefault(ind.parent_id, []).append(ind)
    rows = []

    def walk(parent, depth):
        for ind in sorted(by_parent.get(parent, []), key=lambda i: (i.order, i.pk)):
            src = get_source(ind.source) if ind.source else None
            kids = by_parent.get(ind.pk, [])
            rows.append(
                {
                    "ind": ind,
                    "depth": depth,
                    "source": src,
                    "children_total": sum((k.max_points for k in kids), Decimal(0)),
                }
            )
            walk(ind.pk, depth + 1)

    walk(None, 0)
    return rows


@login_required
def template_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _need_reader(request.user)
    template = selectors.template_for(request.user, pk)
    scope = scope_of(request.user)
    admin = scope.has("superior") or scope.has("admin_rules")
    owner_admin = admin and (
        template.org is None
        or can(request.user, "superior", template.org)
        or can(request.user, "admin_rules", template.org)
    )
    locked = ""
    if template.is_default:
        locked = "系统默认模板不能直接修改，请先复制。"
    else:
        try:
            services._require_editable(template)
        except ValidationError as exc:
            locked = _messages(exc)
    return render(
        request,
        "assessments/template.html",
        {
            "t": template,
            "rows": _indicator_rows(template),
            "problems": services.template_problems(template),
            "can_copy": admin,
            "can_edit": owner_admin and not locked,
            "locked": locked,
            "methods": Method.choices,
            "rules": RuleKind.choices,
            "sources": source_choices(),
            "copies": selectors.templates_visible_to(request.user)
            .filter(copied_from=template)
            .order_by("-id")[:10],
        },
    )


def _indicator_fields(post) -> dict:
    params = {}
    for key in ("per", "floor", "threshold", "deduct", "target"):
        if post.get(key, "").strip() != "":
            params[key] = post[key].strip()
    if post.get("unit_label", "").strip():
        params["unit_label"] = post["unit_label"].strip()[:10]
    return {
        "code": post.get("code", ""),
        "name": post.get("name", ""),
        "method": post.get("method", ""),
        "max_points": post.get("max_points") or "0",
        "source": post.get("source", ""),
        "rule": post.get("rule", ""),
        "params": params,
        "evidence_required": post.get("evidence_required") == "1",
        "description": post.get("description", ""),
    }


@login_required
@require_POST
def template_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    _need_reader(request.user)
    template = selectors.template_for(request.user, pk)
    to = reverse("assessments:template", args=[template.pk])
    post = request.POST
    if action == "copy":
        holder = {}

        def copy():
            holder["t"] = services.template_copy(
                actor=request.user,
                template=template,
                name=post.get("name", ""),
                year=post.get("year") or None,
            )

        response = _act(request, to, copy, "模板已复制，可在副本上修改指标。")
        return redirect("assessments:template", holder["t"].pk) if "t" in holder else response
    if action == "update":
        return _act(
            request,
            to,
            lambda: services.template_update(
                actor=request.user,
                template=template,
                name=post.get("name", ""),
                bonus_cap=post.get("bonus_cap", ""),
            ),
            "模板已保存。",
        )
    if action == "add":
        parent = None
        if post.get("parent"):
            parent = template.indicators.filter(pk=_pk(post.get("parent"))).first()
            if parent is None:
                raise Http404("未找到。")
        return _act(
            request,
            to,
            lambda: services.indicator_add(
                actor=request.user, template=template, parent=parent, **_indicator_fields(post)
            ),
            "指标已添加。",
        )
    ind = template.indicators.filter(pk=_pk(post.get("indicator"))).first()
    if ind is None:
        raise Http404("未找到。")
    if action == "indicator":
        fields = _indicator_fields(post)
        fields["order"] = post.get("order") or None
        return _act(
            request,
            to,
            lambda: services.indicator_update(actor=request.user, indicator=ind, **fields),
            "指标已修改。",
        )
    if action == "delete":
        return _act(
            request,
            to,
            lambda: services.indicator_delete(actor=request.user, indicator=ind),
            "指标已删除。",
        )
    raise Http404("未找到。")
