"""Dashboard rollups (STYLE.md #7): small tables refreshed from raw rows by a periodic service,
so that a dashboard reads a few dozen rows whatever the size of the subtree.

`OrgMemberStat` holds, for every org and a snapshot date, the count of member records per
(dimension, bucket) over the org's whole subtree. Snapshots: the refresh replaces today's
snapshot and keeps only the latest snapshot of each past quarter (its closing figures), see
apps/dashboards/services.py and docs/architecture.md.
"""

from __future__ import annotations

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
