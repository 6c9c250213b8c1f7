"""Assessment reads. Every query of org-owned rows goes through apps/accounts/scope.py."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Q, QuerySet
from django.http import Http404

from apps.accounts.scope import can, can_see, path_q, scope_of, scoped
from apps.assessments.models import (
    VOTING_PHASES,
    AppealOutcome,
    Assessment,
    AssessmentState,
    Commitment,
    Cycle,
    CyclePhase,
    DutyReport,
    Evaluator,
    Problem,
    ProblemState,
    StarRating,
    Template,
    TemplateKind,
    WeakOrg,
    WeakOrgState,
)
from apps.assessments.services import card_for, evaluator_for
from apps.assessments.sources import get_source, term_overdue_months
from apps.core.periods import add_years, local_today
from apps.core.rules import rule_value
from apps.organizations.models import Org

PUBLIC_PHASES = (CyclePhase.PUBLISHED, CyclePhase.CLOSED)


def _ancestor_prefixes(user, capability: str = "view") -> list[str]:
    """Paths of every ancestor of the user's scope roots (a cycle opened above a branch is
    visible to the branch)."""
    scope = scope_of(user)
    paths = set()
    for prefix in scope.paths.get(capability, ()):
        paths.update(prefix[: i * Org.steplen] for i in range(1, len(prefix) // Org.steplen + 1))
    return sorted(paths)


def cycles_visible_to(user) -> QuerySet:
    """Cycles opened inside the user's subtree or above it (for the part the user can see)."""
    scope = scope_of(user)
    qs = Cycle.objects.select_related("org", "branch_template", "secretary_template")
    if scope.unrestricted:
        return qs
    q = path_q(user, "view", "org__path") | Q(org__path__in=_ancestor_prefixes(user))
    if not scope.paths.get("view"):
        q = Q(pk__in=[])
    evaluator_cycles = Evaluator.objects.filter(user_id=scope.user_id).values("cycle_id")
    return qs.filter(q | Q(pk__in=evaluator_cycles)).distinct()


def cycle_for(user, pk) -> Cycle:
    try:
        return cycles_visible_to(user).get(pk=int(pk))
    except (Cycle.DoesNotExist, TypeError, ValueError):
        raise Http404("未找到。") from None


def assessments_visible_to(user) -> QuerySet:
    return scoped(
        Assessment.objects.select_related("org", "cycle", "template"), user, path_field="org__path"
    )


def assessment_for(user, pk) -> Assessment:
    """A scorecard the user may read. Members holding only `self` see nothing (403 when it is
    their own branch, 404 otherwise)."""
    qs = Assessment.objects.select_related("org", "cycle", "cycle__org", "template")
    try:
        assessment = qs.get(pk=int(pk))
    except (Assessment.DoesNotExist, TypeError, ValueError):
        raise Http404("未找到。") from None
    require_view(user, assessment.org)
    return assessment


def require_view(user, org) -> None:
    from django.core.exceptions import PermissionDenied

    if not can_see(user, org):
        raise Http404("未找到。")
    if not can(user, "view", org):
        raise PermissionDenied("没有权限查看。")


def results_public(user, cycle: Cycle, org=None) -> bool:
    """Final scores, grades and stars are visible to the subtree after publication; before that
    only to the superior."""
    if cycle.phase in PUBLIC_PHASES:
        return True
    return can(user, "superior", org or cycle.org)


def stage_for(user, assessment: Assessment) -> str:
    if results_public(user, assessment.cycle, assessment.org):
        return "final"
    return "self"


@dataclass
class ScorecardView:
    assessment: Assessment
    card: object
    computation: object
    stage: str
    computations: list
    show_final: bool
    can_self_assess: bool
    can_review: bool
    can_appeal: bool
    appeals: list = field(default_factory=list)
    problems: list = field(default_factory=list)


