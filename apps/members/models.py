"""Party member records. The members issue extends this model; the foundation defines the part
that committees, scope and meetings need."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from apps.core import crypto
from apps.core.fields import EncryptedTextField
from apps.core.models import BaseModel


class Gender(models.TextChoices):
    MALE = "male", "男"
    FEMALE = "female", "女"


class Education(models.TextChoices):
    DOCTORATE = "doctorate", "博士研究生"
    MASTER = "master", "硕士研究生"
    BACHELOR = "bachelor", "大学本科"
    COLLEGE = "college", "大学专科"
    SECONDARY = "secondary", "中专"
    HIGH_SCHOOL = "high_school", "高中"
    MIDDLE_SCHOOL = "middle_school", "初中及以下"


class Occupation(models.TextChoices):
    """身份/职业 as in the party statistics (DOMAIN §3.4)."""

    WORKER = "worker", "工人"
    FARMER = "farmer", "农牧渔民"
    PROFESSIONAL = "professional", "专业技术人员"
    MANAGER = "manager", "管理人员"
    CIVIL_SERVANT = "civil_servant", "党政机关工作人员"
    STUDENT = "student", "学生"
    RETIRED = "retired", "离退休人员"
    OTHER = "other", "其他"


class ManagementStatus(models.TextChoices):
    """管理状态 (DOMAIN §3.4). 停止党籍 is a party status (`MemberStatus.SUSPENDED`), not here."""

    EMPLOYED = "employed", "在职"
    RETIRED = "retired", "离退休"
    STUDENT = "student", "学生"
    MOBILE_OUT = "mobile_out", "流动党员（流出）"
    MOBILE_IN = "mobile_in", "流动党员（流入）"
    ABROAD = "abroad", "出国（境）"
    LOST_CONTACT = "lost_contact", "失联"
    OTHER = "other", "其他"


class RemovalKind(models.TextChoices):
    WITHDRAWAL = "withdrawal", "退党除名"
    PERSUADED = "persuaded", "劝退/劝而不退除名"
    LAPSED = "lapsed", "自行脱党除名"
    EXPELLED = "expelled", "开除党籍"


class MemberStatus(models.TextChoices):
    APPLICANT = "applicant", "入党申请人"
    ACTIVIST = "activist", "入党积极分子"
    CANDIDATE = "candidate", "发展对象"
    PROBATIONARY = "probationary", "预备党员"
    PROBATION_EXTENDED = "probation_extended", "预备党员（延长预备期）"
    FULL = "full", "正式党员"
    PROBATION_CANCELLED = "probation_cancelled", "取消预备党员资格"
    SUSPENDED = "suspended", "停止党籍"
    REMOVED = "removed", "出党"
    DECEASED = "deceased", "去世"


# People who are party members (预备 or 正式) and on the roster.
MEMBER_STATUSES = frozenset(
    {MemberStatus.PROBATIONARY, MemberStatus.PROBATION_EXTENDED, MemberStatus.FULL}
)
PROBATIONARY_STATUSES = frozenset({MemberStatus.PROBATIONARY, MemberStatus.PROBATION_EXTENDED})
PIPELINE_STATUSES = frozenset(
    {MemberStatus.APPLICANT, MemberStatus.ACTIVIST, MemberStatus.CANDIDATE}
)


class MemberQuerySet(models.QuerySet):
    def party_members(self) -> MemberQuerySet:
        """预备党员 and 正式党员 on the roster (not transferred out of the platform)."""
        return self.filter(status__in=MEMBER_STATUSES, transferred_out_on__isnull=True)

    def full_members(self) -> MemberQuerySet:
        return self.filter(status=MemberStatus.FULL)


class Member(BaseModel):
    branch = models.ForeignKey(
        "organizations.Org",
        verbose_name="所在党支部",
        on_delete=models.PROTECT,
        related_name="members",
    )
    party_group = models.ForeignKey(
        "organizations.Org",
        verbose_name="所在党小组",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="group_members",
    )
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name="登录账号",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="member",
    )
    name = models.CharField("姓名", max_length=64, db_collation="C")
    gender = models.CharField("性别", max_length=8, choices=Gender.choices)
    birth_date = models.DateField("出生日期", null=True, blank=True)
    status = models.CharField(
        "党员状态", max_length=32, choices=MemberStatus.choices, default=MemberStatus.FULL
    )
    joined_on = models.DateField(
        "入党日期", null=True, blank=True, help_text="支部大会通过接收为预备党员之日"
    )
    confirmed_on = models.DateField("转正日期", null=True, blank=True, help_text="党龄自此日起算")

    ethnicity = models.CharField("民族", max_length=16, blank=True, default="汉族")
    education = models.CharField("学历", max_length=16, choices=Education.choices, blank=True)
    occupation = models.CharField("人员类别", max_length=16, choices=Occupation.choices, blank=True)
    work_unit = models.CharField("工作单位", max_length=120, blank=True)
    post = models.CharField("职务", max_length=60, blank=True)
    management_status = models.CharField(
        "管理状态",
        max_length=16,
        choices=ManagementStatus.choices,
        default=ManagementStatus.EMPLOYED,
    )
    mobile_out_to = models.CharField(
        "流入地", max_length=120, blank=True, help_text="流出党员外出所在地/流入地党组织"
    )
    mobile_in_from = models.CharField(
        "流出地", max_length=120, blank=True, help_text="流入党员的流出地/原党组织"
    )
    lost_contact_since = models.DateField("失联起始日期", null=True, blank=True)
    abroad_since = models.DateField("出国（境）日期", null=True, blank=True)
    is_center_household = models.BooleanField("党员中心户", default=False)
    photo = models.FileField("照片", upload_to="members/photos/%Y/", blank=True)
    leaving_unit_on = models.DateField(
        "预计离开单位日期",
        null=True,
        blank=True,
        help_text="发展对象3个月内将离开单位的，一般不办理接收手续",
    )
    status_since = models.DateField("当前状态起始日期", null=True, blank=True)
    probation_ends_on = models.DateField("预备期满日期", null=True, blank=True)
    probation_extended_months = models.PositiveSmallIntegerField(
        "延长预备期（月）", null=True, blank=True
    )
    suspended_on = models.DateField("停止党籍日期", null=True, blank=True)
    transferred_out_on = models.DateField("转出平台日期", null=True, blank=True)
    removal_kind = models.CharField(
        "出党方式", max_length=16, choices=RemovalKind.choices, blank=True
    )

    # Personal data: encrypted at rest, exact lookup through a keyed hash, masked copy for display.
    id_number = EncryptedTextField("公民身份号码", blank=True, default="")
    id_number_hash = models.CharField(
        max_length=64, blank=True, default="", db_index=True, editable=False
    )
    id_number_masked = models.CharField(
        "公民身份号码", max_length=24, blank=True, default="", editable=False
    )
    phone = EncryptedTextField("联系电话", blank=True, default="")
    phone_hash = models.CharField(
        max_length=64, blank=True, default="", db_index=True, editable=False
    )
    phone_masked = models.CharField(
        "联系电话", max_length=24, blank=True, default="", editable=False
    )

    objects = MemberQuerySet.as_manager()

    class Meta:
        verbose_name = "党员"
        verbose_name_plural = "党员"
        ordering = ["name", "id"]
        indexes = [
            models.Index(fields=["name", "id"], name="member_name_c_idx"),
            models.Index(fields=["branch", "status"], name="member_branch_status_idx"),
            models.Index(fields=["status", "probation_ends_on"], name="member_probation_end_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["id_number_hash"],
                condition=~Q(id_number_hash=""),
                name="member_id_number_unique",
            ),
            models.CheckConstraint(
                condition=Q(probation_extended_months__isnull=True)
                | Q(probation_extended_months__gte=6, probation_extended_months__lte=12),
                name="member_extension_6_12_months",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def set_id_number(self, value: str) -> None:
        value = (value or "").strip().upper()
        self.id_number = value
        self.id_number_hash = crypto.blind_index("id_number", value) if value else ""
        self.id_number_masked = crypto.mask_id_number(value) if value else ""

    def set_phone(self, value: str) -> None:
        value = (value or "").strip()
        self.phone = value
        self.phone_hash = crypto.blind_index("phone", value) if value else ""
        self.phone_masked = crypto.mask_phone(value) if value else ""

    @property
    def is_party_member(self) -> bool:
        return self.status in MEMBER_STATUSES

    @property
    def has_vote(self) -> bool:
        """预备党员 have no vote, no right to elect or be elected (党章第七条)."""
        return self.status == MemberStatus.FULL

    @property
    def seniority_years(self) -> int | None:
        """党龄: whole years since 转正日期 (党章第七条)."""
        from apps.core.periods import local_today, years_between

        if not self.confirmed_on:
            return None
        return max(0, years_between(self.confirmed_on, local_today()))


# --- status history -----------------------------------------------------------------------------
class MemberStatusChange(models.Model):
    """One change of party status (DOMAIN §3.3): kept forever, never edited."""

    member = models.ForeignKey(
        Member, verbose_name="党员", on_delete=models.CASCADE, related_name="status_changes"
    )
    from_status = models.CharField(
        "原状态", max_length=32, choices=MemberStatus.choices, blank=True
    )
    to_status = models.CharField("新状态", max_length=32, choices=MemberStatus.choices)
    changed_on = models.DateField("日期")
    action = models.CharField("事项", max_length=40, help_text="service name, e.g. member_confirm")
    reason = models.CharField("原因/依据", max_length=300, blank=True)
    deciding_org = models.ForeignKey(
        "organizations.Org",
        verbose_name="决定组织",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="操作人",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField("记录时间", auto_now_add=True)

    class Meta:
        verbose_name = "党员状态变更"
        verbose_name_plural = "党员状态变更"
        ordering = ["member", "changed_on", "id"]
        indexes = [models.Index(fields=["member", "changed_on"], name="status_change_member_idx")]

    def __str__(self) -> str:
        return f"{self.member} {self.get_from_status_display()}→{self.get_to_status_display()}"


# --- development pipeline (发展党员, DOMAIN §3.1) ------------------------------------------------
class Step(models.IntegerChoices):
    APPLICATION = 1, "递交入党申请书"
    TALK = 2, "党组织派人谈话"
    ACTIVIST_CHOSEN = 3, "推荐和确定入党积极分子"
    ACTIVIST_FILED = 4, "报上级党委备案（积极分子）"
    MENTORS = 5, "指定培养联系人"
    ACTIVIST_REVIEW = 6, "培养教育考察"
    CANDIDATE_CHOSEN = 7, "确定发展对象"
    CANDIDATE_FILED = 8, "报上级党委备案（发展对象）"
    SPONSORS = 9, "确定入党介绍人"
    POLITICAL_REVIEW = 10, "政治审查"
    TRAINING = 11, "短期集中培训"
    COMMITTEE_REVIEW = 12, "支委会审查"
    PRE_REVIEW = 13, "上级党委预审"
    ADMISSION_FORM = 14, "填写入党志愿书"
    ADMISSION_MEETING = 15, "支部大会讨论接收"
    ADMISSION_TALK = 16, "上级党委派人谈话"
    ADMISSION_APPROVAL = 17, "上级党委审批（接收）"
    ADMISSION_FILED = 18, "再上一级党委组织部门备案"
    PLACED = 19, "编入支部和党小组"
    OATH = 20, "入党宣誓"
    PROBATION_REVIEW = 21, "继续教育考察"
    CONFIRMATION_REQUEST = 22, "提出转正申请"
    CONFIRMATION_MEETING = 23, "支部大会讨论转正"
    CONFIRMATION_APPROVAL = 24, "上级党委审批（转正）"
    ARCHIVED = 25, "材料归档"


STAGES = (
    ("application", "入党申请", range(1, 3)),
    ("activist", "积极分子确定与培养", range(3, 7)),
    ("candidate", "发展对象确定与考察", range(7, 12)),
    ("admission", "预备党员接收", range(12, 19)),
    ("probation", "预备党员教育考察与转正", range(19, 26)),
)
REPEATABLE_STEPS = frozenset({Step.ACTIVIST_REVIEW, Step.PROBATION_REVIEW})


class ConfirmationDecision(models.TextChoices):
    CONFIRM = "confirm", "按期转正"
    EXTEND = "extend", "延长预备期"
    CANCEL = "cancel", "取消预备党员资格"


class DevelopmentStep(models.Model):
    """One dated step of the 25 (DOMAIN §3.1) with the facts its rules need."""

    member = models.ForeignKey(
        Member, verbose_name="发展对象", on_delete=models.CASCADE, related_name="steps"
    )
    step = models.PositiveSmallIntegerField("步骤", choices=Step.choices)
    done_on = models.DateField("日期")
    people = models.ManyToManyField(
        Member,
        verbose_name="相关人员",
        blank=True,
        related_name="development_roles",
        help_text="培养联系人（第5步）或入党介绍人（第9步）",
    )
    note = models.CharField("说明", max_length=300, blank=True)
    late_reason = models.CharField("逾期/延长说明", max_length=300, blank=True)
    publicity_from = models.DateField("公示开始", null=True, blank=True)
    publicity_to = models.DateField("公示结束", null=True, blank=True)
    training_days = models.DecimalField(
        "培训天数", max_digits=5, decimal_places=1, null=True, blank=True
    )
    training_hours = models.DecimalField(
        "培训学时", max_digits=6, decimal_places=1, null=True, blank=True
    )
    expected_voting = models.PositiveIntegerField("应到会有表决权党员", null=True, blank=True)
    attended_voting = models.PositiveIntegerField("实到会有表决权党员", null=True, blank=True)
    votes_for = models.PositiveIntegerField("赞成票", null=True, blank=True)
    decision = models.CharField(
        "转正决定", max_length=16, choices=ConfirmationDecision.choices, blank=True
    )
    extension_months = models.PositiveSmallIntegerField("延长月数", null=True, blank=True)
    deciding_org = models.ForeignKey(
        "organizations.Org",
        verbose_name="决定组织",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField("记录时间", auto_now_add=True)

    class Meta:
        verbose_name = "发展党员步骤"
        verbose_name_plural = "发展党员步骤"
        ordering = ["member", "step", "done_on", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["member", "step"],
                condition=~Q(step__in=[6, 21, 22, 23, 24]),
                name="development_step_once",
            ),
            models.CheckConstraint(
                condition=Q(step__gte=1, step__lte=25), name="development_step_range"
            ),
        ]
        indexes = [models.Index(fields=["step", "done_on"], name="development_step_date_idx")]

    def __str__(self) -> str:
        return f"{self.member} {self.step}. {self.get_step_display()}"


# --- pending items for the branch (prompts, never automatic) ----------------------------------
class PendingKind(models.TextChoices):
    LAPSE_REVIEW = "lapse_review", "连续6个月未交党费：自行脱党审查"
    SUSPEND_PROMPT = "suspend_prompt", "失联满6个月：研究停止党籍"
    REMOVE_PROMPT = "remove_prompt", "停止党籍满2年：研究按自行脱党除名"
    ABROAD_PROMPT = "abroad_prompt", "出国（境）满5年未返回：研究停止党籍"


class PendingItem(BaseModel):
    """Something the branch must decide (DOMAIN §3.3, §4.2). Created by sweepers; the decision
    itself is a lifecycle service call by a person."""

    member = models.ForeignKey(
        Member, verbose_name="党员", on_delete=models.CASCADE, related_name="pending_items"
    )
    branch = models.ForeignKey(
        "organizations.Org", verbose_name="党支部", on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField("事项", max_length=24, choices=PendingKind.choices)
    raised_on = models.DateField("提出日期")
    detail = models.CharField("说明", max_length=300, blank=True)
    resolved_on = models.DateField("处理日期", null=True, blank=True)
    resolution = models.CharField("处理结果", max_length=300, blank=True)

    class Meta:
        verbose_name = "待处理事项"
        verbose_name_plural = "待处理事项"
        ordering = ["-raised_on", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["member", "kind"],
                condition=Q(resolved_on__isnull=True),
                name="one_open_pending_item",
            ),
        ]


# --- dues (DOMAIN §4) -----------------------------------------------------------------------------
from apps.members.rules import DuesKind  # noqa: E402


class DuesBase(BaseModel):
    """The yearly 核定: kind and monthly base → the monthly amount for the year."""

    member = models.ForeignKey(
        Member, verbose_name="党员", on_delete=models.CASCADE, related_name="dues_bases"
    )
    year = models.PositiveSmallIntegerField("年度")
    kind = models.CharField("交纳类别", max_length=16, choices=DuesKind.choices)
    base = models.DecimalField(
        "月计算基数（元）", max_digits=10, decimal_places=2, null=True, blank=True
    )
    monthly_amount = models.DecimalField("月交纳额（元）", max_digits=10, decimal_places=2)
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = "党费基数"
        verbose_name_plural = "党费基数"
        constraints = [
            models.UniqueConstraint(fields=["member", "year"], name="dues_base_once_a_year"),
            models.CheckConstraint(
                condition=Q(base__isnull=True) | Q(base__gte=0), name="dues_base_nonnegative"
            ),
        ]


class PaymentMode(models.TextChoices):
    MONTHLY = "monthly", "按月"
    QUARTERLY = "quarterly", "按季度"
    BACKPAY = "backpay", "补交"
    PROXY = "proxy", "委托代交"
    EXTRA = "extra", "自愿多交"


class DuesPayment(BaseModel):
    member = models.ForeignKey(
        Member, verbose_name="党员", on_delete=models.PROTECT, related_name="dues_payments"
    )
    branch = models.ForeignKey(
        "organizations.Org", verbose_name="收缴支部", on_delete=models.PROTECT, related_name="+"
    )
    paid_on = models.DateField("交纳日期")
    mode = models.CharField("方式", max_length=16, choices=PaymentMode.choices)
    amount = models.DecimalField("应交部分（元）", max_digits=10, decimal_places=2)
    extra = models.DecimalField("自愿多交（元）", max_digits=10, decimal_places=2, default=0)
    to_central = models.BooleanField("全部上缴中央", default=False, help_text="一次自愿多交≥1000元")
    paid_by = models.CharField("代交人", max_length=64, blank=True)
    months = models.JSONField("所交月份", default=list)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = "党费交纳"
        verbose_name_plural = "党费交纳"
        ordering = ["-paid_on", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gte=0, extra__gte=0), name="dues_payment_nonnegative"
            ),
        ]


class DuesMonth(models.Model):
    """The ledger: one row per member per month (`month` is the 1st of the month)."""

    member = models.ForeignKey(
        Member, verbose_name="党员", on_delete=models.CASCADE, related_name="dues_months"
    )
    branch = models.ForeignKey(
        "organizations.Org", verbose_name="党支部", on_delete=models.PROTECT, related_name="+"
    )
    month = models.DateField("月份")
    expected = models.DecimalField("应交（元）", max_digits=10, decimal_places=2)
    waived = models.DecimalField("减免（元）", max_digits=10, decimal_places=2, default=0)
    paid = models.DecimalField("已交（元）", max_digits=10, decimal_places=2, default=0)
    payment = models.ForeignKey(
        DuesPayment, null=True, blank=True, on_delete=models.SET_NULL, related_name="ledger"
    )

    class Meta:
        verbose_name = "党费月账"
        verbose_name_plural = "党费月账"
        ordering = ["member", "month"]
        constraints = [
            models.UniqueConstraint(fields=["member", "month"], name="dues_month_unique"),
            models.CheckConstraint(
                condition=Q(waived__lte=models.F("expected")), name="dues_waived_le_expected"
            ),
        ]
        indexes = [models.Index(fields=["branch", "month"], name="dues_month_branch_idx")]

    def __str__(self) -> str:
        return f"{self.member} · {self.month:%Y-%m}"

    @property
    def due(self):
        return self.expected - self.waived

    @property
    def settled(self) -> bool:
        return self.paid >= self.expected - self.waived


class WaiverState(models.TextChoices):
    REQUESTED = "requested", "待审批"
    APPROVED = "approved", "已批准"
    REJECTED = "rejected", "未批准"


class DuesWaiver(BaseModel):
    """减免: the branch proposes, the superior committee approves (DOMAIN §4.2)."""

    member = models.ForeignKey(
        Member, verbose_name="党员", on_delete=models.CASCADE, related_name="dues_waivers"
    )
    first_month = models.DateField("起始月份")
    last_month = models.DateField("截止月份")
    monthly_amount = models.DecimalField(
        "每月交纳（元）", max_digits=10, decimal_places=2, help_text="0 表示免交"
    )
    reason = models.CharField("原因", max_length=300)
    state = models.CharField(
        "状态", max_length=16, choices=WaiverState.choices, default=WaiverState.REQUESTED
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_on = models.DateField("审批日期", null=True, blank=True)

    class Meta:
        verbose_name = "党费减免"
        verbose_name_plural = "党费减免"
        constraints = [
            models.CheckConstraint(
                condition=Q(last_month__gte=models.F("first_month")), name="waiver_months"
            )
        ]


class DuesBranchMonth(models.Model):
    """Rollup for dashboards: per branch per month, refreshed in the same transaction as every
    ledger write (apps.members.services._dues_rollup_refresh)."""

    branch = models.ForeignKey("organizations.Org", on_delete=models.CASCADE, related_name="+")
    month = models.DateField("月份")
    members = models.PositiveIntegerField("应交人数", default=0)
    expected = models.DecimalField("应交（元）", max_digits=12, decimal_places=2, default=0)
    paid = models.DecimalField("已交（元）", max_digits=12, decimal_places=2, default=0)
    in_arrears = models.PositiveIntegerField("未交人数", default=0)

    class Meta:
        verbose_name = "党费支部月汇总"
        verbose_name_plural = "党费支部月汇总"
        constraints = [
            models.UniqueConstraint(fields=["branch", "month"], name="dues_rollup_unique")
        ]
        indexes = [models.Index(fields=["month", "branch"], name="dues_rollup_month_idx")]

    def __str__(self) -> str:
        return f"{self.branch} · {self.month:%Y-%m}"


# --- transfers (DOMAIN §3.5) -----------------------------------------------------------------
class TransferKind(models.TextChoices):
    INTERNAL = "internal", "平台内转接"
    OUT_LETTER = "out_letter", "转出平台（介绍信）"
    IN_LETTER = "in_letter", "从平台外转入（介绍信）"


class TransferState(models.TextChoices):
    APPLIED = "applied", "已申请"
    APPROVED = "approved", "转出党委已审批"
    LETTER_ISSUED = "letter_issued", "已开具介绍信"
    ACCEPTED = "accepted", "已接收（编入支部）"
    RECEIPT_RETURNED = "receipt_returned", "回执已返回"
    REJECTED = "rejected", "已退回"
    WITHDRAWN = "withdrawn", "已撤回"
    EXPIRED = "expired", "已过期"


OPEN_TRANSFER_STATES = frozenset(
    {TransferState.APPLIED, TransferState.APPROVED, TransferState.LETTER_ISSUED}
)


class Transfer(BaseModel):
    member = models.ForeignKey(
        Member, verbose_name="党员", on_delete=models.PROTECT, related_name="transfers"
    )
    kind = models.CharField("类型", max_length=16, choices=TransferKind.choices)
    state = models.CharField(
        "状态", max_length=20, choices=TransferState.choices, default=TransferState.APPLIED
    )
    source_branch = models.ForeignKey(
        "organizations.Org",
        verbose_name="转出支部",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    target_org = models.ForeignKey(
        "organizations.Org",
        verbose_name="转入党组织",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    target_branch = models.ForeignKey(
        "organizations.Org",
        verbose_name="编入支部",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    external_org = models.CharField("平台外党组织", max_length=120, blank=True)
    reason = models.CharField("原因", max_length=200, blank=True)
    applied_on = models.DateField("申请日期")
    valid_until = models.DateField("有效期至")
    letter_number = models.CharField("介绍信编号", max_length=40, blank=True)
    dues_paid_until = models.DateField("党费交至（月）", null=True, blank=True)
    receipt_returned_on = models.DateField("回执返回日期", null=True, blank=True)

    class Meta:
        verbose_name = "组织关系转接"
        verbose_name_plural = "组织关系转接"
        ordering = ["-applied_on", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["member"],
                condition=Q(state__in=["applied", "approved", "letter_issued"]),
                name="one_open_transfer_per_member",
            ),
        ]


class TransferEvent(models.Model):
    transfer = models.ForeignKey(Transfer, on_delete=models.CASCADE, related_name="events")
    from_state = models.CharField(max_length=20, choices=TransferState.choices, blank=True)
    to_state = models.CharField(max_length=20, choices=TransferState.choices)
    at = models.DateTimeField(auto_now_add=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.CharField("说明", max_length=300, blank=True)

    class Meta:
        ordering = ["transfer", "at", "id"]

    def __str__(self) -> str:
        return f"{self.transfer} · {self.get_to_state_display()}"


class MobileContact(models.Model):
    """A contact with a 流动党员 or a member abroad (每半年至少联系1次)."""

    member = models.ForeignKey(
        Member, verbose_name="党员", on_delete=models.CASCADE, related_name="contacts"
    )
    contacted_on = models.DateField("联系日期")
    way = models.CharField("方式", max_length=40, blank=True)
    note = models.CharField("情况", max_length=300, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = "联系记录"
        verbose_name_plural = "联系记录"
        ordering = ["member", "-contacted_on"]

    def __str__(self) -> str:
        return f"{self.member} · {self.contacted_on:%Y-%m-%d}"


# --- study hours (DOMAIN §5) -----------------------------------------------------------------
class StudyRecord(BaseModel):
    member = models.ForeignKey(
        Member, verbose_name="党员", on_delete=models.CASCADE, related_name="study_records"
    )
    course = models.CharField("课程/活动", max_length=120)
    held_on = models.DateField("日期")
    hours = models.DecimalField("学时", max_digits=5, decimal_places=1)
    source = models.CharField(
        "来源", max_length=60, blank=True, help_text="如：支部集中学习、县委党校、网络学院"
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = "学习培训记录"
        verbose_name_plural = "学习培训记录"
        ordering = ["member", "-held_on"]
        indexes = [models.Index(fields=["member", "held_on"], name="study_member_date_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(hours__gt=0, hours__lte=200), name="study_hours_range"
            )
        ]
