"""Dashboard rollups (STYLE.md #7): small tables refreshed from raw rows by a periodic service,
so that a dashboard reads a few dozen rows whatever the size of the subtree.

`OrgMemberStat` holds, for every org and a snapshot date, the count of member records per
(dimension, bucket) over the org's whole subtree. Snapshots: the refresh replaces today's
snapshot and keeps only the latest snapshot of each past quarter (its closing figures), see
apps/dashboards/services.py and docs/architecture.md.
"""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models


class MemberDimension(models.TextChoices):
    STATUS = "status", "党员状态"
    AGE = "age", "年龄"
    GENDER = "gender", "性别"
    EDUCATION = "education", "学历"
    OCCUPATION = "occupation", "职业"
    SENIORITY = "seniority", "党龄"


class OrgMemberStat(models.Model):
    as_of = models.DateField("统计日期")
    org = models.ForeignKey(
        "organizations.Org",
        verbose_name="党组织",
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
        # Derived rows rewritten whole by the refresh: no per-row foreign-key check (each takes a
        # KEY SHARE lock on an org row; a city refresh inserts about 350,000 rows).
        db_constraint=False,
    )
    dimension = models.CharField("维度", max_length=16, choices=MemberDimension.choices)
    bucket = models.CharField("分组", max_length=40)
    count = models.PositiveIntegerField("人数")

    class Meta:
        verbose_name = "党员统计汇总"
        verbose_name_plural = "党员统计汇总"
        constraints = [
            models.UniqueConstraint(
                fields=["as_of", "org", "dimension", "bucket"], name="org_member_stat_unique"
            ),
        ]
        indexes = [models.Index(fields=["org", "as_of"], name="org_member_stat_org_idx")]

    def __str__(self) -> str:
        return f"{self.org_id} {self.as_of} {self.dimension}:{self.bucket}={self.count}"


class RollupState(models.Model):
    """When each rollup was last refreshed (shown on the dashboard as 数据更新于)."""

    name = models.CharField(max_length=40, primary_key=True)
    as_of = models.DateField("统计日期", null=True)
    refreshed_at = models.DateTimeField("刷新时间", null=True)
    rows = models.PositiveIntegerField("行数", default=0)
    duration_ms = models.PositiveIntegerField("耗时（毫秒）", default=0)

    class Meta:
        verbose_name = "汇总刷新状态"
        verbose_name_plural = "汇总刷新状态"

    def __str__(self) -> str:
        return self.name