def scorecard(user, assessment: Assessment) -> ScorecardView:
    from apps.assessments.services import latest_computation

    comp = latest_computation(assessment)
    stage = stage_for(user, assessment)
    card = card_for(assessment, stage=stage, computation=comp)
    cycle = assessment.cycle
    return ScorecardView(
        assessment=assessment,
        card=card,
        computation=comp,
        stage=stage,
        computations=list(assessment.computations.order_by("-computed_at", "-id")[:10]),
        show_final=stage == "final" and assessment.final_score is not None,
        can_self_assess=cycle.phase == CyclePhase.SELF_ASSESSMENT
        and assessment.state == AssessmentState.OPEN
        and can(user, "branch_write", assessment.org),
        can_review=cycle.phase == CyclePhase.REVIEW and can(user, "superior", assessment.org),
        can_appeal=cycle.phase == CyclePhase.PUBLISHED
        and can(user, "branch_write", assessment.org)
        and not assessment.appeals.filter(outcome=AppealOutcome.PENDING).exists(),
        appeals=list(assessment.appeals.all()),
        problems=list(
            Problem.objects.filter(cycle=cycle, org=assessment.org).prefetch_related("progress")
        ),
    )


def ranking(user, cycle: Cycle, *, kind: str = TemplateKind.BRANCH) -> list[Assessment]:
    """Scorecards of the cycle the user can see, best first (final score when visible, else
    the latest automatic score)."""
    rows = list(
        scoped(
            cycle.assessments.filter(kind=kind).select_related("org"), user, path_field="org__path"
        )
    )
    latest = {}
    from apps.assessments.models import Computation

    for comp in (
        Computation.objects.filter(assessment__in=rows)
        .order_by("assessment_id", "-computed_at", "-id")
        .distinct("assessment_id")
    ):
        latest[comp.assessment_id] = comp
    stars = {
        s.org_id: s for s in StarRating.objects.filter(cycle=cycle, org__in=[r.org for r in rows])
    }
    public = results_public(user, cycle)
    for r in rows:
        r.latest = latest.get(r.pk)
        r.star = stars.get(r.org_id) if public else None
        r.shown_score = r.final_score if public and r.final_score is not None else None
        r.auto_score = r.latest.total if r.latest else None
    rows.sort(
        key=lambda r: (
            -(r.shown_score if r.shown_score is not None else (r.auto_score or Decimal(-1))),
            r.org.path,
        )
    )
    return rows


def distribution(rows: list[Assessment]) -> dict:
    grades = Counter(r.grade for r in rows if r.shown_score is not None and r.grade)
    stars = Counter(r.star.stars for r in rows if getattr(r, "star", None))
    return {"grades": dict(grades), "stars": {k: stars.get(k, 0) for k in (5, 4, 3, 2, 1)}}


def attention(user, cycle: Cycle, rows: list[Assessment]) -> list[dict]:
    """What needs the superior's attention across the subtree."""
    items = []
    pending_self = [
        r
        for r in rows
        if r.state == AssessmentState.OPEN and cycle.phase == CyclePhase.SELF_ASSESSMENT
    ]
    if pending_self:
        items.append(
            {"label": "尚未提交自评", "count": len(pending_self), "rows": pending_self[:20]}
        )
    to_review = [r for r in rows if r.state == AssessmentState.SELF_SUBMITTED]
    if to_review:
        items.append({"label": "待上级考核", "count": len(to_review), "rows": to_review[:20]})
    vetoed = [r for r in rows if r.latest and r.latest.vetoed]
    if vetoed:
        items.append({"label": "触发一票否决", "count": len(vetoed), "rows": vetoed[:20]})
    low_line = Decimal(str(rule_value("assessments.weak.low_score")))
    low = [
        r
        for r in rows
        if (r.shown_score if r.shown_score is not None else r.auto_score) is not None
        and r.latest
        and r.latest.auto_max
        and r.latest.total / r.latest.auto_max * 100 < low_line
    ]
    if low:
        items.append(
            {"label": f"自动评分得分率低于{low_line}%", "count": len(low), "rows": low[:20]}
        )
    problems = scoped(
        Problem.objects.filter(cycle=cycle).exclude(state=ProblemState.CLOSED),
        user,
        path_field="org__path",
    ).select_related("org")
    n = problems.count()
    if n:
        items.append({"label": "问题清单未销号", "count": n, "problems": list(problems[:20])})
    appeals = scoped(
        Assessment.objects.filter(cycle=cycle, appeals__outcome=AppealOutcome.PENDING),
        user,
        path_field="org__path",
    ).select_related("org")
    if appeals.exists():
        items.append({"label": "待处理申诉", "count": appeals.count(), "rows": list(appeals[:20])})
    orgs_with_report = set(DutyReport.objects.filter(cycle=cycle).values_list("org_id", flat=True))
    missing = [r for r in rows if r.org_id not in orgs_with_report]
    if (
        cycle.secretary_template_id
        and missing
        and cycle.phase in (CyclePhase.SELF_ASSESSMENT, CyclePhase.REVIEW)
    ):
        items.append({"label": "书记未提交述职报告", "count": len(missing), "rows": missing[:20]})
    return items


