"""Assessment writes (STYLE.md #1): keyword-only, each in one transaction, each audited.

Permissions are checked here through the scoping door, so the HTML views and the API share them:
- templates: a user with `superior` or `admin_rules` somewhere may copy and edit (not the defaults)
- cycles, review, stars, weak orgs, evaluators, problems: `superior` over the cycle's org / the org
- self-assessment, evidence, commitments, duty reports, appeals, rectification progress:
  `branch_write` over the assessed org
- votes: only an evaluator chosen for the cycle, once per report (DB unique constraint)
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.http import Http404
from django.utils import timezone

from apps.accounts.scope import can, can_see, require, scope_of
from apps.assessments import scoring
from apps.assessments.models import (
    PHASE_ORDER,
    VOTING_PHASES,
    Appeal,
    AppealOutcome,
    Assessment,
    AssessmentState,
    Commitment,
    CommitmentKind,
    CommitmentStatus,
    CommitmentUpdate,
    Computation,
    ComputedItem,
    Cycle,
    CyclePhase,
    CyclePhaseChange,
    CycleTask,
    DutyReport,
    Evaluator,
    EvaluatorGroup,
    Evidence,
    Grade,
    Indicator,
    Method,
    Problem,
    ProblemOrigin,
    ProblemProgress,
    ProblemState,
    RuleKind,
    Score,
    StarChange,
    StarRating,
    Template,
    TemplateKind,
    Vote,
    WeakOrg,
    WeakOrgProgress,
    WeakOrgState,
)
from apps.assessments.rules import grade_for, stars_for
from apps.assessments.sources import get_source
from apps.core.audit import audit_log, diff
from apps.core.errors import check_lengths
from apps.core.models import AuditAction
from apps.core.periods import local_today
from apps.core.rules import rule_value
from apps.organizations.models import Org

# --- helpers ------------------------------------------------------------------------------

# Evidence and rectification files: images, PDF, Word/Excel/PowerPoint (OOXML), checked by
# extension AND content (the first bytes), at most EVIDENCE_MAX_MB.
EVIDENCE_TYPES = {
    ".jpg": b"\xff\xd8\xff",
    ".jpeg": b"\xff\xd8\xff",
    ".png": b"\x89PNG\r\n\x1a\n",
    ".pdf": b"%PDF-",
    ".docx": b"PK\x03\x04",
    ".xlsx": b"PK\x03\x04",
    ".pptx": b"PK\x03\x04",
}
EVIDENCE_MAX_MB = 10


def check_upload(file, field: str = "file") -> str:
    """Refuse a missing, empty, too large or unexpected file with a Chinese message; rename it
    to a safe stored name (time + extension). Returns the extension."""
    if file is None:
        raise ValidationError({field: ["请选择文件。"]})
    name = getattr(file, "name", "") or ""
    ext = ("." + name.rsplit(".", 1)[-1].lower()) if "." in name else ""
    magic = EVIDENCE_TYPES.get(ext)
    if magic is None:
        raise ValidationError(
            {
                field: [
                    "只能上传 JPG、PNG 图片，PDF，或 Word、Excel、PowerPoint（docx/xlsx/pptx）文件。"
                ]
            }
        )
    size = getattr(file, "size", 0) or 0
    if size == 0:
        raise ValidationError({field: ["文件为空。"]})
    if size > EVIDENCE_MAX_MB * 1024 * 1024:
        raise ValidationError(
            {field: [f"文件大小为{size / 1024 / 1024:.1f}MB，不能超过{EVIDENCE_MAX_MB}MB。"]}
        )
    head = file.read(len(magic))
    file.seek(0)
    if head != magic:
        raise ValidationError({field: [f"文件内容与扩展名“{ext}”不符，请上传原始文件。"]})
    file.name = f"{timezone.now():%Y%m%d%H%M%S}{ext}"
    return ext


def _dec(
    value: Any, field: str, *, minimum: Decimal | None = None, maximum: Decimal | None = None
) -> Decimal:
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError, TypeError):
        raise ValidationError({field: ["请输入数字。"]}) from None
    if not number.is_finite():
        raise ValidationError({field: ["请输入数字。"]})
    if minimum is not None and number < minimum:
        raise ValidationError({field: [f"不能小于 {minimum}。"]})
    if maximum is not None and number > maximum:
        raise ValidationError({field: [f"不能大于 {maximum}。"]})
    return scoring.q2(number)


YEAR_MIN, YEAR_MAX = 2000, 2100


def parse_year(value: Any, field: str = "year") -> int:
    """A year typed by a person: a whole number within YEAR_MIN–YEAR_MAX (Chinese messages)."""
    try:
        year = int(str(value).strip())
    except (TypeError, ValueError):
        raise ValidationError({field: ["年度应为四位数字，如2026。"]}) from None
    if not YEAR_MIN <= year <= YEAR_MAX:
        raise ValidationError({field: [f"年度应在{YEAR_MIN}–{YEAR_MAX}年之间。"]})
    return year


def _require_template_admin(actor, template: Template | None = None, org: Org | None = None):
    """May `actor` maintain templates (owned by `org`, or `template`'s owner)? A template the
    actor cannot see is a 404; a copy owned outside the actor's superior / rules scope a 403."""
    from apps.assessments.selectors import template_visible

    if template is not None and not template_visible(actor, template):
        raise Http404("未找到。")
    scope = scope_of(actor)
    if not (scope.has("superior") or scope.has("admin_rules")):
        raise PermissionDenied("只有上级党组织或规则管理员可以维护考核模板。")
    owner = org if org is not None else (template.org if template is not None else None)
    if owner is not None and not (
        can(actor, "superior", owner) or can(actor, "admin_rules", owner)
    ):
        if not can_see(actor, owner):
            raise Http404("未找到。")
        raise PermissionDenied("只有模板所属党组织的上级或规则管理员可以维护该模板。")


def _require_superior(actor, cycle: Cycle) -> None:
    require(actor, "superior", cycle.org)


def _require_in_cycle(cycle: Cycle, org: Org) -> None:
    if not org.path.startswith(cycle.org.path):
        raise ValidationError({"org": ["该党组织不在本考核周期范围内。"]})


def _stored_phase(cycle: Cycle) -> str:
    """The phase as stored now (a caller's Cycle object may be stale)."""
    return Cycle.objects.filter(pk=cycle.pk).values_list("phase", flat=True).first() or cycle.phase


def _phase_at_least(cycle: Cycle, phase: str) -> bool:
    return PHASE_ORDER.index(_stored_phase(cycle)) >= PHASE_ORDER.index(phase)


def _require_phase(cycle: Cycle, *phases: str, message: str) -> None:
    if _stored_phase(cycle) not in phases:
        raise ValidationError(message)


# --- templates ----------------------------------------------------------------------------


@transaction.atomic
def template_copy(
    *,
    actor,
    template: Template,
    name: str,
    year: int | None = None,
    category: str = "",
    org: Org | None = None,
) -> Template:
    """Copy a template; the copy belongs to `org` (default: the top of the actor's superior
    scope) and only that org's superiors (and rules administrators over it) may edit it."""
    from apps.assessments.selectors import template_owner_default

    _require_template_admin(actor, template)
    owner = org or template_owner_default(actor)
    if owner is None:
        raise ValidationError({"org": ["请选择模板所属党组织。"]})
    _require_template_admin(actor, org=owner)
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": ["请填写模板名称。"]})
    if year is not None:
        year = parse_year(year)
    check_lengths(Template, name=name, category=category)
    copy = Template.objects.create(
        org=owner,
        name=name,
        kind=template.kind,
        category=category or template.category,
        year=year or template.year,
        copied_from=template,
        bonus_cap=template.bonus_cap,
        created_by=actor,
    )
    mapping: dict[int, Indicator] = {}
    # parents before children
    pending = list(template.indicators.all())
    while pending:
        rest = []
        for ind in pending:
            if ind.parent_id is not None and ind.parent_id not in mapping:
                rest.append(ind)
                continue
            old_pk = ind.pk
            ind.pk = None
            ind.template = copy
            ind.parent = mapping.get(ind.parent_id) if ind.parent_id else None
            ind.save()
            mapping[old_pk] = ind
        pending = rest
    audit_log(
        actor=actor,
        action=AuditAction.CREATE,
        obj=copy,
        org=owner,
        verb="template_copy",
        changes={"copied_from": [None, template.pk], "name": [None, name], "org": [None, owner.pk]},
    )
    return copy


INDICATOR_FIELDS = [
    "code",
    "name",
    "method",
    "max_points",
    "params",
    "evidence_required",
    "description",
    "rule",
    "source",
    "order",
]
PARAM_LABELS = {
    "per": "每次扣（加）分",
    "floor": "最低分",
    "threshold": "阈值",
    "deduct": "扣分",
    "target": "目标值",
}
RULE_PARAMS = {
    "per_unit": ("per", "floor"),
    "threshold": ("threshold", "deduct"),
    "ratio": ("target",),
    "boolean": ("target",),
    "per_unit_bonus": ("per",),
}


def _require_editable(template: Template) -> None:
    if template.is_default:
        raise ValidationError("系统默认模板不能直接修改，请先复制。")
    used = (
        Cycle.objects.filter(Q(branch_template=template) | Q(secretary_template=template))
        .values_list("name", flat=True)
        .first()
    )
    if used:
        raise ValidationError(f"该模板已用于考核周期“{used}”，不能再修改；请复制后修改副本。")


def _clean_indicator(ind: Indicator) -> None:
    """Check one indicator on its own (the weights of the tree: `template_problems`)."""
    errors: dict[str, list[str]] = {}
    ind.code = (ind.code or "").strip()
    ind.name = (ind.name or "").strip()
    if not ind.code:
        errors["code"] = ["请填写指标编码。"]
    elif len(ind.code) > 40:
        errors["code"] = ["编码不能超过40个字符。"]
    elif (
        Indicator.objects.filter(template_id=ind.template_id, code=ind.code)
        .exclude(pk=ind.pk)
        .exists()
    ):
        errors["code"] = [f"编码“{ind.code}”在本模板中已存在。"]
    if not ind.name:
        errors["name"] = ["请填写指标名称。"]
    if ind.method not in Method.values:
        errors["method"] = ["请选择评分方式。"]
    if ind.method == Method.VETO:
        ind.max_points = Decimal(0)
    elif ind.method != Method.GROUP and ind.max_points <= 0:
        errors["max_points"] = ["分值应大于0。"]
    if ind.method == Method.GROUP:
        ind.source, ind.rule, ind.params = "", "", {}
    if ind.source and get_source(ind.source) is None:
        errors["source"] = ["未知的数据来源。"]
    if ind.method == Method.AUTO and not ind.source:
        errors["source"] = ["系统自动评分指标须选择数据来源。"]
    if ind.method in (Method.AUTO, Method.BONUS) and ind.source and not ind.rule:
        errors["rule"] = ["绑定数据来源的指标须选择计分规则。"]
    if ind.rule and ind.rule not in RuleKind.values:
        errors["rule"] = ["未知的计分规则。"]
    if ind.method == Method.VETO:
        ind.rule = ""
    if not isinstance(ind.params, dict):
        errors["params"] = ["规则参数应为 JSON 对象。"]
    else:
        needed = set(RULE_PARAMS.get(ind.rule, ()))
        if ind.method == Method.VETO and ind.source:
            needed = {"threshold"}
        for key in sorted(needed | (set(ind.params) & set(PARAM_LABELS))):
            value = ind.params.get(key, "")
            if key in needed and value in ("", None):
                if key in ("floor",):
                    continue
                errors[key] = [f"请填写“{PARAM_LABELS[key]}”。"]
                continue
            if value in ("", None):
                continue
            try:
                number = Decimal(str(value).strip())
                if not number.is_finite():
                    raise InvalidOperation
            except (InvalidOperation, ValueError):
                errors[key] = [f"“{PARAM_LABELS[key]}”应为数字。"]
                continue
            if number < 0:
                errors[key] = [f"“{PARAM_LABELS[key]}”不能为负数。"]
            elif key in ("per", "target") and number == 0:
                errors[key] = [f"“{PARAM_LABELS[key]}”应大于0。"]
            else:
                ind.params[key] = str(number)
    if ind.parent_id is not None:
        parent = ind.parent
        if parent.template_id != ind.template_id or parent.method != Method.GROUP:
            errors["parent"] = ["上级指标须为本模板中的“分类”指标。"]
    if errors:
        raise ValidationError(errors)


def _all_bonus(ind: Indicator, children: dict) -> bool:
    if ind.method == Method.BONUS:
        return True
    kids = children.get(ind.pk, [])
    return ind.method == Method.GROUP and bool(kids) and all(_all_bonus(k, children) for k in kids)


def template_problems(template: Template) -> list[str]:
    """Why the template's weights do not add up (empty when they do), in Chinese:
    every scoring group's items add up to the group's points, and the first-level items other
    than bonus and veto items add up to 100."""
    indicators = list(Indicator.objects.filter(template=template).order_by("order", "id"))
    children: dict[int | None, list[Indicator]] = {}
    for ind in indicators:
        children.setdefault(ind.parent_id, []).append(ind)
    out = []
    for ind in indicators:
        if ind.method != Method.GROUP:
            continue
        kids = children.get(ind.pk, [])
        if not kids:
            out.append(f"“{ind.code} {ind.name}”是分类，但还没有下级指标。")
            continue
        if _all_bonus(ind, children):
            continue  # a bonus section: its items may exceed it (the cap applies)
        total = sum(
            (k.max_points for k in kids if k.method not in (Method.VETO, Method.BONUS)), Decimal(0)
        )
        if total != ind.max_points:
            out.append(
                f"“{ind.code} {ind.name}”的下级指标合计{scoring.q2(total)}分，应等于该项分值{ind.max_points}分。"
            )
    base = sum(
        (
            ind.max_points
            for ind in children.get(None, [])
            if ind.method != Method.VETO and not _all_bonus(ind, children)
        ),
        Decimal(0),
    )
    if base != 100:
        out.append(f"一级指标（不含加分项和否决项）合计{scoring.q2(base)}分，应为100分。")
    return out


def _template_audit(actor, template: Template, verb: str, changes: dict) -> None:
    audit_log(actor=actor, action=AuditAction.UPDATE, obj=template, verb=verb, changes=changes)


@transaction.atomic
def indicator_update(*, actor, indicator: Indicator, **fields) -> Indicator:
    """Edit an indicator of a copied template not yet used by a cycle (the shipped defaults
    stay as shipped; a template in use keeps the indicators its scores rest on)."""
    indicator = (
        Indicator.objects.select_for_update().select_related("template").get(pk=indicator.pk)
    )
    _require_template_admin(actor, indicator.template)
    _require_editable(indicator.template)
    before = {f: getattr(indicator, f) for f in INDICATOR_FIELDS}
    for key, value in fields.items():
        if key not in INDICATOR_FIELDS or value is None:
            continue
        if key == "max_points":
            value = _dec(value, "max_points", minimum=Decimal(0), maximum=Decimal(1000))
        if key == "order":
            value = int(_dec(value, "order", minimum=Decimal(0), maximum=Decimal(999)))
        if key == "params" and isinstance(value, dict):
            value = dict(value)
        setattr(indicator, key, value)
    if indicator.method != before["method"] and Method.GROUP in (
        before["method"],
        indicator.method,
    ):
        raise ValidationError({"method": ["分类与评分指标之间不能互相转换，请删除后重新添加。"]})
    _clean_indicator(indicator)
    indicator.save()
    audit_log(
        actor=actor,
        action=AuditAction.UPDATE,
        obj=indicator,
        verb="indicator_update",
        changes=diff(before, {f: getattr(indicator, f) for f in INDICATOR_FIELDS}),
    )
    return indicator


@transaction.atomic
def indicator_add(
    *,
    actor,
    template: Template,
    parent: Indicator | None = None,
    code: str,
    name: str,
    method: str,
    max_points: Any = 0,
    source: str = "",
    rule: str = "",
    params: dict | None = None,
    evidence_required: bool = False,
    description: str = "",
) -> Indicator:
    template = Template.objects.select_for_update().get(pk=template.pk)
    _require_template_admin(actor, template)
    _require_editable(template)
    siblings = Indicator.objects.filter(template=template, parent=parent)
    ind = Indicator(
        template=template,
        parent=parent,
        code=code,
        name=name,
        method=method,
        max_points=_dec(max_points or 0, "max_points", minimum=Decimal(0), maximum=Decimal(1000)),
        source=source or "",
        rule=rule or "",
        params=dict(params or {}),
        evidence_required=bool(evidence_required),
        description=description or "",
        order=(max((i.order for i in siblings), default=0) + 1),
    )
    _clean_indicator(ind)
    ind.save()
    audit_log(
        actor=actor,
        action=AuditAction.CREATE,
        obj=ind,
        verb="indicator_add",
        changes={"code": [None, ind.code], "max_points": [None, ind.max_points]},
    )
    return ind


@transaction.atomic
def indicator_delete(*, actor, indicator: Indicator) -> None:
    """Remove an indicator (and, for a group, everything under it) from a copied template."""
    indicator = Indicator.objects.select_related("template").get(pk=indicator.pk)
    _require_template_admin(actor, indicator.template)
    _require_editable(indicator.template)
    removed = [indicator.code]
    pending = [indicator.pk]
    while pending:
        kids = list(Indicator.objects.filter(parent_id__in=pending).values_list("pk", "code"))
        removed += [c for _, c in kids]
        pending = [pk for pk, _ in kids]
    audit_log(
        actor=actor,
        action=AuditAction.DELETE,
        obj=indicator,
        verb="indicator_delete",
        changes={"codes": [removed, None]},
    )
    indicator.delete()


@transaction.atomic
def template_update(*, actor, template: Template, name: str, bonus_cap: Any) -> Template:
    template = Template.objects.select_for_update().get(pk=template.pk)
    _require_template_admin(actor, template)
    _require_editable(template)
    before = {"name": template.name, "bonus_cap": template.bonus_cap}
    if not (name or "").strip():
        raise ValidationError({"name": ["请填写模板名称。"]})
    template.name = name.strip()[:120]
    template.bonus_cap = _dec(bonus_cap, "bonus_cap", minimum=Decimal(0), maximum=Decimal(100))
    template.save(update_fields=["name", "bonus_cap", "updated_at"])
    _template_audit(
        actor,
        template,
        "template_update",
        diff(before, {"name": template.name, "bonus_cap": template.bonus_cap}),
    )
    return template


# --- cycles -------------------------------------------------------------------------------


@transaction.atomic
def cycle_open(
    *,
    actor,
    org: Org,
    year: int,
    name: str = "",
    branch_template: Template | None = None,
    secretary_template: Template | None = None,
    note: str = "",
) -> Cycle:
    """年初部署: open a cycle for `org`'s subtree; one scorecard per active branch."""
    require(actor, "superior", org)
    if org.is_branch or org.is_party_group:
        raise ValidationError({"org": ["考核周期须由上级党组织（党委、党总支）发起。"]})
    year = parse_year(year)
    branch_template = (
        branch_template
        or Template.objects.filter(is_default=True, kind=TemplateKind.BRANCH).first()
    )
    from apps.assessments.selectors import template_visible

    for field, chosen in (
        ("branch_template", branch_template),
        ("secretary_template", secretary_template),
    ):
        if chosen is not None and not template_visible(actor, chosen):
            raise ValidationError({field: ["未找到该模板。"]})
    if branch_template is None or branch_template.kind != TemplateKind.BRANCH:
        raise ValidationError({"branch_template": ["请选择党组织考核模板。"]})
    if secretary_template is not None and secretary_template.kind != TemplateKind.SECRETARY:
        raise ValidationError({"secretary_template": ["请选择书记述职考核模板。"]})
    for field, chosen in (
        ("branch_template", branch_template),
        ("secretary_template", secretary_template),
    ):
        problems = template_problems(chosen) if chosen is not None else []
        if problems:
            raise ValidationError({field: [f"模板“{chosen.name}”的分值不一致：{problems[0]}"]})
    with connection.cursor() as cursor:  # two overlapping opens wait for each other
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"assessments.cycle:{year}"])
    ancestors = [org.path[: i * Org.steplen] for i in range(1, len(org.path) // Org.steplen)]
    clash = (
        Cycle.objects.filter(year=year)
        .filter(Q(org__path__in=ancestors) | Q(org__path__startswith=org.path))
        .select_related("org")
        .order_by("org__path")
        .first()
    )
    if clash is not None and clash.org_id == org.pk:
        raise ValidationError({"year": [f"{org.name}{year}年度的考核周期已存在。"]})
    if clash is not None:
        where = "上级" if org.path.startswith(clash.org.path) else "下级"
        raise ValidationError(
            {
                "year": [
                    f"{where}党组织“{clash.org.name}”已发起{year}年度考核周期“{clash.name}”，"
                    "考核范围重叠，不能再发起。"
                ]
            }
        )
    branches = list(Org.objects.subtree_of(org).active().branches())
    if not branches:
        raise ValidationError({"org": ["该党组织下没有可参加考核的党支部。"]})
    cycle = Cycle.objects.create(
        org=org,
        year=year,
        name=name.strip() or f"{year}年度党建工作责任考核",
        branch_template=branch_template,
        secretary_template=secretary_template,
        deployment_note=note,
        opened_by=actor,
    )
    CyclePhaseChange.objects.create(
        cycle=cycle, from_phase="", to_phase=CyclePhase.DEPLOYMENT, by=actor
    )
    rows = [
        Assessment(cycle=cycle, org=b, kind=TemplateKind.BRANCH, template=branch_template)
        for b in branches
    ]
    if secretary_template is not None:
        rows += [
            Assessment(cycle=cycle, org=b, kind=TemplateKind.SECRETARY, template=secretary_template)
            for b in branches
        ]
    Assessment.objects.bulk_create(rows)
    audit_log(
        actor=actor,
        action=AuditAction.CREATE,
        obj=cycle,
        org=org,
        verb="cycle_open",
        changes={"year": [None, year], "branches": [None, len(branches)]},
    )
    return cycle


def default_cutoff(cycle: Cycle) -> dt.date:
    return min(local_today(), dt.date(cycle.year, 12, 31))


@transaction.atomic
def cycle_advance(*, actor, cycle: Cycle, to_phase: str, cutoff: dt.date | None = None) -> Cycle:
    """Move the cycle one phase forward. Entering 年中督查 or 上级考核 computes every automatic
    score as of the cut-off (during 年终自评 the branch or the superior recomputes on demand); publishing needs every branch reviewed and rates stars."""
    original = cycle
    cycle = Cycle.objects.select_for_update().get(pk=cycle.pk)
    _require_superior(actor, cycle)
    if to_phase not in PHASE_ORDER:
        raise ValidationError({"to_phase": ["未知的阶段。"]})
    if PHASE_ORDER.index(to_phase) != cycle.phase_index + 1:
        raise ValidationError(
            {"to_phase": [f"当前阶段为“{cycle.get_phase_display()}”，只能进入下一阶段。"]}
        )
    if to_phase == CyclePhase.CLOSED:
        pending = Appeal.objects.filter(
            assessment__cycle=cycle, outcome=AppealOutcome.PENDING
        ).count()
        if pending:
            raise ValidationError(
                {"to_phase": [f"还有 {pending} 项申诉未处理，处理完毕后方可归档。"]}
            )
    if to_phase == CyclePhase.PUBLISHED:
        missing = cycle.assessments.exclude(state=AssessmentState.REVIEWED).count()
        if missing:
            raise ValidationError(
                {"to_phase": [f"还有 {missing} 份记分卡未完成上级考核，不能公布。"]}
            )
        cycle.published_on = local_today()
    before = cycle.phase
    cycle.phase = to_phase
    cycle.save(update_fields=["phase", "published_on", "updated_at"])
    CyclePhaseChange.objects.create(cycle=cycle, from_phase=before, to_phase=to_phase, by=actor)
    if to_phase in (CyclePhase.MIDTERM, CyclePhase.REVIEW):
        _compute(
            actor=actor,
            assessments=list(cycle.assessments.select_related("org", "template", "cycle")),
            cutoff=cutoff or default_cutoff(cycle),
        )
    if to_phase == CyclePhase.PUBLISHED:
        _stars(actor=actor, cycle=cycle, reason=f"{cycle.name}结果公布，按得分评定")
    original.phase, original.published_on = cycle.phase, cycle.published_on
    audit_log(
        actor=actor,
        action=AuditAction.UPDATE,
        obj=cycle,
        org=cycle.org,
        verb="cycle_advance",
        changes={"phase": [before, to_phase]},
    )
    return cycle


@transaction.atomic
def cycle_task_add(
    *, actor, cycle: Cycle, title: str, description: str = "", due_on: dt.date | None = None
) -> CycleTask:
    _require_superior(actor, cycle)
    if not (title or "").strip():
        raise ValidationError({"title": ["请填写任务内容。"]})
    if due_on and due_on.year != cycle.year:
        raise ValidationError({"due_on": ["完成时限应在考核年度内。"]})
    task = CycleTask.objects.create(
        cycle=cycle, title=title.strip(), description=description, due_on=due_on
    )
    audit_log(
        actor=actor,
        action=AuditAction.CREATE,
        obj=task,
        org=cycle.org,
        verb="cycle_task_add",
        changes={"title": [None, task.title]},
    )
    return task


@transaction.atomic
def commitment_add(*, actor, cycle: Cycle, org: Org, kind: str, content: str) -> Commitment:
    """A secretary's 公开承诺 / 领办项目 / 工作联系点 for the year."""
    require(actor, "branch_write", org)
    _require_in_cycle(cycle, org)
    if kind not in CommitmentKind.values:
        raise ValidationError({"kind": ["请选择承诺类型。"]})
    if not (content or "").strip():
        raise ValidationError({"content": ["请填写承诺内容。"]})
    if _phase_at_least(cycle, CyclePhase.PUBLISHED):
        raise ValidationError("考核结果已公布，不能再新增承诺事项。")
    item = Commitment.objects.create(
        cycle=cycle, org=org, kind=kind, content=content.strip(), created_by=actor
    )
    audit_log(
        actor=actor,
        action=AuditAction.CREATE,
        obj=item,
        org=org,
        verb="commitment_add",
        changes={"kind": [None, kind]},
    )
    return item


@transaction.atomic
def commitment_update(
    *, actor, commitment: Commitment, progress: str, status: str | None = None
) -> Commitment:
    """The committing org's secretary (branch_write) records progress through the year; the
    superior reads it. Each update is kept as a CommitmentUpdate row and audited."""
    require(actor, "branch_write", commitment.org)
    progress = (progress or "").strip()
    if not progress:
        raise ValidationError({"progress": ["请填写进展情况。"]})
    status = status or commitment.status
    if status not in CommitmentStatus.values:
        raise ValidationError({"status": ["请选择推进状态。"]})
    check_lengths(Commitment, progress=progress)
    if _stored_phase(commitment.cycle) == CyclePhase.CLOSED:
        raise ValidationError("考核周期已结束，不能再更新承诺进展。")
    commitment = Commitment.objects.select_for_update().get(pk=commitment.pk)
    before = {"progress": commitment.progress, "status": commitment.status}
    update = CommitmentUpdate.objects.create(
        commitment=commitment, progress=progress, status=status, by=actor
    )
    commitment.progress, commitment.status, commitment.progress_at = progress, status, update.at
    commitment.save(update_fields=["progress", "status", "progress_at", "updated_at"])
    audit_log(
        actor=actor,
        action=AuditAction.UPDATE,
        obj=commitment,
        org=commitment.org,
        verb="commitment_update",
        changes=diff(before, {"progress": progress, "status": status}),
    )
    return commitment


# --- computations -------------------------------------------------------------------------


def _fingerprint(total, vetoed, items) -> tuple:
    """What a computation found, without its dates (explanations and detail rows name the
    cut-off): the total, the veto, and each indicator's value, points and availability."""
    return (
        scoring.q2(total),
        bool(vetoed),
        tuple(
            sorted(
                (
                    i.indicator_id,
                    None if i.value is None else Decimal(i.value).normalize(),
                    None if i.points is None else scoring.q2(i.points),
                    i.available,
                )
                for i in items
            )
        ),
    )


def _latest_computations(assessments: list[Assessment]) -> dict[int, Computation]:
    latest = (
        Computation.objects.filter(assessment__in=assessments)
        .order_by("assessment_id", "-computed_at", "-id")
        .distinct("assessment_id")
        .prefetch_related("items")
    )
    return {c.assessment_id: c for c in latest}


def _compute(
    *, actor, assessments: list[Assessment], cutoff: dt.date, only_changed: bool = False
) -> list[Computation]:
    """Run every source bound to the assessments' templates as of `cutoff`, in batches per
    template and source (a fixed number of queries per source), and store new Computations.
    `only_changed`: store a computation only where it differs from the assessment's latest one
    (the nightly job: running it twice stores nothing the second time)."""
    if not assessments:
        return []
    cycles: dict[int, Cycle] = {}
    for a in assessments:  # one cycle object per cycle: sources share their batch facts on it
        a.cycle = cycles.setdefault(a.cycle_id, a.cycle)
    by_template: dict[int, list[Assessment]] = {}
    for a in assessments:
        by_template.setdefault(a.template_id, []).append(a)
    computations = []
    items: list[ComputedItem] = []
    for template_id, group in by_template.items():
        indicators = list(Indicator.objects.filter(template_id=template_id))
        cycle = group[0].cycle
        orgs = [a.org for a in group]
        results: dict[str, dict[int, Any]] = {}
        for code in {i.source for i in indicators if i.source}:
            src = get_source(code)
            if src is not None:
                results[code] = src.run(orgs, cycle, cutoff)
        for a in group:
            per_indicator = {}
            auto_total = auto_max = Decimal(0)
            vetoed = False
            for ind in indicators:
                if not ind.source or ind.source not in results:
                    continue
                res = results[ind.source][a.org_id]
                points = None
                explanation = res.explanation
                if res.available and res.value is not None:
                    if ind.method == Method.VETO:
                        if scoring.veto_triggered(params=ind.params, value=res.value):
                            vetoed = True
                            explanation = f"触发一票否决：{res.explanation}"
                    elif ind.rule:
                        points, how = scoring.rule_points(
                            rule=ind.rule,
                            max_points=ind.max_points,
                            params=ind.params,
                            value=res.value,
                        )
                        explanation = "；".join(x for x in (res.explanation, how) if x)
                        if ind.method != Method.BONUS:
                            auto_total += points
                            auto_max += ind.max_points
                per_indicator[ind.pk] = ComputedItem(
                    indicator=ind,
                    source=ind.source,
                    available=res.available,
                    value=res.value,
                    points=points,
                    explanation=explanation[:300],
                    details=res.details,
                )
            comp = Computation(
                assessment=a,
                cutoff=cutoff,
                computed_by=actor,
                total=scoring.q2(auto_total),
                auto_max=scoring.q2(auto_max),
                vetoed=vetoed,
            )
            computations.append((comp, list(per_indicator.values())))
    if only_changed:
        latest = _latest_computations(assessments)
        changed, same = [], []
        for comp, rows in computations:
            old = latest.get(comp.assessment.pk)
            if old is not None and _fingerprint(
                old.total, old.vetoed, old.items.all()
            ) == _fingerprint(comp.total, comp.vetoed, rows):
                same.append(old.pk)
            else:
                changed.append((comp, rows))
        computations = changed
        # the latest computation still holds as of this cut-off: say so, store nothing new
        Computation.objects.filter(pk__in=same).update(unchanged_through=cutoff)
    Computation.objects.bulk_create([c for c, _ in computations])
    for comp, rows in computations:
        for row in rows:
            row.computation = comp
            items.append(row)
    ComputedItem.objects.bulk_create(items, batch_size=2000)
    return [c for c, _ in computations]


@transaction.atomic
def cycle_compute(*, actor, cycle: Cycle, cutoff: dt.date | None = None) -> int:
    """Recompute every scorecard of the cycle (new computation rows; old ones are kept)."""
    _require_superior(actor, cycle)
    if _phase_at_least(cycle, CyclePhase.PUBLISHED):
        raise ValidationError("考核结果已公布，不能重新计算。")
    cutoff = _cutoff(cycle, cutoff)
    done = _compute(
        actor=actor,
        assessments=list(cycle.assessments.select_related("org", "template", "cycle")),
        cutoff=cutoff,
    )
    audit_log(
        actor=actor,
        action=AuditAction.UPDATE,
        obj=cycle,
        org=cycle.org,
        verb="cycle_compute",
        changes={"cutoff": [None, cutoff], "assessments": [None, len(done)]},
    )
    return len(done)


# Phases whose automatic scores the nightly job keeps current (not yet published).
SCHEDULED_PHASES = (CyclePhase.MIDTERM, CyclePhase.SELF_ASSESSMENT, CyclePhase.REVIEW)


@transaction.atomic
def cycle_compute_scheduled(*, cycle: Cycle) -> int:
    """The nightly recomputation (beat `assessments-nightly`): every scorecard of an open cycle
    not yet reviewed, as of today (capped at the cycle's year end). A new computation is stored
    only where something changed, so running it twice is harmless; scorecards already reviewed
    keep the computation their final score rests on. Returns the computations stored."""
    cycle = Cycle.objects.select_for_update().select_related("org").get(pk=cycle.pk)
    if cycle.phase not in SCHEDULED_PHASES:
        return 0
    assessments = list(
        cycle.assessments.exclude(state=AssessmentState.REVIEWED).select_related(
            "org", "template", "cycle"
        )
    )
    done = _compute(
        actor=None, assessments=assessments, cutoff=default_cutoff(cycle), only_changed=True
    )
    if done:
        audit_log(
            actor=None,
            action=AuditAction.UPDATE,
            obj=cycle,
            org=cycle.org,
            verb="cycle_compute_scheduled",
            changes={"cutoff": [None, default_cutoff(cycle)], "assessments": [None, len(done)]},
        )
    return len(done)


@transaction.atomic
def assessment_compute(
    *, actor, assessment: Assessment, cutoff: dt.date | None = None
) -> Computation:
    cycle = assessment.cycle
    if not (can(actor, "superior", assessment.org) or can(actor, "branch_write", assessment.org)):
        require(actor, "superior", assessment.org)
    if _phase_at_least(cycle, CyclePhase.PUBLISHED):
        raise ValidationError("考核结果已公布，不能重新计算。")
    cutoff = _cutoff(cycle, cutoff)
    (comp,) = _compute(actor=actor, assessments=[assessment], cutoff=cutoff)
    audit_log(
        actor=actor,
        action=AuditAction.UPDATE,
        obj=assessment,
        org=assessment.org,
        verb="assessment_compute",
        changes={"cutoff": [None, cutoff], "total": [None, comp.total]},
    )
    return comp


def _cutoff(cycle: Cycle, cutoff: dt.date | None) -> dt.date:
    if cutoff is None:
        return default_cutoff(cycle)
    if cutoff.year != cycle.year:
        raise ValidationError({"cutoff": ["数据截止日期应在考核年度内。"]})
    if cutoff > local_today():
        raise ValidationError({"cutoff": ["数据截止日期不能晚于今天。"]})
    return cutoff


def latest_computation(assessment: Assessment) -> Computation | None:
    return assessment.computations.order_by("-computed_at", "-id").first()


def card_for(
    assessment: Assessment,
    *,
    stage: str = "final",
    computation: Computation | None = None,
    indicators: list | None = None,
) -> scoring.Card:
    """The assembled scorecard (used by services, selectors, pages and the API)."""
    if indicators is None:
        indicators = list(Indicator.objects.filter(template_id=assessment.template_id))
    comp = computation or latest_computation(assessment)
    computed = {i.indicator_id: i for i in comp.items.all()} if comp else {}
    scores = {}
    for s in assessment.scores.prefetch_related("evidence"):
        s.evidence_list = list(s.evidence.all())
        scores[s.indicator_id] = s
    card = scoring.build_card(indicators, computed=computed, scores=scores, stage=stage)
    return scoring.apply_bonus_cap(card, assessment.template.bonus_cap)


# --- self-assessment and review -------------------------------------------------------------


def _indicator_of(assessment: Assessment, indicator_id) -> Indicator:
    try:
        return Indicator.objects.get(pk=int(indicator_id), template_id=assessment.template_id)
    except (Indicator.DoesNotExist, TypeError, ValueError):
        raise ValidationError({"indicator": ["指标不属于本记分卡。"]}) from None


@transaction.atomic
def assessment_self_assess(
    *, actor, assessment: Assessment, entries: dict, comment: str = "", submit: bool = False
) -> Assessment:
    """年终自评: the branch scores hand-scored items (and waiting sources) with comments."""
    assessment = (
        Assessment.objects.select_for_update().select_related("cycle", "org").get(pk=assessment.pk)
    )
    require(actor, "branch_write", assessment.org)
    _require_phase(assessment.cycle, CyclePhase.SELF_ASSESSMENT, message="当前不在年终自评阶段。")
    if assessment.state != AssessmentState.OPEN:
        raise ValidationError("自评已提交，不能再修改。")
    changes = {}
    for indicator_id, entry in (entries or {}).items():
        ind = _indicator_of(assessment, indicator_id)
        if ind.method in (Method.GROUP, Method.VETO):
            raise ValidationError({"indicator": [f"“{ind.code}”不需要自评打分。"]})
        points = entry.get("points")
        score, _ = Score.objects.get_or_create(assessment=assessment, indicator=ind)
        before = score.self_points
        if points in (None, ""):
            score.self_points = None
        else:
            score.self_points = _dec(
                points, f"points_{ind.pk}", minimum=Decimal(0), maximum=ind.max_points
            )
        score.self_comment = (entry.get("comment") or "").strip()
        score.save()
        if before != score.self_points:
            changes[ind.code] = [before, score.self_points]
    assessment.self_comment = comment
    card = card_for(assessment, stage="self")
    if submit:
        if card.unscored:
            codes = "、".join(
                line.indicator.code for line in card.lines if line.unscored and not line.is_group
            )
            raise ValidationError(f"以下指标尚未自评：{codes}")
        missing = [
            line.indicator.code
            for line in card.lines
            if line.indicator.evidence_required
            and (line.self_points or 0) > 0
            and not line.evidence
        ]
        if missing:
            raise ValidationError(f"以下指标需上传佐证材料：{'、'.join(missing)}")
        assessment.state = AssessmentState.SELF_SUBMITTED
    assessment.self_total = card.total
    assessment.save(update_fields=["self_comment", "self_total", "state", "updated_at"])
    audit_log(
        actor=actor,
        action=AuditAction.UPDATE,
        obj=assessment,
        org=assessment.org,
        verb="assessment_self_assess",
        changes=changes | ({"state": ["open", assessment.state]} if submit else {}),
    )
    return assessment


@transaction.atomic
def evidence_add(*, actor, assessment: Assessment, indicator_id, file, note: str = "") -> Evidence:
    require(actor, "branch_write", assessment.org)
    if (
        _phase_at_least(assessment.cycle, CyclePhase.REVIEW)
        or assessment.state != AssessmentState.OPEN
    ):
        raise ValidationError("自评已提交或已进入上级考核，不能再上传佐证材料。")
    ind = _indicator_of(assessment, indicator_id)
    original = (getattr(file, "name", "") or "")[:200]
    check_upload(file)
    score, _ = Score.objects.get_or_create(assessment=assessment, indicator=ind)
    ev = Evidence.objects.create(
        score=score, file=file, note=(note or original)[:200], uploaded_by=actor
    )
    audit_log(
        actor=actor,
        action=AuditAction.CREATE,
        obj=ev,
        org=assessment.org,
        verb="evidence_add",
        changes={"indicator": [None, ind.code]},
    )
    return ev


@transaction.atomic
def assessment_review(
    *,
    actor,
    assessment: Assessment,
    adjustments: dict | None = None,
    vetoes: list | None = None,
    comment: str = "",
) -> Assessment:
    """上级考核: adjust items (each with a reason), mark vetoes, fix the final score and grade."""
    assessment = (
        Assessment.objects.select_for_update()
        .select_related("cycle", "org", "template")
        .get(pk=assessment.pk)
    )
    require(actor, "superior", assessment.org)
    _require_phase(assessment.cycle, CyclePhase.REVIEW, message="当前不在上级考核阶段。")
    changes: dict[str, Any] = {}
    indicators = {i.pk: i for i in Indicator.objects.filter(template_id=assessment.template_id)}
    existing = {s.indicator_id: s for s in Score.objects.filter(assessment=assessment)}
    to_create, to_update = [], []
    for indicator_id, entry in (adjustments or {}).items():
        try:
            ind = indicators[int(indicator_id)]
        except (KeyError, TypeError, ValueError):
            raise ValidationError({"indicator": ["指标不属于本记分卡。"]}) from None
        if ind.method in (Method.GROUP, Method.VETO):
            raise ValidationError({"indicator": [f"“{ind.code}”不能直接打分。"]})
        points = entry.get("points")
        reason = (entry.get("reason") or "").strip()
        score = existing.get(ind.pk)
        if score is None:
            score = Score(assessment=assessment, indicator=ind)
            to_create.append(score)
        else:
            to_update.append(score)
        before = score.review_points
        if points in (None, ""):
            score.review_points = None
            score.review_reason = ""
        else:
            score.review_points = _dec(
                points, f"points_{ind.pk}", minimum=Decimal(0), maximum=ind.max_points
            )
            if not reason:
                raise ValidationError({f"reason_{ind.pk}": [f"调整“{ind.code}”的分数须说明理由。"]})
            score.review_reason = reason
        if before != score.review_points:
            changes[ind.code] = [before, score.review_points]
    try:
        veto_ids = {int(v) for v in (vetoes or [])}
    except (TypeError, ValueError):
        raise ValidationError({"vetoes": ["一票否决项无效。"]}) from None
    for ind in indicators.values():
        if ind.method != Method.VETO:
            continue
        marked = ind.pk in veto_ids
        score = existing.get(ind.pk)
        if score is None and marked:
            score = Score(assessment=assessment, indicator=ind)
            to_create.append(score)
        elif score is not None and score not in to_update:
            to_update.append(score)
        if score is not None:
            if score.vetoed != marked:
                changes[ind.code] = [score.vetoed, marked]
            score.vetoed = marked
    Score.objects.bulk_create(to_create)
    if to_update:
        Score.objects.bulk_update(
            to_update, ["review_points", "review_reason", "vetoed", "updated_at"]
        )
    card = card_for(assessment, stage="final", indicators=list(indicators.values()))
    if card.unscored:
        codes = "、".join(
            line.indicator.code for line in card.lines if line.unscored and not line.is_group
        )
        raise ValidationError(f"以下指标尚无得分，请评定：{codes}")
    before = {
        "final_score": assessment.final_score,
        "grade": assessment.grade,
        "vetoed": assessment.vetoed,
    }
    assessment.final_score = card.total
    assessment.vetoed = card.vetoed
    assessment.grade = Grade.POOR if card.vetoed else grade_for(card.total)
    assessment.review_comment = comment
    assessment.state = AssessmentState.REVIEWED
    assessment.reviewed_by = actor
    assessment.reviewed_at = timezone.now()
    assessment.save()
    changes |= diff(
        before,
        {
            "final_score": assessment.final_score,
            "grade": assessment.grade,
            "vetoed": assessment.vetoed,
        },
    )
    audit_log(
        actor=actor,
        action=AuditAction.UPDATE,
        obj=assessment,
        org=assessment.org,
        verb="assessment_review",
        changes=changes,
    )
    return assessment


# --- appeals ------------------------------------------------------------------------------


@transaction.atomic
def appeal_submit(*, actor, assessment: Assessment, reason: str) -> Appeal:
    require(actor, "branch_write", assessment.org)
    _require_phase(assessment.cycle, CyclePhase.PUBLISHED, message="考核结果公布后方可申诉。")
    if not (reason or "").strip():
        raise ValidationError({"reason": ["请填写申诉理由。"]})
    if assessment.appeals.filter(outcome=AppealOutcome.PENDING).exists():
        raise ValidationError("已有一项申诉正在处理中。")
    appeal = Appeal.objects.create(
        assessment=assessment,
        reason=reason.strip(),
        submitted_by=actor,
        score_before=assessment.final_score,
    )
    audit_log(
        actor=actor, action=AuditAction.CREATE, obj=appeal, org=assessment.org, verb="appeal_submit"
    )
    return appeal


@transaction.atomic
def appeal_decide(
    *, actor, appeal: Appeal, outcome: str, response: str, score_after=None
) -> Appeal:
    appeal = (
        Appeal.objects.select_for_update()
        .select_related("assessment__cycle", "assessment__org")
        .get(pk=appeal.pk)
    )
    assessment = appeal.assessment
    require(actor, "superior", assessment.org)
    if appeal.outcome != AppealOutcome.PENDING:
        raise ValidationError("该申诉已处理。")
    _require_phase(
        assessment.cycle, CyclePhase.PUBLISHED, message="申诉只能在结果公布阶段处理（周期已归档）。"
    )
    if outcome not in (AppealOutcome.UPHELD, AppealOutcome.REJECTED):
        raise ValidationError({"outcome": ["请选择处理结果。"]})
    if not (response or "").strip():
        raise ValidationError({"response": ["请填写答复意见。"]})
    appeal.outcome = outcome
    appeal.response = response.strip()
    appeal.decided_by = actor
    appeal.decided_at = timezone.now()
    if outcome == AppealOutcome.UPHELD:
        if score_after in (None, ""):
            raise ValidationError({"score_after": ["申诉成立时请填写调整后的得分。"]})
        new_score = _dec(score_after, "score_after", minimum=Decimal(0), maximum=Decimal(200))
        appeal.score_after = new_score
        assessment.final_score = new_score
        assessment.grade = Grade.POOR if assessment.vetoed else grade_for(new_score)
        assessment.save(update_fields=["final_score", "grade", "updated_at"])
        if assessment.kind == TemplateKind.BRANCH:
            _stars(
                actor=actor,
                cycle=assessment.cycle,
                reason=f"申诉成立，{assessment.org.name}得分调整为{new_score}",
            )
    else:
        appeal.score_after = appeal.score_before
    appeal.save()
    audit_log(
        actor=actor,
        action=AuditAction.UPDATE,
        obj=appeal,
        org=assessment.org,
        verb="appeal_decide",
        changes={
            "outcome": ["pending", outcome],
            "score": [appeal.score_before, appeal.score_after],
        },
    )
    return appeal


# --- problem lists and rectification --------------------------------------------------------


@transaction.atomic
def problem_raise(
    *,
    actor,
    cycle: Cycle,
    org: Org,
    origin: str,
    description: str,
    measure: str = "",
    due_on: dt.date | None = None,
) -> Problem:
    require(actor, "superior", org)
    _require_in_cycle(cycle, org)
    if origin not in ProblemOrigin.values:
        raise ValidationError({"origin": ["请选择问题来源。"]})
    if not (description or "").strip():
        raise ValidationError({"description": ["请填写问题。"]})
    problem = Problem.objects.create(
        cycle=cycle,
        org=org,
        origin=origin,
        description=description.strip(),
        measure=measure,
        due_on=due_on,
        raised_by=actor,
    )
    audit_log(actor=actor, action=AuditAction.CREATE, obj=problem, org=org, verb="problem_raise")
    return problem


@transaction.atomic
def problem_progress_add(*, actor, problem: Problem, note: str, file=None) -> ProblemProgress:
    if not (can(actor, "branch_write", problem.org) or can(actor, "superior", problem.org)):
        require(actor, "branch_write", problem.org)
    if problem.state == ProblemState.CLOSED:
        raise ValidationError("该问题已销号。")
    if not (note or "").strip():
        raise ValidationError({"note": ["请填写整改进展。"]})
    if file:
        check_upload(file)
    entry = ProblemProgress.objects.create(
        problem=problem, note=note.strip(), file=file or "", by=actor
    )
    if problem.state == ProblemState.OPEN:
        problem.state = ProblemState.RECTIFYING
        problem.save(update_fields=["state", "updated_at"])
    audit_log(
        actor=actor,
        action=AuditAction.CREATE,
        obj=entry,
        org=problem.org,
        verb="problem_progress_add",
    )
    return entry


@transaction.atomic
def problem_close(*, actor, problem: Problem) -> Problem:
    """销号: the superior closes a problem once rectification evidence (a file) is on record."""
    require(actor, "superior", problem.org)
    if problem.state == ProblemState.CLOSED:
        raise ValidationError("该问题已销号。")
    if not problem.progress.exclude(file="").exists():
        raise ValidationError("尚无整改佐证材料，不能销号。")
    problem.state = ProblemState.CLOSED
    problem.closed_at = timezone.now()
    problem.save(update_fields=["state", "closed_at", "updated_at"])
    audit_log(
        actor=actor,
        action=AuditAction.UPDATE,
        obj=problem,
        org=problem.org,
        verb="problem_close",
        changes={"state": ["rectifying", "closed"]},
    )
    return problem


# --- 述职评议 ------------------------------------------------------------------------------


@transaction.atomic
def duty_report_submit(*, actor, cycle: Cycle, org: Org, content: str) -> DutyReport:
    require(actor, "branch_write", org)
    _require_in_cycle(cycle, org)
    if _phase_at_least(cycle, CyclePhase.PUBLISHED):
        raise ValidationError("考核结果已公布，不能再提交述职报告。")
    if not (content or "").strip():
        raise ValidationError({"content": ["请填写述职报告。"]})
    report = DutyReport.objects.filter(cycle=cycle, org=org).first()
    if report is not None:
        if report.votes.exists():
            raise ValidationError("评议已开始，述职报告不能再修改。")
        report.content = content.strip()
        report.secretary = actor
        report.save()
        verb_action = AuditAction.UPDATE
    else:
        report = DutyReport.objects.create(
            cycle=cycle, org=org, secretary=actor, content=content.strip()
        )
        verb_action = AuditAction.CREATE
    audit_log(actor=actor, action=verb_action, obj=report, org=org, verb="duty_report_submit")
    return report


@transaction.atomic
def evaluator_add(*, actor, cycle: Cycle, user, group: str) -> Evaluator:
    _require_superior(actor, cycle)
    if group not in EvaluatorGroup.values:
        raise ValidationError({"group": ["请选择评议人身份。"]})
    from apps.assessments.selectors import evaluator_candidates

    if not evaluator_candidates(cycle).filter(pk=user.pk).exists():
        raise ValidationError({"user": ["未找到该用户。"]})
    if Evaluator.objects.filter(cycle=cycle, user=user).exists():
        raise ValidationError({"user": ["该用户已是本周期的评议人。"]})
    evaluator = Evaluator.objects.create(cycle=cycle, user=user, group=group)
    audit_log(
        actor=actor,
        action=AuditAction.CREATE,
        obj=evaluator,
        org=cycle.org,
        verb="evaluator_add",
        changes={"user": [None, user.pk], "group": [None, group]},
    )
    return evaluator


def duty_aggregate(votes: list[tuple[str, str]]) -> tuple[Decimal | None, str]:
    """(group, choice) votes → (score, grade). Each group's average vote value is weighted by
    the group's weight; groups without votes drop out and the weights are renormalised."""
    values = {k: Decimal(str(v)) for k, v in (rule_value("assessments.vote_values") or {}).items()}
    weights = {
        k: Decimal(str(v)) for k, v in (rule_value("assessments.vote_group_weights") or {}).items()
    }
    by_group: dict[str, list[Decimal]] = {}
    for group, choice in votes:
        by_group.setdefault(group, []).append(values.get(choice, Decimal(0)))
    weighted = total_weight = Decimal(0)
    for group, numbers in by_group.items():
        w = weights.get(group, Decimal(0))
        weighted += w * sum(numbers) / len(numbers)
        total_weight += w
    if total_weight == 0:
        return None, ""
    score = scoring.q2(weighted / total_weight)
    return score, grade_for(score, key="assessments.duty_grade_thresholds")


def evaluator_for(user, cycle: Cycle) -> Evaluator | None:
    if not getattr(user, "is_authenticated", False):
        return None
    return Evaluator.objects.filter(cycle=cycle, user=user).first()


@transaction.atomic
def vote_cast(*, actor, report: DutyReport, choice: str) -> Vote:
    """One vote per evaluator per report; only the evaluators chosen for the cycle vote, never
    on their own report, and only while 述职评议 is open (VOTING_PHASES)."""
    cycle = report.cycle
    evaluator = evaluator_for(actor, cycle)
    if evaluator is None:
        if can_see(actor, report.org):
            raise PermissionDenied("您不是本次述职评议的评议人。")
        raise Http404("未找到。")
    if report.secretary_id is not None and report.secretary_id == actor.pk:
        raise ValidationError("不能评议本人的述职报告。")
    if choice not in Grade.values:
        raise ValidationError({"choice": ["请选择好、较好、一般或差。"]})
    phase = _stored_phase(cycle)
    if phase not in VOTING_PHASES:
        if PHASE_ORDER.index(phase) > PHASE_ORDER.index(CyclePhase.REVIEW):
            raise ValidationError("评议已结束。")
        raise ValidationError(
            f"述职评议在“年终自评”和“上级考核”阶段进行，当前为“{CyclePhase(phase).label}”。"
        )
    if Vote.objects.filter(report=report, evaluator=evaluator).exists():
        raise ValidationError({"choice": ["您已对该述职报告投过票，每人只能投一次。"]})
    try:
        with transaction.atomic():
            vote = Vote.objects.create(report=report, evaluator=evaluator, choice=choice)
    except IntegrityError:
        raise ValidationError({"choice": ["您已对该述职报告投过票，每人只能投一次。"]}) from None
    report = DutyReport.objects.select_for_update().get(pk=report.pk)
    report.score, report.grade = duty_aggregate(
        list(report.votes.values_list("evaluator__group", "choice"))
    )
    report.save(update_fields=["score", "grade", "updated_at"])
    audit_log(
        actor=actor,
        action=AuditAction.CREATE,
        obj=vote,
        object_repr=f"{report} 评议票",
        org=report.org,
        verb="vote_cast",
    )
    return vote


# --- 评星定级 -------------------------------------------------------------------------------


def weak_org_ids(year: int, org_ids: list[int]) -> set[int]:
    return set(
        WeakOrg.objects.filter(year=year, org_id__in=org_ids).values_list("org_id", flat=True)
    )


def star_plan(
    rows: list[dict], *, ratio: Decimal, capped_max: int, fixed: dict[int, int] | None = None
) -> list[dict]:
    """Pure star assignment. rows: {"org_id", "path", "score", "capped": bool} for every rated
    branch. Returns rows with "stars", "by_score", "rank", "limited_by".

    - stars by score thresholds (rule assessments.star_thresholds);
    - vetoed / 软弱涣散 (capped) rows get at most `capped_max` stars and take no five-star place;
    - five stars for at most floor(ratio × n) rows, n = every rated row; the five-star
      candidates are taken by score, highest first; a group of equal scores that would not fit
      entirely is left out entirely (all get four stars), so equal scores are always treated alike
      and the cap is never exceeded;
    - rank: 1 + number of rows with a strictly higher score (equal scores share a rank);
    - `fixed` (org_id → stars): rows changed by hand (动态升降星) keep those stars (the veto /
      软弱涣散 cap still applies) and take their five-star places first.
    """
    fixed = fixed or {}
    n = len(rows)
    max_five = math.floor(Decimal(n) * ratio)
    ordered = sorted(
        rows, key=lambda r: (-(r["score"] if r["score"] is not None else Decimal(-1)), r["path"])
    )
    for r in ordered:
        r["by_score"] = stars_for(r["score"])
        r["manual"] = r["org_id"] in fixed
        r["stars"] = fixed[r["org_id"]] if r["manual"] else r["by_score"]
        r["limited_by"] = ""
        r["rank"] = 1 + sum(1 for o in rows if (o["score"] or 0) > (r["score"] or 0))
        if r["capped"] and r["stars"] > capped_max:
            r["stars"] = capped_max
            r["limited_by"] = r["capped"] if isinstance(r["capped"], str) else "一票否决或软弱涣散"
    five = [r for r in ordered if r["stars"] == 5 and not r["manual"]]
    taken = sum(1 for r in ordered if r["stars"] == 5 and r["manual"])
    i = 0
    while i < len(five):
        j = i
        while j < len(five) and five[j]["score"] == five[i]["score"]:
            j += 1
        group = five[i:j]
        if taken + len(group) <= max_five:
            taken += len(group)
        else:
            for r in five[i:]:
                r["stars"] = 4
                r["limited_by"] = f"五星比例上限（{ratio:.0%}，最多{max_five}个）"
            break
        i = j
    return ordered


def _stars(*, actor, cycle: Cycle, reason: str) -> list[StarRating]:
    assessments = list(
        cycle.assessments.filter(
            kind=TemplateKind.BRANCH, final_score__isnull=False
        ).select_related("org")
    )
    weak = weak_org_ids(cycle.year, [a.org_id for a in assessments])
    rows = []
    for a in assessments:
        capped = "一票否决" if a.vetoed else ("认定为软弱涣散党组织" if a.org_id in weak else "")
        rows.append(
            {"org_id": a.org_id, "path": a.org.path, "score": a.final_score, "capped": capped}
        )
    existing = {r.org_id: r for r in StarRating.objects.filter(cycle=cycle)}
    manual = set(
        StarChange.objects.filter(rating__cycle=cycle, manual=True).values_list(
            "rating__org_id", flat=True
        )
    )
    plan = star_plan(
        rows,
        ratio=Decimal(str(rule_value("assessments.five_star_ratio"))),
        capped_max=int(rule_value("assessments.capped_max_stars")),
        fixed={o: existing[o].stars for o in manual if o in existing},
    )
    out = []
    for row in plan:
        rating = existing.get(row["org_id"])
        before = rating.stars if rating else None
        if rating is None:
            rating = StarRating(cycle=cycle, org_id=row["org_id"])
        rating.score, rating.rank, rating.stars = row["score"], row["rank"], row["stars"]
        rating.by_score, rating.limited_by = row["by_score"], row["limited_by"][:200]
        rating.save()
        if before != rating.stars:
            why = reason + (f"（{row['limited_by']}）" if row["limited_by"] else "")
            StarChange.objects.create(
                rating=rating, from_stars=before, to_stars=rating.stars, reason=why[:300], by=actor
            )
        out.append(rating)
    return out


@transaction.atomic
def stars_compute(*, actor, cycle: Cycle) -> list[StarRating]:
    _require_superior(actor, cycle)
    if not _phase_at_least(cycle, CyclePhase.REVIEW):
        raise ValidationError("上级考核开始后方可评定星级。")
    out = _stars(actor=actor, cycle=cycle, reason="按考核得分评定")
    audit_log(
        actor=actor,
        action=AuditAction.UPDATE,
        obj=cycle,
        org=cycle.org,
        verb="stars_compute",
        changes={"rated": [None, len(out)]},
    )
    return out


@transaction.atomic
def star_change(*, actor, rating: StarRating, stars: int, reason: str) -> StarRating:
    """动态升降星 during the year, with a reason; caps still apply. The change is marked manual:
    later recomputations (stars_compute, an upheld appeal) keep it."""
    rating = StarRating.objects.select_for_update().select_related("cycle", "org").get(pk=rating.pk)
    require(actor, "superior", rating.org)
    try:
        stars = int(stars)
    except (TypeError, ValueError):
        raise ValidationError({"stars": ["星级应为1–5。"]}) from None
    if not 1 <= stars <= 5:
        raise ValidationError({"stars": ["星级应为1–5。"]})
    if not (reason or "").strip():
        raise ValidationError({"reason": ["请填写调整原因。"]})
    if stars == rating.stars:
        raise ValidationError({"stars": ["星级未变化。"]})
    capped_max = int(rule_value("assessments.capped_max_stars"))
    vetoed = Assessment.objects.filter(
        cycle=rating.cycle, org=rating.org, kind=TemplateKind.BRANCH, vetoed=True
    ).exists()
    if stars > capped_max and (
        vetoed or rating.org_id in weak_org_ids(rating.cycle.year, [rating.org_id])
    ):
        raise ValidationError({"stars": [f"一票否决或软弱涣散的党组织最高评{capped_max}星。"]})
    if stars == 5:
        n = StarRating.objects.filter(cycle=rating.cycle).count()
        max_five = math.floor(Decimal(n) * Decimal(str(rule_value("assessments.five_star_ratio"))))
        if (
            StarRating.objects.filter(cycle=rating.cycle, stars=5).exclude(pk=rating.pk).count() + 1
            > max_five
        ):
            raise ValidationError({"stars": [f"五星党组织已达比例上限（最多{max_five}个）。"]})
    StarChange.objects.create(
        rating=rating,
        from_stars=rating.stars,
        to_stars=stars,
        reason=reason.strip(),
        by=actor,
        manual=True,
    )
    audit_log(
        actor=actor,
        action=AuditAction.UPDATE,
        obj=rating,
        org=rating.org,
        verb="star_change",
        changes={"stars": [rating.stars, stars]},
        reason=reason.strip(),
    )
    rating.stars = stars
    rating.save(update_fields=["stars", "updated_at"])
    return rating


# --- 软弱涣散 -------------------------------------------------------------------------------


@transaction.atomic
def weak_org_designate(
    *,
    actor,
    org: Org,
    year: int,
    reasons: list[str],
    note: str = "",
    plan: str = "",
    leader: str = "",
) -> WeakOrg:
    require(actor, "superior", org)
    if not (
        org.is_branch or org.org_type == "general_branch" or org.org_type == "primary_committee"
    ):
        raise ValidationError({"org": ["只能认定基层党组织。"]})
    year = parse_year(year)
    reasons = [r.strip() for r in (reasons or []) if r and r.strip()]
    if not reasons:
        raise ValidationError({"reasons": ["请至少填写一项认定情形。"]})
    if WeakOrg.objects.filter(org=org, year=year).exists():
        raise ValidationError({"org": [f"{org.name}已被认定为{year}年软弱涣散党组织。"]})
    weak = WeakOrg.objects.create(
        org=org,
        year=year,
        reasons=reasons,
        note=note,
        plan=plan,
        leader=leader,
        designated_by=actor,
    )
    capped_max = int(rule_value("assessments.capped_max_stars"))
    for rating in StarRating.objects.filter(org=org, cycle__year=year, stars__gt=capped_max):
        StarChange.objects.create(
            rating=rating,
            from_stars=rating.stars,
            to_stars=capped_max,
            reason=f"认定为软弱涣散党组织，星级不高于{capped_max}星",
            by=actor,
        )
        rating.stars = capped_max
        rating.limited_by = "认定为软弱涣散党组织"
        rating.save(update_fields=["stars", "limited_by", "updated_at"])
    audit_log(
        actor=actor,
        action=AuditAction.CREATE,
        obj=weak,
        org=org,
        verb="weak_org_designate",
        changes={"reasons": [None, reasons]},
    )
    return weak


@transaction.atomic
def weak_org_update(*, actor, weak_org: WeakOrg, plan: str, leader: str) -> WeakOrg:
    require(actor, "superior", weak_org.org)
    if weak_org.state == WeakOrgState.CLOSED:
        raise ValidationError("已验收销号。")
    check_lengths(WeakOrg, plan=plan, leader=leader)
    before = {"plan": weak_org.plan, "leader": weak_org.leader}
    weak_org.plan, weak_org.leader = plan, leader
    weak_org.save(update_fields=["plan", "leader", "updated_at"])
    audit_log(
        actor=actor,
        action=AuditAction.UPDATE,
        obj=weak_org,
        org=weak_org.org,
        verb="weak_org_update",
        changes=diff(before, {"plan": plan, "leader": leader}),
    )
    return weak_org


@transaction.atomic
def weak_org_progress_add(*, actor, weak_org: WeakOrg, note: str) -> WeakOrgProgress:
    if not (can(actor, "branch_write", weak_org.org) or can(actor, "superior", weak_org.org)):
        require(actor, "branch_write", weak_org.org)
    if weak_org.state == WeakOrgState.CLOSED:
        raise ValidationError("已验收销号，不能再填写进展。")
    if not (note or "").strip():
        raise ValidationError({"note": ["请填写整顿进展。"]})
    entry = WeakOrgProgress.objects.create(weak_org=weak_org, note=note.strip(), by=actor)
    audit_log(
        actor=actor,
        action=AuditAction.CREATE,
        obj=entry,
        org=weak_org.org,
        verb="weak_org_progress_add",
    )
    return entry


@transaction.atomic
def weak_org_close(*, actor, weak_org: WeakOrg, review: str) -> WeakOrg:
    require(actor, "superior", weak_org.org)
    if weak_org.state == WeakOrgState.CLOSED:
        raise ValidationError("已验收销号。")
    if not (review or "").strip():
        raise ValidationError({"review": ["请填写验收意见。"]})
    if not weak_org.progress.exists():
        raise ValidationError("尚无整顿进展记录，不能验收销号。")
    weak_org.state = WeakOrgState.CLOSED
    weak_org.closing_review = review.strip()
    weak_org.closed_on = local_today()
    weak_org.save(update_fields=["state", "closing_review", "closed_on", "updated_at"])
    audit_log(
        actor=actor,
        action=AuditAction.UPDATE,
        obj=weak_org,
        org=weak_org.org,
        verb="weak_org_close",
        changes={"state": ["rectifying", "closed"]},
    )
    return weak_org


@transaction.atomic
def weak_screening_refresh(*, root: Org, actor=None, cutoff: dt.date | None = None) -> int:
    """Screen every active branch in `root`'s subtree (the nightly job, or a superior's
    "重新筛查") and replace the subtree's stored candidates in one transaction; idempotent.
    Returns the number of candidates."""
    from apps.assessments.models import WeakCandidate
    from apps.assessments.selectors import weak_screen

    if actor is not None:
        require(actor, "superior", root)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtext(%s))", [f"assessments.weak:{root.path}"]
        )
    cutoff = cutoff or local_today()
    branches = list(Org.objects.subtree_of(root).active().branches())
    found = weak_screen(branches, cutoff=cutoff)
    WeakCandidate.objects.filter(org__path__startswith=root.path).delete()
    WeakCandidate.objects.bulk_create(
        [
            WeakCandidate(org=c.org, screened_on=cutoff, reasons=c.reasons, details=c.details)
            for c in found
        ]
    )
    if actor is not None:
        audit_log(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=root,
            org=root,
            verb="weak_screening_refresh",
            changes={"candidates": [None, len(found)]},
        )
    return len(found)
