"""Responsibility assessments (责任考核): indicator templates, cycles, scorecards with traceable
automatic scores, 述职评议 with votes, 评星定级 and 软弱涣散 rectification.

Traceability: an automatic score is never stored without the computation that produced it.
`Computation` is one run of every source for one assessment as of a cut-off date; its
`ComputedItem` rows keep the source value, the points and the detail rows (the records behind
the value). Recomputing adds a new Computation; old ones are kept.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q

from apps.core.models import BaseModel


class TemplateKind(models.TextChoices):
    BRANCH = "branch", "党组织考核"
    SECRETARY = "secretary", "书记述职考核"


class Template(BaseModel):
    """A tree of indicators (考核指标体系) for one kind of subject, org category and year."""

    name = models.CharField("名称", max_length=120)
    kind = models.CharField(
        "考核对象", max_length=16, choices=TemplateKind.choices, default=TemplateKind.BRANCH
    )
    category = models.CharField(
        "适用组织类别", max_length=32, blank=True, help_text="留空表示适用于所有类别"
    )
    year = models.PositiveSmallIntegerField("年度", null=True, blank=True)
    is_default = models.BooleanField("系统默认模板", default=False)
    # the org whose superiors own a copied template (see it, edit it while unused); the
    # shipped defaults have none: read-only and visible to everyone
    org = models.ForeignKey(
        "organizations.Org",
        verbose_name="所属党组织",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    copied_from = models.ForeignKey(
        "self",
        verbose_name="复制自",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="copies",
    )
    bonus_cap = models.DecimalField(
        "加分上限", max_digits=6, decimal_places=2, default=Decimal("10")
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = "考核模板"
        verbose_name_plural = "考核模板"
        ordering = ["-is_default", "kind", "name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(is_default=True) | Q(org__isnull=False),
                name="template_copy_has_owner_org",
            )
        ]

    def __str__(self) -> str:
        return self.name


class Method(models.TextChoices):
    GROUP = "group", "分类（下设指标）"
    MANUAL = "manual", "人工评分"
    AUTO = "auto", "系统自动评分"
    BONUS = "bonus", "加分项"
    VETO = "veto", "一票否决"


class RuleKind(models.TextChoices):
    """How a source value becomes points (see apps/assessments/scoring.py)."""

    PER_UNIT = "per_unit", "按次扣分"  # max - per * value, not below floor
    THRESHOLD = "threshold", "超过阈值扣分"  # value > threshold -> deduct `points`
    RATIO = "ratio", "按比例得分"  # max * min(1, value / target)
    BOOLEAN = "boolean", "达到即得分"  # value >= target -> max else 0
    PER_UNIT_BONUS = "per_unit_bonus", "按次加分"  # per * value, capped at max


class Indicator(models.Model):
    template = models.ForeignKey(Template, on_delete=models.CASCADE, related_name="indicators")
    parent = models.ForeignKey(
        "self",
        verbose_name="上级指标",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="children",
    )
    code = models.CharField("编码", max_length=40)
    name = models.CharField("指标", max_length=200)
    order = models.PositiveSmallIntegerField("排序", default=0)
    method = models.CharField(
        "评分方式", max_length=16, choices=Method.choices, default=Method.MANUAL
    )
    max_points = models.DecimalField("分值", max_digits=6, decimal_places=2, default=Decimal("0"))
    source = models.CharField("数据来源", max_length=60, blank=True)
    rule = models.CharField("计分规则", max_length=20, choices=RuleKind.choices, blank=True)
    params = models.JSONField("规则参数", default=dict, blank=True)
    evidence_required = models.BooleanField("需上传佐证材料", default=False)
    description = models.TextField("评分说明", blank=True)

    class Meta:
        verbose_name = "考核指标"
        verbose_name_plural = "考核指标"
        ordering = ["template", "order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["template", "code"], name="indicator_code_unique"),
            models.CheckConstraint(
                condition=Q(max_points__gte=0), name="indicator_points_nonnegative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class CyclePhase(models.TextChoices):
    DEPLOYMENT = "deployment", "年初部署"
    MIDTERM = "midterm", "年中督查"
    SELF_ASSESSMENT = "self_assessment", "年终自评"
    REVIEW = "review", "上级考核"
    PUBLISHED = "published", "结果公布"
    CLOSED = "closed", "已归档"


PHASE_ORDER = [p.value for p in CyclePhase]
# 述职评议 is held at the year end: evaluators vote during 年终自评 and 上级考核 only
VOTING_PHASES = (CyclePhase.SELF_ASSESSMENT, CyclePhase.REVIEW)


class Cycle(BaseModel):
    """One assessment year (考核周期) opened by a superior for its subtree."""

    org = models.ForeignKey(
        "organizations.Org", verbose_name="组织单位", on_delete=models.PROTECT, related_name="+"
    )
    name = models.CharField("名称", max_length=120)
    year = models.PositiveSmallIntegerField("年度")
    phase = models.CharField(
        "阶段", max_length=20, choices=CyclePhase.choices, default=CyclePhase.DEPLOYMENT
    )
    branch_template = models.ForeignKey(
        Template, verbose_name="党组织考核模板", on_delete=models.PROTECT, related_name="+"
    )
    secretary_template = models.ForeignKey(
        Template,
        verbose_name="书记述职考核模板",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    deployment_note = models.TextField("年初部署说明", blank=True)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    published_on = models.DateField("公布日期", null=True, blank=True)

    class Meta:
        verbose_name = "考核周期"
        verbose_name_plural = "考核周期"
        ordering = ["-year", "id"]
        constraints = [
            models.UniqueConstraint(fields=["org", "year"], name="one_cycle_per_org_year")
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def phase_index(self) -> int:
        return PHASE_ORDER.index(self.phase)


class CyclePhaseChange(models.Model):
    cycle = models.ForeignKey(Cycle, on_delete=models.CASCADE, related_name="phase_changes")
    from_phase = models.CharField(max_length=20, choices=CyclePhase.choices, blank=True)
    to_phase = models.CharField(max_length=20, choices=CyclePhase.choices)
    at = models.DateTimeField(auto_now_add=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["at", "id"]


class CycleTask(BaseModel):
    """年初部署 task list item."""

    cycle = models.ForeignKey(Cycle, on_delete=models.CASCADE, related_name="tasks")
    title = models.CharField("任务", max_length=200)
    description = models.TextField("说明", blank=True)
    due_on = models.DateField("完成时限", null=True, blank=True)

    class Meta:
        verbose_name = "部署任务"
        verbose_name_plural = "部署任务"
        ordering = ["due_on", "id"]

    def __str__(self) -> str:
        return self.title


class CommitmentKind(models.TextChoices):
    PUBLIC_PLEDGE = "public_pledge", "公开承诺"
    LED_PROJECT = "led_project", "领办项目"
    CONTACT_POINT = "contact_point", "工作联系点"


class CommitmentStatus(models.TextChoices):
    PLANNED = "planned", "未启动"
    IN_PROGRESS = "in_progress", "推进中"
    DONE = "done", "已完成"


class Commitment(BaseModel):
    """A secretary's commitment for the year; `progress` and `status` are the latest update,
    every update is kept as a CommitmentUpdate row."""

    cycle = models.ForeignKey(Cycle, on_delete=models.CASCADE, related_name="commitments")
    org = models.ForeignKey(
        "organizations.Org", verbose_name="党组织", on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField("类型", max_length=20, choices=CommitmentKind.choices)
    content = models.TextField("内容")
    # max_length is not a database limit on a TextField: services check it (check_lengths)
    progress = models.TextField("进展", max_length=2000, blank=True)
    status = models.CharField(
        "推进状态",
        max_length=16,
        choices=CommitmentStatus.choices,
        default=CommitmentStatus.PLANNED,
    )
    progress_at = models.DateTimeField("进展更新时间", null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = "书记承诺事项"
        verbose_name_plural = "书记承诺事项"
        ordering = ["org", "kind", "id"]


class CommitmentUpdate(models.Model):
    """One progress update of a commitment (the year's track record; never overwritten)."""

    commitment = models.ForeignKey(Commitment, on_delete=models.CASCADE, related_name="updates")
    progress = models.TextField("进展", max_length=2000)
    status = models.CharField("推进状态", max_length=16, choices=CommitmentStatus.choices)
    at = models.DateTimeField(auto_now_add=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["at", "id"]


class AssessmentState(models.TextChoices):
    OPEN = "open", "进行中"
    SELF_SUBMITTED = "self_submitted", "已提交自评"
    REVIEWED = "reviewed", "上级已评定"


class Grade(models.TextChoices):
    GOOD = "good", "好"
    FAIRLY_GOOD = "fairly_good", "较好"
    AVERAGE = "average", "一般"
    POOR = "poor", "差"


class Assessment(BaseModel):
    """The scorecard of one org (or its secretary) in one cycle."""

    cycle = models.ForeignKey(Cycle, on_delete=models.CASCADE, related_name="assessments")
    org = models.ForeignKey(
        "organizations.Org", verbose_name="党组织", on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(
        "考核对象", max_length=16, choices=TemplateKind.choices, default=TemplateKind.BRANCH
    )
    template = models.ForeignKey(Template, on_delete=models.PROTECT, related_name="+")
    state = models.CharField(
        "状态", max_length=20, choices=AssessmentState.choices, default=AssessmentState.OPEN
    )
    self_comment = models.TextField("自评说明", blank=True)
    self_total = models.DecimalField(
        "自评得分", max_digits=6, decimal_places=2, null=True, blank=True
    )
    review_comment = models.TextField("考核意见", blank=True)
    final_score = models.DecimalField(
        "最终得分", max_digits=6, decimal_places=2, null=True, blank=True
    )
    grade = models.CharField("等次", max_length=16, choices=Grade.choices, blank=True)
    vetoed = models.BooleanField("一票否决", default=False)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "考核记分卡"
        verbose_name_plural = "考核记分卡"
        ordering = ["cycle", "org__path"]
        constraints = [
            models.UniqueConstraint(
                fields=["cycle", "org", "kind"], name="one_assessment_per_org_kind"
            )
        ]

    def __str__(self) -> str:
        return f"{self.cycle} · {self.org} · {self.get_kind_display()}"


class Computation(models.Model):
    """One computation of every automatic indicator of an assessment, as of `cutoff`."""

    assessment = models.ForeignKey(
        Assessment, on_delete=models.CASCADE, related_name="computations"
    )
    cutoff = models.DateField("数据截止日期")
    computed_at = models.DateTimeField(auto_now_add=True)
    computed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    total = models.DecimalField("自动评分得分", max_digits=6, decimal_places=2)
    auto_max = models.DecimalField("自动评分满分", max_digits=6, decimal_places=2, default=0)
    vetoed = models.BooleanField(default=False)
    # set by the nightly recomputation when it found the same values and points again
    unchanged_through = models.DateField("复核无变化至", null=True, blank=True)

    class Meta:
        verbose_name = "自动评分计算"
        verbose_name_plural = "自动评分计算"
        ordering = ["-computed_at", "-id"]
        indexes = [
            models.Index(fields=["assessment", "-computed_at"], name="computation_latest_idx")
        ]


class ComputedItem(models.Model):
    computation = models.ForeignKey(Computation, on_delete=models.CASCADE, related_name="items")
    indicator = models.ForeignKey(Indicator, on_delete=models.CASCADE, related_name="+")
    source = models.CharField(max_length=60)
    available = models.BooleanField(default=True)
    value = models.DecimalField(max_digits=12, decimal_places=4, null=True)
    points = models.DecimalField(max_digits=6, decimal_places=2, null=True)
    explanation = models.CharField(max_length=300, blank=True)
    # [{"type": "organizations.term", "id": 3, "label": "...", "date": "2025-01-01", "note": "..."}]
    details = models.JSONField(default=list)

    class Meta:
        ordering = ["computation", "indicator__order", "indicator_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["computation", "indicator"], name="one_item_per_indicator"
            )
        ]


class Score(BaseModel):
    """Hand entries for one indicator: the branch's self-assessment and the superior's review."""

    assessment = models.ForeignKey(Assessment, on_delete=models.CASCADE, related_name="scores")
    indicator = models.ForeignKey(Indicator, on_delete=models.CASCADE, related_name="+")
    self_points = models.DecimalField(
        "自评分", max_digits=6, decimal_places=2, null=True, blank=True
    )
    self_comment = models.TextField("自评说明", blank=True)
    review_points = models.DecimalField(
        "考核分", max_digits=6, decimal_places=2, null=True, blank=True
    )
    review_reason = models.TextField("调整理由", blank=True)
    vetoed = models.BooleanField("触发一票否决", default=False)

    class Meta:
        verbose_name = "指标评分"
        verbose_name_plural = "指标评分"
        constraints = [
            models.UniqueConstraint(
                fields=["assessment", "indicator"], name="one_score_per_indicator"
            )
        ]


class Evidence(BaseModel):
    score = models.ForeignKey(Score, on_delete=models.CASCADE, related_name="evidence")
    file = models.FileField("佐证材料", upload_to="assessments/evidence/%Y/%m/")
    note = models.CharField("说明", max_length=200, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = "佐证材料"
        verbose_name_plural = "佐证材料"


class AppealOutcome(models.TextChoices):
    PENDING = "pending", "待处理"
    UPHELD = "upheld", "申诉成立（已调整）"
    REJECTED = "rejected", "维持原结果"


class Appeal(BaseModel):
    assessment = models.ForeignKey(Assessment, on_delete=models.CASCADE, related_name="appeals")
    reason = models.TextField("申诉理由")
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    outcome = models.CharField(
        "处理结果", max_length=16, choices=AppealOutcome.choices, default=AppealOutcome.PENDING
    )
    response = models.TextField("答复", blank=True)
    score_before = models.DecimalField(max_digits=6, decimal_places=2, null=True, blank=True)
    score_after = models.DecimalField(
        "调整后得分", max_digits=6, decimal_places=2, null=True, blank=True
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "考核申诉"
        verbose_name_plural = "考核申诉"
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["assessment"], condition=Q(outcome="pending"), name="one_pending_appeal"
            )
        ]


# --- 问题清单 and 整改 -------------------------------------------------------------------


class ProblemOrigin(models.TextChoices):
    MIDTERM = "midterm", "年中督查"
    DUTY_REVIEW = "duty_review", "述职评议"
    FINAL = "final", "年终考核"


class ProblemState(models.TextChoices):
    OPEN = "open", "待整改"
    RECTIFYING = "rectifying", "整改中"
    CLOSED = "closed", "已销号"


class Problem(BaseModel):
    """One item of a problem list (问题清单) with its rectification (整改) tracked to closure."""

    cycle = models.ForeignKey(Cycle, on_delete=models.CASCADE, related_name="problems")
    org = models.ForeignKey(
        "organizations.Org", verbose_name="党组织", on_delete=models.PROTECT, related_name="+"
    )
    origin = models.CharField("来源", max_length=16, choices=ProblemOrigin.choices)
    description = models.TextField("问题")
    measure = models.TextField("整改措施", blank=True)
    due_on = models.DateField("整改时限", null=True, blank=True)
    state = models.CharField(
        "状态", max_length=16, choices=ProblemState.choices, default=ProblemState.OPEN
    )
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "问题清单"
        verbose_name_plural = "问题清单"
        ordering = ["state", "due_on", "id"]


class ProblemProgress(BaseModel):
    problem = models.ForeignKey(Problem, on_delete=models.CASCADE, related_name="progress")
    note = models.TextField("整改进展")
    file = models.FileField("佐证材料", upload_to="assessments/rectification/%Y/%m/", blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["created_at", "id"]


# --- 述职评议 ------------------------------------------------------------------------------


class DutyReport(BaseModel):
    cycle = models.ForeignKey(Cycle, on_delete=models.CASCADE, related_name="duty_reports")
    org = models.ForeignKey(
        "organizations.Org", verbose_name="党组织", on_delete=models.PROTECT, related_name="+"
    )
    secretary = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="书记",
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    content = models.TextField("述职报告")
    submitted_at = models.DateTimeField("提交时间", auto_now_add=True)
    score = models.DecimalField("测评得分", max_digits=6, decimal_places=2, null=True, blank=True)
    grade = models.CharField("评议等次", max_length=16, choices=Grade.choices, blank=True)

    class Meta:
        verbose_name = "述职报告"
        verbose_name_plural = "述职报告"
        ordering = ["cycle", "org__path"]
        constraints = [
            models.UniqueConstraint(fields=["cycle", "org"], name="one_duty_report_per_org")
        ]

    def __str__(self) -> str:
        return f"{self.org} {self.cycle.year}年度书记述职"


class EvaluatorGroup(models.TextChoices):
    COMMITTEE = "committee", "上级党组织班子成员"
    REPRESENTATIVE = "representative", "党员群众代表"


class Evaluator(BaseModel):
    cycle = models.ForeignKey(Cycle, on_delete=models.CASCADE, related_name="evaluators")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    group = models.CharField("身份", max_length=20, choices=EvaluatorGroup.choices)

    class Meta:
        verbose_name = "评议人"
        verbose_name_plural = "评议人"
        constraints = [
            models.UniqueConstraint(fields=["cycle", "user"], name="one_evaluator_per_cycle")
        ]


class Vote(models.Model):
    report = models.ForeignKey(DutyReport, on_delete=models.CASCADE, related_name="votes")
    evaluator = models.ForeignKey(Evaluator, on_delete=models.PROTECT, related_name="votes")
    choice = models.CharField("评价", max_length=16, choices=Grade.choices)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "评议票"
        verbose_name_plural = "评议票"
        constraints = [
            models.UniqueConstraint(fields=["report", "evaluator"], name="one_vote_per_evaluator")
        ]


# --- 评星定级 ------------------------------------------------------------------------------


class StarRating(BaseModel):
    cycle = models.ForeignKey(Cycle, on_delete=models.CASCADE, related_name="stars")
    org = models.ForeignKey(
        "organizations.Org", verbose_name="党组织", on_delete=models.PROTECT, related_name="+"
    )
    score = models.DecimalField("得分", max_digits=6, decimal_places=2, null=True)
    rank = models.PositiveIntegerField("名次", null=True)
    stars = models.PositiveSmallIntegerField("星级")
    by_score = models.PositiveSmallIntegerField("按分数应得星级")
    limited_by = models.CharField("限制原因", max_length=200, blank=True)

    class Meta:
        verbose_name = "星级"
        verbose_name_plural = "星级"
        ordering = ["cycle", "rank", "org__path"]
        constraints = [
            models.UniqueConstraint(fields=["cycle", "org"], name="one_star_rating_per_org"),
            models.CheckConstraint(
                condition=Q(stars__gte=1) & Q(stars__lte=5), name="stars_1_to_5"
            ),
        ]


class StarChange(models.Model):
    """Every change of a star rating (initial rating, dynamic up/down) with its reason."""

    rating = models.ForeignKey(StarRating, on_delete=models.CASCADE, related_name="changes")
    from_stars = models.PositiveSmallIntegerField(null=True)
    to_stars = models.PositiveSmallIntegerField()
    reason = models.CharField("原因", max_length=300)
    # a superior's 动态升降星 (services.star_change): recomputing the stars keeps it
    manual = models.BooleanField("人工调整", default=False)
    at = models.DateTimeField(auto_now_add=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["at", "id"]


# --- 软弱涣散 ------------------------------------------------------------------------------


class WeakOrgState(models.TextChoices):
    RECTIFYING = "rectifying", "整顿中"
    CLOSED = "closed", "已验收销号"


class WeakOrg(BaseModel):
    org = models.ForeignKey(
        "organizations.Org", verbose_name="党组织", on_delete=models.PROTECT, related_name="+"
    )
    year = models.PositiveSmallIntegerField("年度")
    reasons = models.JSONField("认定情形", default=list)
    note = models.TextField("认定说明", blank=True)
    plan = models.TextField("整顿方案", blank=True)
    leader = models.CharField("包联领导", max_length=60, blank=True)
    state = models.CharField(
        "状态", max_length=16, choices=WeakOrgState.choices, default=WeakOrgState.RECTIFYING
    )
    designated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    closing_review = models.TextField("验收意见", blank=True)
    closed_on = models.DateField("销号日期", null=True, blank=True)

    class Meta:
        verbose_name = "软弱涣散党组织"
        verbose_name_plural = "软弱涣散党组织"
        ordering = ["state", "-year", "org__path"]
        constraints = [
            models.UniqueConstraint(fields=["org", "year"], name="one_weak_designation_per_year")
        ]

    def __str__(self) -> str:
        return f"{self.org}（{self.year}年）"


class WeakOrgProgress(BaseModel):
    weak_org = models.ForeignKey(WeakOrg, on_delete=models.CASCADE, related_name="progress")
    note = models.TextField("整顿进展")
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["created_at", "id"]


class WeakCandidate(models.Model):
    """A branch found by the nightly 软弱涣散 screening (selectors.weak_screen): its reasons and
    the records behind them. Rewritten whole per subtree by `weak_screening_refresh`."""

    org = models.OneToOneField(
        "organizations.Org", verbose_name="党组织", on_delete=models.CASCADE, related_name="+"
    )
    screened_on = models.DateField("筛查日期")
    reasons = models.JSONField("情形", default=list)
    details = models.JSONField("依据记录", default=list)

    class Meta:
        verbose_name = "软弱涣散排查候选"
        verbose_name_plural = "软弱涣散排查候选"
        ordering = ["org__path"]