def commitments_visible_to(user, cycle: Cycle) -> QuerySet:
    """The cycle's 公开承诺 / 领办项目 / 工作联系点 of the orgs the user sees."""
    return scoped(
        cycle.commitments.select_related("org").prefetch_related("updates"),
        user,
        path_field="org__path",
    ).order_by("org__path", "kind", "id")


def commitment_for(user, pk, *, cycle: Cycle | None = None) -> Commitment:
    """404 outside the subtree (or outside `cycle` when given); 403 for a member who sees the
    branch but may not read it."""
    qs = Commitment.objects.select_related("org", "cycle")
    if cycle is not None:
        qs = qs.filter(cycle=cycle)
    commitment = _get(qs, pk)
    require_view(user, commitment.org)
    return commitment


def problems_visible_to(user, cycle: Cycle) -> QuerySet:
    return scoped(
        cycle.problems.select_related("org").prefetch_related("progress"),
        user,
        path_field="org__path",
    )


def stars_visible_to(user, cycle: Cycle) -> list[StarRating]:
    """The cycle's star ratings in the user's subtree, with their StarChange history: after
    publication for everyone who sees the org, before it only for the superior."""
    rows = scoped(
        StarRating.objects.filter(cycle=cycle)
        .select_related("org")
        .prefetch_related("changes")
        .order_by("rank", "org__path"),
        user,
        path_field="org__path",
    )
    return [r for r in rows if results_public(user, cycle, r.org)]


def duty_reports_visible_to(user, cycle: Cycle) -> QuerySet:
    return scoped(
        cycle.duty_reports.select_related("org", "secretary"), user, path_field="org__path"
    )


def duty_report_for(user, pk) -> DutyReport:
    """Readable by those who see the org, and by the cycle's evaluators."""
    try:
        report = DutyReport.objects.select_related("org", "cycle", "cycle__org", "secretary").get(
            pk=int(pk)
        )
    except (DutyReport.DoesNotExist, TypeError, ValueError):
        raise Http404("未找到。") from None
    if evaluator_for(user, report.cycle) is not None:
        return report
    require_view(user, report.org)
    return report


def reports_to_vote(user) -> list[DutyReport]:
    """The duty reports the user may vote on now: cycles where they are an evaluator and
    述职评议 is open, except their own report; each marked `voted`."""
    if not getattr(user, "is_authenticated", False):
        return []
    evaluators = list(
        Evaluator.objects.filter(user=user, cycle__phase__in=VOTING_PHASES).select_related("cycle")
    )
    out = []
    for ev in evaluators:
        voted = set(ev.votes.values_list("report_id", flat=True))
        for report in (
            ev.cycle.duty_reports.select_related("org", "cycle")
            .exclude(secretary=user)
            .order_by("org__path")
        ):
            report.voted = report.pk in voted
            out.append(report)
    return out


def evaluator_candidates(cycle: Cycle) -> QuerySet:
    """Who may be chosen as an evaluator of `cycle`: active users holding a role grant at a
    (not abolished) node inside the cycle org's subtree."""
    from apps.accounts.models import User

    return User.objects.filter(
        is_active=True,
        grants__org__path__startswith=cycle.org.path,
        grants__org__abolished_on__isnull=True,
    ).distinct()


