"""三会一课 and other organisational life (DOMAIN.md §1.4, §2).

Three layers of numbers (docs/architecture.md "Meetings rollups", performance.md §7):
1. counters on `Meeting` (expected / present / leave ...), written with the attendance;
2. `BranchPeriodStat`: org × period × kind with a month bit mask, UPSERTed by the meeting
   services in the same transaction as the meeting write;
3. `OrgPeriodStat`: one row per org per quarter/year (whole tree), refreshed by a periodic job
   and on demand for the periods marked dirty in `RollupDirty`.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.db.models import Q

from apps.core.models import BaseModel


class MeetingKind(models.TextChoices):
    GENERAL = "general_meeting", "支部党员大会"
    COMMITTEE = "committee_meeting", "支部委员会会议"
    GROUP = "group_meeting", "党小组会"
    LECTURE = "party_lecture", "党课"
    SECRETARY_LECTURE = "secretary_lecture", "书记讲党课"
    THEME_DAY = "theme_day", "主题党日"
    ORG_LIFE = "org_life_meeting", "组织生活会"
    APPRAISAL = "member_appraisal", "民主评议党员"
    TALK = "talk", "谈心谈话"


# The pseudo kind under which every counted meeting is rolled up once (attendance rates
# without double counting a meeting that counts for several kinds).
ALL_KINDS = "all"


class RequirementPeriod(models.TextChoices):
    MONTH = "month", "每月"
    QUARTER = "quarter", "每季度"
    YEAR = "year", "每年"


class MeetingState(models.TextChoices):
    PLANNED = "planned", "已计划"
    RECORDED = "recorded", "已记录（未报送）"
    SUBMITTED = "submitted", "已报送"
    ACCEPTED = "accepted", "已审核"
    RETURNED = "returned", "已退回"
    CANCELLED = "cancelled", "已取消"


# A meeting counts toward compliance and attendance once it has been reported to the superior
# (submitted) and while it is not returned; accepted records keep counting.
COUNTED_STATES = frozenset({MeetingState.SUBMITTED, MeetingState.ACCEPTED})
LOCKED_STATES = frozenset({MeetingState.SUBMITTED, MeetingState.ACCEPTED})


class MeetingRequirement(BaseModel):
    """One frequency rule (DOMAIN.md §2.1) as data: which branches, which kind, how often."""

    name = models.CharField("名称", max_length=60)
    kind = models.CharField("会议类型", max_length=32, choices=MeetingKind.choices)
    period = models.CharField("周期", max_length=16, choices=RequirementPeriod.choices)
    min_count = models.PositiveSmallIntegerField("最少次数", default=1)
    org_types = ArrayField(
        models.CharField(max_length=32),
        verbose_name="适用组织类型",
        default=list,
        blank=True,
        help_text="留空表示所有支部类型（党支部、联合党支部、临时党支部）",
    )
    categories = ArrayField(
        models.CharField(max_length=32),
        verbose_name="适用组织类别",
        default=list,
        blank=True,
        help_text="留空表示所有类别",
    )
    needs_committee = models.BooleanField(
        "仅设支委会的支部",
        default=False,
        help_text="正式党员达到设委员会人数或已配置设委员会的支部",
    )
    per_party_group = models.BooleanField(
        "按党小组计", default=False, help_text="每个党小组分别计算"
    )
    active = models.BooleanField("启用", default=True)
    basis = models.CharField("依据", max_length=200, blank=True)

    class Meta:
        verbose_name = "会议频次要求"
        verbose_name_plural = "会议频次要求"
        ordering = ["kind", "period"]
        constraints = [
            models.CheckConstraint(
                condition=Q(min_count__gte=1), name="requirement_min_count_positive"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name}（{self.get_period_display()}≥{self.min_count}）"


class BranchMeetingSetting(BaseModel):
    """Per-branch configuration: whether the branch has a committee (支委会) regardless of size."""

    branch = models.OneToOneField(
        "organizations.Org", on_delete=models.CASCADE, related_name="meeting_setting"
    )
    has_committee = models.BooleanField(
        "设支部委员会", null=True, blank=True, help_text="留空按正式党员人数判断"
    )

    class Meta:
        verbose_name = "支部会议设置"
        verbose_name_plural = "支部会议设置"


class Exemption(BaseModel):
    """An approved exemption of a branch from a requirement kind (or all) for one period."""

    branch = models.ForeignKey(
        "organizations.Org",
        verbose_name="党支部",
        on_delete=models.CASCADE,
        related_name="meeting_exemptions",
    )
    kind = models.CharField(
        "会议类型",
        max_length=32,
        choices=MeetingKind.choices,
        blank=True,
        help_text="留空表示全部类型",
    )
    period_key = models.CharField("期间", max_length=10, help_text="如 2026、2026-Q1、2026-03")
    reason = models.CharField("原因", max_length=300)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="批准人", on_delete=models.PROTECT, related_name="+"
    )
    approved_on = models.DateField("批准日期")

    class Meta:
        verbose_name = "免于考核"
        verbose_name_plural = "免于考核"
        ordering = ["-period_key"]
        constraints = [
            models.UniqueConstraint(
                fields=["branch", "kind", "period_key"], name="exemption_unique"
            )
        ]

    def clean(self) -> None:
        """The period must be a real month, quarter or year (e.g. in the admin)."""
        from django.core.exceptions import ValidationError

        from apps.core.periods import Period

        super().clean()
        try:
            self.period_key = Period.parse(self.period_key or "").key
        except ValueError as exc:
            raise ValidationError({"period_key": [str(exc)]}) from None


class Meeting(BaseModel):
    branch = models.ForeignKey(
        "organizations.Org",
        verbose_name="党支部",
        on_delete=models.PROTECT,
        related_name="meetings",
    )
    party_group = models.ForeignKey(
        "organizations.Org",
        verbose_name="党小组",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="group_meetings",
    )
    kinds = ArrayField(
        models.CharField(max_length=32, choices=MeetingKind.choices), verbose_name="会议类型"
    )
    title = models.CharField("会议名称/议题", max_length=200)
    place = models.CharField("地点", max_length=200, blank=True)
    starts_at = models.DateTimeField("开始时间")
    ends_at = models.DateTimeField("结束时间")
    state = models.CharField(
        "状态", max_length=16, choices=MeetingState.choices, default=MeetingState.PLANNED
    )
    planned_at = models.DateTimeField(
        "计划时间", null=True, blank=True, help_text="列入计划的时间；补录的会议为空"
    )
    unplanned_reason = models.CharField("未列入计划的原因", max_length=300, blank=True)
    host = models.ForeignKey(
        "members.Member",
        verbose_name="主持人",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    recorder = models.ForeignKey(
        "members.Member",
        verbose_name="记录人",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    lecturer = models.ForeignKey(
        "members.Member",
        verbose_name="授课人",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    lecturer_name = models.CharField("授课人（非本支部）", max_length=60, blank=True)
    minutes = models.TextField("讨论发言要点", blank=True)
    decisions = models.TextField("决议/决定", blank=True)
    topics = models.TextField("组织生活会主题", blank=True)
    # Counters (layer 1): kept equal to the attendance rows by the services.
    expected_count = models.PositiveIntegerField("应到人数", default=0)
    present_count = models.PositiveIntegerField("实到人数", default=0, help_text="含线上参会")
    online_count = models.PositiveIntegerField("线上参会", default=0)
    leave_count = models.PositiveIntegerField("请假人数", default=0)
    absent_count = models.PositiveIntegerField("缺席人数", default=0)
    roster_count = models.PositiveIntegerField("记录时支部党员数", default=0)
    recorded_at = models.DateTimeField("首次记录时间", null=True, blank=True)
    submitted_at = models.DateTimeField("报送时间", null=True, blank=True)
    reviewed_at = models.DateTimeField("审核时间", null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    review_comment = models.CharField("审核意见", max_length=500, blank=True)
    cancel_reason = models.CharField("取消原因", max_length=300, blank=True)
    version = models.PositiveIntegerField("版本", default=1)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # 纸上党建: MinHash LSH band hashes of the minutes (GIN-indexed; see apps/meetings/similarity.py)
    minutes_bands = ArrayField(models.BigIntegerField(), default=list, blank=True, editable=False)
    minutes_signature = ArrayField(
        models.BigIntegerField(), default=list, blank=True, editable=False
    )

    class Meta:
        verbose_name = "会议"
        verbose_name_plural = "会议"
        ordering = ["-starts_at", "-id"]
        indexes = [
            models.Index(fields=["branch", "starts_at"], name="meeting_branch_start_idx"),
            models.Index(fields=["state", "starts_at"], name="meeting_state_start_idx"),
            GinIndex(fields=["minutes_bands"], name="meeting_minutes_bands_gin"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gte=models.F("starts_at")), name="meeting_ends_after_start"
            ),
            models.CheckConstraint(
                condition=Q(present_count__lte=models.F("expected_count")),
                name="meeting_present_le_expected",
            ),
            models.CheckConstraint(condition=~Q(kinds=[]), name="meeting_has_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.title}（{self.kind_labels}）"

    @property
    def kind_labels(self) -> str:
        return "、".join(MeetingKind(k).label for k in self.kinds)

    @property
    def is_locked(self) -> bool:
        return self.state in LOCKED_STATES

    @property
    def counts(self) -> bool:
        return self.state in COUNTED_STATES


class AttendanceStatus(models.TextChoices):
    UNKNOWN = "unknown", "未登记"
    PRESENT = "present", "出席"
    ONLINE = "online", "线上参会"
    LEAVE = "leave", "请假"
    ABSENT = "absent", "缺席"


PRESENT_STATUSES = frozenset({AttendanceStatus.PRESENT, AttendanceStatus.ONLINE})


class ExclusionReason(models.TextChoices):
    """The situations in which a member may be left out of the expected count, with the
    superior's consent and the general meeting's approval (DOMAIN.md §1.4); nobody else."""

    INCAPABLE = "incapable", "因精神疾病等不能表达本人意志"
    ABROAD = "abroad", "自费出国半年以上"
    DISCIPLINE = "discipline", "留党察看期间或正在服刑"
    BEDRIDDEN = "bedridden", "年老体弱卧床、长期患病生活不能自理"
    AWAY = "away", "调动、下派、外出学习工作半年以上应转未转组织关系"
    RETIRED_AWAY = "retired_away", "回原籍长期居住确实不能参加的离退休党员"


class Attendance(models.Model):
    """One expected attendee of a meeting. The unique (meeting, member) index also serves
    lookups by meeting, so the FK has no index of its own (performance.md §7)."""

    meeting = models.ForeignKey(
        Meeting, on_delete=models.CASCADE, related_name="attendances", db_index=False
    )
    member = models.ForeignKey(
        "members.Member",
        verbose_name="党员",
        on_delete=models.PROTECT,
        related_name="meeting_attendances",
    )
    status = models.CharField(
        "出席情况",
        max_length=16,
        choices=AttendanceStatus.choices,
        default=AttendanceStatus.UNKNOWN,
    )
    reason = models.CharField("请假/缺席原因", max_length=200, blank=True)
    has_vote = models.BooleanField(
        "有表决权", default=True, help_text="计划时按党员状态确定；预备党员无表决权"
    )
    excluded_from_expected = models.BooleanField("不计入应到会人数", default=False)
    exclusion_reason = models.CharField(
        "不计入情形", max_length=24, choices=ExclusionReason.choices, blank=True
    )
    exclusion_basis = models.CharField(
        "不计入依据", max_length=300, blank=True, help_text="上级同意并经党员大会通过的依据"
    )

    class Meta:
        verbose_name = "出席"
        verbose_name_plural = "出席"
        constraints = [
            models.UniqueConstraint(
                fields=["meeting", "member"], name="attendance_meeting_member_unique"
            ),
            models.CheckConstraint(
                condition=Q(excluded_from_expected=False) | ~Q(exclusion_basis=""),
                name="attendance_exclusion_has_basis",
            ),
            models.CheckConstraint(
                condition=~Q(status="leave") | ~Q(reason=""), name="attendance_leave_has_reason"
            ),
        ]


class MeetingGuest(models.Model):
    """列席: an invited person who is not an expected member of the meeting."""

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="guests")
    name = models.CharField("姓名", max_length=60)
    affiliation = models.CharField("单位/身份", max_length=120, blank=True)

    class Meta:
        verbose_name = "列席人员"
        verbose_name_plural = "列席人员"


class AttachmentKind(models.TextChoices):
    SIGNIN = "signin", "签到表"
    PHOTO = "photo", "照片"
    OTHER = "other", "其他材料"


def attachment_path(instance, filename: str) -> str:
    return f"meetings/{instance.meeting_id}/{filename}"


class MeetingAttachment(models.Model):
    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="attachments")
    kind = models.CharField(
        "类型", max_length=16, choices=AttachmentKind.choices, default=AttachmentKind.OTHER
    )
    file = models.FileField("文件", upload_to=attachment_path, max_length=300)
    original_name = models.CharField("原文件名", max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField("大小（字节）")
    uploaded_at = models.DateTimeField(auto_now_add=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = "附件"
        verbose_name_plural = "附件"


class VoteKind(models.TextChoices):
    RESOLUTION = "resolution", "表决事项"
    ELECTION = "election", "选举"


class VoteItem(models.Model):
    """A 党员大会 vote (表决) or an election ballot for one candidate, with the outcome worked
    out by apps.meetings.rules at record time (the denominators are stored with it)."""

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="votes")
    kind = models.CharField(
        "类型", max_length=16, choices=VoteKind.choices, default=VoteKind.RESOLUTION
    )
    title = models.CharField("事项/候选人", max_length=200)
    yes = models.PositiveIntegerField("赞成")
    no = models.PositiveIntegerField("反对", default=0)
    abstain = models.PositiveIntegerField("弃权", default=0)
    expected_voting = models.PositiveIntegerField("应到会有表决权人数", default=0)
    present_voting = models.PositiveIntegerField("实到会有表决权人数", default=0)
    quorum_met = models.BooleanField("到会人数符合要求", default=False)
    passed = models.BooleanField("通过/当选", default=False)
    # elections: the candidates of one contest (e.g. 支部委员会委员) share `contest` and `seats`
    contest = models.CharField("选举职务", max_length=100, blank=True)
    seats = models.PositiveSmallIntegerField("应选人数", default=0)
    runoff = models.BooleanField(
        "需再次投票", default=False, help_text="过半数但在名额分界处票数相同，未当选"
    )

    class Meta:
        verbose_name = "表决"
        verbose_name_plural = "表决"
        ordering = ["id"]


class AppraisalGrade(models.TextChoices):
    EXCELLENT = "excellent", "优秀"
    QUALIFIED = "qualified", "合格"
    BASIC = "basically_qualified", "基本合格"
    UNQUALIFIED = "unqualified", "不合格"


class Appraisal(models.Model):
    """民主评议 result for one member at one meeting. 预备党员 take part with grade empty."""

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="appraisals")
    member = models.ForeignKey(
        "members.Member", verbose_name="党员", on_delete=models.PROTECT, related_name="appraisals"
    )
    grade = models.CharField("评定等次", max_length=24, choices=AppraisalGrade.choices, blank=True)
    comment = models.CharField("评议意见", max_length=300, blank=True)

    class Meta:
        verbose_name = "民主评议结果"
        verbose_name_plural = "民主评议结果"
        constraints = [
            models.UniqueConstraint(fields=["meeting", "member"], name="appraisal_unique")
        ]


class CriticismNote(models.Model):
    """组织生活会: one member's 批评与自我批评 notes."""

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="criticism_notes")
    member = models.ForeignKey(
        "members.Member", verbose_name="党员", on_delete=models.PROTECT, related_name="+"
    )
    self_criticism = models.TextField("自我批评", blank=True)
    criticism_received = models.TextField("相互批评意见", blank=True)

    class Meta:
        verbose_name = "批评与自我批评"
        verbose_name_plural = "批评与自我批评"
        constraints = [
            models.UniqueConstraint(fields=["meeting", "member"], name="criticism_unique")
        ]


