"""Quarterly review reports (季度工作报告 / 督查通报): versioned PDF + Excel per org and quarter,
and the batches that build them (one job row per org, STYLE.md #8-9)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from apps.core.models import BaseModel


def _upload_to(instance: QuarterlyReport, filename: str) -> str:
    return f"reports/{instance.org_id}/{instance.year}Q{instance.quarter}/{filename}"


class QuarterlyReport(BaseModel):
    """One built version. Exactly one version per (org, year, quarter) is current; a rebuild adds
    a version and moves `is_current` to it in one transaction. Older versions stay downloadable."""

    org = models.ForeignKey(
        "organizations.Org", verbose_name="党组织", on_delete=models.PROTECT, related_name="+"
    )
    year = models.PositiveSmallIntegerField("年度")
    quarter = models.PositiveSmallIntegerField("季度")
    version = models.PositiveSmallIntegerField("版本")
    is_current = models.BooleanField("当前版本", default=False)
    title = models.CharField("标题", max_length=200)
    members_as_of = models.DateField("党员数据截至", null=True, blank=True)
    figures = models.JSONField(
        "数据", default=list, help_text="the dashboard sections the files were built from"
    )
    pdf = models.FileField("PDF", upload_to=_upload_to, max_length=255)
    xlsx = models.FileField("Excel", upload_to=_upload_to, max_length=255)
    built_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="生成人",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    batch = models.ForeignKey(
        "ReportBatch", null=True, blank=True, on_delete=models.SET_NULL, related_name="reports"
    )

    class Meta:
        verbose_name = "季度报告"
        verbose_name_plural = "季度报告"
        ordering = ["org", "-year", "-quarter", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["org", "year", "quarter", "version"], name="report_version_unique"
            ),
            models.UniqueConstraint(
                fields=["org", "year", "quarter"],
                condition=Q(is_current=True),
                name="report_one_current",
            ),
            models.CheckConstraint(
                condition=Q(quarter__gte=1, quarter__lte=4), name="report_quarter_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} v{self.version}"

    @property
    def period_key(self) -> str:
        return f"{self.year}-Q{self.quarter}"


class BatchTrigger(models.TextChoices):
    SCHEDULED = "scheduled", "季度自动生成"
    MANUAL = "manual", "手动生成"


class ReportBatch(BaseModel):
    """A run building the reports of `root` (only root when `single`, else every committee and
    branch of its subtree) for one quarter. Progress is counted from its job rows."""

    root = models.ForeignKey(
        "organizations.Org", verbose_name="党组织", on_delete=models.PROTECT, related_name="+"
    )
    year = models.PositiveSmallIntegerField("年度")
    quarter = models.PositiveSmallIntegerField("季度")
    trigger = models.CharField(
        "方式", max_length=16, choices=BatchTrigger.choices, default=BatchTrigger.MANUAL
    )
    single = models.BooleanField("仅本组织", default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="发起人",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    total = models.PositiveIntegerField("总数", default=0)

    class Meta:
        verbose_name = "报告生成批次"
        verbose_name_plural = "报告生成批次"
        ordering = ["-created_at"]
        constraints = [
            # The quarterly sweep creates each root's scheduled batch once, however often it runs.
            models.UniqueConstraint(
                fields=["root", "year", "quarter"],
                condition=Q(trigger="scheduled"),
                name="batch_one_scheduled",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.root} {self.year}-Q{self.quarter}"

    @property
    def period_key(self) -> str:
        return f"{self.year}-Q{self.quarter}"


class JobState(models.TextChoices):
    PENDING = "pending", "排队中"
    RUNNING = "running", "生成中"
    DONE = "done", "已完成"
    FAILED = "failed", "失败"


class ReportJob(models.Model):
    """One org's report inside a batch; the task claims it with a conditional UPDATE."""

    batch = models.ForeignKey(ReportBatch, on_delete=models.CASCADE, related_name="jobs")
    org = models.ForeignKey("organizations.Org", on_delete=models.PROTECT, related_name="+")
    state = models.CharField(
        "状态", max_length=16, choices=JobState.choices, default=JobState.PENDING
    )
    attempts = models.PositiveSmallIntegerField("尝试次数", default=0)
    error = models.TextField("错误", blank=True)
    queued_at = models.DateTimeField(null=True, blank=True)  # last time its task was published
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    report = models.ForeignKey(
        QuarterlyReport, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = "报告生成任务"
        verbose_name_plural = "报告生成任务"
        constraints = [
            models.UniqueConstraint(fields=["batch", "org"], name="job_batch_org_unique")
        ]
        indexes = [models.Index(fields=["batch", "state"], name="job_batch_state_idx")]

    def __str__(self) -> str:
        return f"{self.batch_id}:{self.org_id} {self.state}"