def evaluator_user_for(cycle: Cycle, *, pk=None, username: str = "", field: str = "user"):
    """The user named by id or username if they may evaluate in `cycle`; a user outside the
    cycle's subtree gets the same field error as one that does not exist."""
    qs = evaluator_candidates(cycle)
    try:
        if pk not in (None, ""):
            return qs.get(pk=int(pk))
        if (username or "").strip():
            return qs.get(username=username.strip())
    except (qs.model.DoesNotExist, TypeError, ValueError):
        pass
    from django.core.exceptions import ValidationError

    raise ValidationError({field: ["未找到该用户。"]})


def templates_visible_to(user) -> QuerySet:
    """The shipped defaults (read-only, for everyone) and the copies owned by an org in the
    user's subtree or above it (the templates a cycle over the user's branch may use)."""
    qs = Template.objects.select_related("org")
    scope = scope_of(user)
    if scope.unrestricted:
        return qs
    q = (
        Q(is_default=True)
        | path_q(user, "view", "org__path")
        | path_q(user, "admin_rules", "org__path")
        | Q(org__path__in=_ancestor_prefixes(user))
    )
    return qs.filter(q)


def template_for(user, pk) -> Template:
    """A template the user may see; a copy owned outside the user's subtree is a 404."""
    return _get(templates_visible_to(user), pk)


def template_visible(user, template: Template) -> bool:
    return templates_visible_to(user).filter(pk=template.pk).exists()


def template_owner_default(user) -> Org | None:
    """Where a copy made by `user` belongs when no org is named: the top of the user's
    `superior` (else `admin_rules`) scope."""
    scope = scope_of(user)
    if scope.unrestricted:
        return Org.objects.filter(depth=1).order_by("path").first()
    prefixes = scope.paths.get("superior") or scope.paths.get("admin_rules") or ()
    return (
        Org.objects.filter(path__in=list(prefixes)).order_by("path").first() if prefixes else None
    )


def weak_orgs_visible_to(user) -> QuerySet:
    return scoped(WeakOrg.objects.select_related("org"), user, path_field="org__path")


def _get(qs, pk):
    try:
        return qs.get(pk=int(pk))
    except (qs.model.DoesNotExist, TypeError, ValueError):
        raise Http404("未找到。") from None


def weak_org_for(user, pk) -> WeakOrg:
    """404 outside the subtree; 403 for a member who sees the branch but may not read it."""
    weak = _get(WeakOrg.objects.select_related("org"), pk)
    require_view(user, weak.org)
    return weak


def problem_for(user, pk) -> Problem:
    problem = _get(Problem.objects.select_related("org", "cycle"), pk)
    require_view(user, problem.org)
    return problem


def default_root(user):
    """The top of the user's `superior` (else `view`) scope: where screening lists start."""
    scope = scope_of(user)
    if scope.unrestricted:
        return Org.objects.filter(depth=1).order_by("path").first()
    prefixes = scope.paths.get("superior") or scope.paths.get("view") or ()
    return (
        Org.objects.filter(path__in=list(prefixes)).order_by("path").first() if prefixes else None
    )


# --- 软弱涣散 screening ---------------------------------------------------------------------


@dataclass
class Candidate:
    org: Org
    reasons: list[str]
    details: list[dict]
    designated: bool = False


def weak_org_candidates(user, root: Org, *, cutoff: dt.date | None = None) -> list[Candidate]:
    """Branches in `root`'s subtree (and the user's scope) that meet a 软弱涣散 screening rule,
    from data as of `cutoff`; a fixed number of queries whatever the subtree size."""
    branches = list(
        scoped(Org.objects.subtree_of(root).active().branches(), user, path_field="path")
    )
    return weak_screen(branches, cutoff=cutoff or local_today())


def weak_candidates_stored(user, root: Org) -> tuple[list[Candidate], dt.date | None]:
    """The nightly screening's candidates in `root`'s subtree that the user can see, and the
    day they were screened (None when the subtree has not been screened yet)."""
    from apps.assessments.models import WeakCandidate

    rows = list(
        scoped(
            WeakCandidate.objects.filter(org__path__startswith=root.path).select_related("org"),
            user,
            path_field="org__path",
        ).order_by("org__path")
    )
    designated = set(
        WeakOrg.objects.filter(
            org_id__in=[r.org_id for r in rows], year=local_today().year
        ).values_list("org_id", flat=True)
    )
    out = [
        Candidate(r.org, list(r.reasons), list(r.details), designated=r.org_id in designated)
        for r in rows
    ]
    out.sort(key=lambda c: (-len(c.reasons), c.org.path))
    return out, min((r.screened_on for r in rows), default=None)