class MeetingVersion(models.Model):
    """The record as it was before an edit of a locked (submitted/accepted) meeting."""

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField("版本")
    snapshot = models.JSONField("内容")
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.CharField("修改原因", max_length=300)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "会议记录历史版本"
        verbose_name_plural = "会议记录历史版本"
        ordering = ["meeting", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["meeting", "number"], name="meeting_version_unique")
        ]


class FlagCode(models.TextChoices):
    SIMILAR_MINUTES = "similar_minutes", "记录与其他会议高度雷同"
    LATE_ENTRY = "late_entry", "会后长时间补录"
    OVER_ROSTER = "over_roster", "实到人数超过支部党员数"
    UNPLANNED = "unplanned", "未列入计划且未说明原因"


class MeetingFlag(models.Model):
    """A 纸上党建 warning on a meeting, recomputed whenever the record changes."""

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="flags")
    code = models.CharField("问题", max_length=24, choices=FlagCode.choices)
    detail = models.CharField("说明", max_length=300, blank=True)
    other = models.ForeignKey(
        Meeting, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )

    class Meta:
        verbose_name = "记录疑点"
        verbose_name_plural = "记录疑点"
        indexes = [models.Index(fields=["code"], name="meeting_flag_code_idx")]


class BranchPeriodStat(models.Model):
    """Layer 2 rollup: one org (branch, or party group for 党小组会) × period × kind.

    `path` is the org's path copied here (C collation) so that a subtree is one index range
    scan on (period_key, path). `month_mask` has bit (month-1) set for every month of the period
    with at least one counted meeting. Kind "all" counts every meeting once."""

    org = models.ForeignKey(
        "organizations.Org", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    path = models.CharField(max_length=255, db_collation="C")
    period_key = models.CharField(max_length=10, db_collation="C")
    kind = models.CharField(max_length=32)
    meeting_count = models.IntegerField(default=0)
    month_mask = models.IntegerField(default=0)
    expected = models.IntegerField(default=0)
    present = models.IntegerField(default=0)
    leave = models.IntegerField(default=0)

    class Meta:
        verbose_name = "支部会议统计"
        verbose_name_plural = "支部会议统计"
        constraints = [
            models.UniqueConstraint(fields=["period_key", "path", "kind"], name="branch_stat_key")
        ]
        indexes = [models.Index(fields=["org", "period_key"], name="branch_stat_org_idx")]


class OrgPeriodStat(models.Model):
    """Layer 3 rollup: one row per org (any level) per quarter or year, over its subtree."""

    org = models.ForeignKey("organizations.Org", on_delete=models.CASCADE, related_name="+")
    parent_id_copy = models.IntegerField(null=True, db_index=False)
    path = models.CharField(max_length=255, db_collation="C")
    period_key = models.CharField(max_length=10, db_collation="C")
    branch_count = models.IntegerField(default=0)
    compliant_count = models.IntegerField(default=0)
    green = models.IntegerField(default=0)
    yellow = models.IntegerField(default=0)
    red = models.IntegerField(default=0)
    meeting_count = models.IntegerField(default=0)
    expected = models.IntegerField(default=0)
    present = models.IntegerField(default=0)
    leave = models.IntegerField(default=0)
    # {kind: {"applicable": n, "ok": n, "meetings": n}}
    per_kind = models.JSONField(default=dict)
    refreshed_at = models.DateTimeField()

    class Meta:
        verbose_name = "组织会议合规统计"
        verbose_name_plural = "组织会议合规统计"
        constraints = [models.UniqueConstraint(fields=["period_key", "org"], name="org_stat_key")]
        indexes = [
            models.Index(fields=["period_key", "parent_id_copy"], name="org_stat_parent_idx"),
            models.Index(fields=["period_key", "path"], name="org_stat_path_idx"),
        ]


class RollupDirty(models.Model):
    """Periods whose tree rollup must be refreshed (inserted ON CONFLICT DO NOTHING on write)."""

    period_key = models.CharField(max_length=10, primary_key=True)
    marked_at = models.DateTimeField(auto_now_add=True)