class OrgDuesStat(models.Model):
    """Party dues per org subtree and month, rolled up the tree from the members app's
    per-branch rollup (`members.DuesBranchMonth`) by the same path slicing as OrgMemberStat."""

    month = models.DateField("月份")
    org = models.ForeignKey(
        "organizations.Org",
        verbose_name="党组织",
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    members = models.PositiveIntegerField("应交人数", default=0)
    expected = models.DecimalField("应交（元）", max_digits=14, decimal_places=2, default=0)
    paid = models.DecimalField("已交（元）", max_digits=14, decimal_places=2, default=0)
    in_arrears = models.PositiveIntegerField("未交清人数", default=0)

    class Meta:
        verbose_name = "党费收缴汇总"
        verbose_name_plural = "党费收缴汇总"
        constraints = [
            models.UniqueConstraint(fields=["org", "month"], name="org_dues_stat_unique")
        ]

    def __str__(self) -> str:
        return f"{self.org_id} {self.month:%Y-%m}"


class OrgSubtreeStat(models.Model):
    """Small figures per org over its whole subtree, besides members and dues (STYLE.md #7):
    study-hour attainment per year, published star ratings and assessment scores per year,
    软弱涣散 designations per year, and 换届 terms due (as of the refresh). Rewritten by
    `services.subtree_stats_refresh` from the owning apps' rows by path slicing, so a dashboard
    reads the org's and its children's rows whatever the size of the subtree."""

    org = models.ForeignKey(
        "organizations.Org",
        verbose_name="党组织",
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    metric = models.CharField("指标", max_length=16)  # study, stars, score, weak, terms
    key = models.CharField("期间", max_length=10, blank=True)  # a year; "" for terms
    bucket = models.CharField("分组", max_length=24)
    count = models.IntegerField("数量", default=0)
    total = models.DecimalField("合计", max_digits=14, decimal_places=2, default=0)

    class Meta:
        verbose_name = "下级汇总统计"
        verbose_name_plural = "下级汇总统计"
        constraints = [
            models.UniqueConstraint(
                fields=["org", "metric", "key", "bucket"], name="org_subtree_stat_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.org_id} {self.metric}:{self.key}:{self.bucket}={self.count}"


class TermDue(models.Model):
    """换届提醒 list: every open term (not closed or result approved) whose deadline (with an
    approved extension) is within six months of the refresh day or past, with the label the
    organizations app gives it that day. A few per cent of the orgs; read by path prefix in
    deadline order, so the list costs the same at the root as at a branch."""

    org = models.ForeignKey(
        "organizations.Org",
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    path = models.CharField(max_length=255, db_collation="C")
    org_name = models.CharField(max_length=120)
    number = models.PositiveSmallIntegerField()
    deadline = models.DateField()
    label = models.CharField(max_length=40)
    overdue = models.BooleanField(default=False)
    as_of = models.DateField()

    class Meta:
        verbose_name = "换届提醒"
        verbose_name_plural = "换届提醒"
        indexes = [
            models.Index(fields=["deadline", "path"], name="term_due_deadline_idx"),
            models.Index(fields=["path"], name="term_due_path_idx"),
        ]


class RecordAttention(models.Model):
    """退回及疑点会议记录: every meeting record of a quarter that was returned or carries a 纸上党建
    flag (from `apps.meetings.selectors.attention_records`), copied with what the dashboard
    lists, for the current and previous quarter (older quarters keep their last rows). Read by
    path prefix, newest first; the subtree counts are OrgSubtreeStat rows (metric "records")."""

    meeting = models.ForeignKey(
        "meetings.Meeting",
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    period_key = models.CharField(max_length=10, db_collation="C")
    path = models.CharField(max_length=255, db_collation="C")
    starts_at = models.DateTimeField()
    branch_name = models.CharField(max_length=120)
    title = models.CharField(max_length=200)
    state_label = models.CharField(max_length=40)
    returned = models.BooleanField(default=False)
    codes = ArrayField(models.CharField(max_length=24), default=list, blank=True)
    flag_labels = models.CharField(max_length=300, blank=True)

    class Meta:
        verbose_name = "退回及疑点会议记录"
        verbose_name_plural = "退回及疑点会议记录"
        indexes = [
            models.Index(fields=["period_key", "path"], name="record_att_path_idx"),
            models.Index(fields=["period_key", "-starts_at"], name="record_att_start_idx"),
        ]


class OverdueBranch(models.Model):
    """逾期未开展三会一课的支部: the red branches of a quarter with what they missed (from
    `apps.meetings.selectors.overdue_requirements`, evaluated in one batch), for the current and
    previous quarter (older quarters keep their last rows). Read by path prefix; how many there
    are comes from the meetings tree rollup (OrgPeriodStat.red)."""

    org = models.ForeignKey(
        "organizations.Org",
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    period_key = models.CharField(max_length=10, db_collation="C")
    path = models.CharField(max_length=255, db_collation="C")
    branch_name = models.CharField(max_length=120)
    missed = models.CharField(max_length=500)

    class Meta:
        verbose_name = "逾期未开展三会一课的支部"
        verbose_name_plural = "逾期未开展三会一课的支部"
        constraints = [
            models.UniqueConstraint(fields=["period_key", "path"], name="overdue_branch_unique")
        ]