def weak_screen(branches: list[Org], *, cutoff: dt.date) -> list[Candidate]:
    """The 软弱涣散 screening rules over `branches` (already scoped by the caller) as of `cutoff`."""
    from apps.assessments.models import Assessment as A

    if not branches:
        return []
    year_ref = type("Y", (), {"year": cutoff.year, "pk": None})()
    found: dict[int, Candidate] = {b.pk: Candidate(b, [], []) for b in branches}

    vacant_limit = int(rule_value("assessments.weak.secretary_vacant_months"))
    vacancy = get_source("org.secretary_vacant_months")
    for org_id, res in vacancy.run(branches, year_ref, cutoff).items():
        # the source measures the longest gap overlapping the year; the screening wants the
        # gap still open at the cut-off
        open_rows = [d for d in res.details if d.get("open")]
        open_months = max((d["months"] for d in open_rows), default=0)
        if open_months > vacant_limit:
            found[org_id].reasons.append(f"书记空缺超过{vacant_limit}个月（已{open_months}个月）")
            found[org_id].details += open_rows

    overdue_limit = int(rule_value("assessments.weak.term_overdue_months"))
    from apps.organizations.models import Term

    for term in Term.objects.filter(org_id__in=list(found)).exclude(state="closed"):
        months = term_overdue_months(term, cutoff)
        if months >= 0 and months >= overdue_limit:
            found[term.org_id].reasons.append(f"未按期换届（逾期{months}个月）")

    years = int(rule_value("assessments.weak.no_development_years"))
    developed = get_source("members.developed_recent").run(branches, year_ref, cutoff)
    for b in branches:
        old_enough = b.founded_on is None or b.founded_on <= add_years(cutoff, -years)
        if old_enough and developed[b.pk].value == 0:
            found[b.pk].reasons.append(f"连续{years}年未发展党员")

    low = Decimal(str(rule_value("assessments.weak.low_score")))
    latest_public = (
        A.objects.filter(
            org_id__in=list(found),
            kind=TemplateKind.BRANCH,
            cycle__phase__in=PUBLIC_PHASES,
            final_score__isnull=False,
        )
        .order_by("org_id", "-cycle__year")
        .distinct("org_id")
    )
    for a in latest_public:
        if a.final_score < low:
            found[a.org_id].reasons.append(
                f"{a.cycle.year}年度考核得分{a.final_score}，低于{low}分"
            )

    quarters_limit = int(rule_value("assessments.weak.overdue_quarters"))
    sanhui = get_source("meetings.sanhui_overdue_quarters").run(branches, year_ref, cutoff)
    for org_id, res in sanhui.items():
        if res.value is not None and res.value >= quarters_limit:
            labels = "、".join(d["label"] for d in res.details)
            found[org_id].reasons.append(f"“三会一课”整季度未开展（{labels}）")
            found[org_id].details += res.details

    returned_limit = int(rule_value("assessments.weak.returned_records"))
    returned = get_source("meetings.returned_records").run(branches, year_ref, cutoff)
    for org_id, res in returned.items():
        if res.value is not None and res.value >= returned_limit:
            found[org_id].reasons.append(
                f"{cutoff.year}年会议记录被上级退回{int(res.value)}份（达到{returned_limit}份）"
            )
            found[org_id].details += res.details

    designated = set(
        WeakOrg.objects.filter(org_id__in=list(found), year=cutoff.year).values_list(
            "org_id", flat=True
        )
    )
    out = [c for c in found.values() if c.reasons]
    for c in out:
        c.designated = c.org.pk in designated
    out.sort(key=lambda c: (-len(c.reasons), c.org.path))
    return out


def weak_summary(user) -> dict:
    qs = weak_orgs_visible_to(user)
    return {
        "rectifying": qs.filter(state=WeakOrgState.RECTIFYING).count(),
        "closed": qs.filter(state=WeakOrgState.CLOSED).count(),
    }
