"""The organization tree (党组织), its committees (班子) and terms (换届).

The tree is a materialized path (django-treebeard MP_Node, steplen 4, path in the C collation)
plus an explicit `parent` column kept equal to the path's parent by the services. See
docs/decisions/0001-tree-encoding.md. Parent changes are also kept with dates
(`OrgParentLink`) so that reports for a past quarter can sum over the tree as it was then.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import models
from django.db.models import Q
from django.db.models.functions import Upper
from treebeard.mp_tree import MP_Node, MP_NodeManager, MP_NodeQuerySet

from apps.core.models import BaseModel


class OrgType(models.TextChoices):
    LOCAL_COMMITTEE = "local_committee", "地方党委"
    PRIMARY_COMMITTEE = "primary_committee", "基层党委"
    WORK_COMMITTEE = "work_committee", "党工委"
    GENERAL_BRANCH = "general_branch", "党总支"
    BRANCH = "branch", "党支部"
    JOINT_BRANCH = "joint_branch", "联合党支部"
    TEMP_BRANCH = "temp_branch", "临时党支部"
    PARTY_GROUP = "party_group", "党小组"


BRANCH_TYPES = frozenset({OrgType.BRANCH, OrgType.JOINT_BRANCH, OrgType.TEMP_BRANCH})
COMMITTEE_TYPES = frozenset(
    {
        OrgType.LOCAL_COMMITTEE,
        OrgType.PRIMARY_COMMITTEE,
        OrgType.WORK_COMMITTEE,
        OrgType.GENERAL_BRANCH,
    }
)


class OrgCategory(models.TextChoices):
    RURAL = "rural", "农村"
    COMMUNITY = "community", "社区"
    GOVERNMENT = "government", "机关"
    INSTITUTION = "institution", "事业单位"
    STATE_ENTERPRISE = "state_enterprise", "国有企业"
    PRIVATE_ENTERPRISE = "private_enterprise", "非公有制企业"
    SOCIAL_ORGANIZATION = "social_organization", "社会组织"
    SCHOOL = "school", "学校"
    HOSPITAL = "hospital", "医院"
    OTHER = "other", "其他"


class SetupForm(models.TextChoices):
    STANDALONE = "standalone", "单独建"
    JOINT = "joint", "联合建"
    ATTACHED = "attached", "挂靠建"


class OrgQuerySet(MP_NodeQuerySet):
    def active(self) -> OrgQuerySet:
        return self.filter(abolished_on__isnull=True)

    def branches(self) -> OrgQuerySet:
        return self.filter(org_type__in=BRANCH_TYPES)

    def subtree_of(self, org: Org, *, include_self: bool = True) -> OrgQuerySet:
        """Descendants by literal path prefix (an index range scan in the C collation)."""
        qs = self.filter(path__startswith=org.path)
        return qs if include_self else qs.exclude(pk=org.pk)


class OrgManager(MP_NodeManager.from_queryset(OrgQuerySet)):
    def get_queryset(self) -> OrgQuerySet:
        return OrgQuerySet(self.model, using=self._db).order_by("path")


class Org(MP_Node, BaseModel):
    steplen = 4
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    node_order_by: list[str] = []

    path = models.CharField(max_length=255, unique=True, db_collation="C")
    # indexed by Meta.indexes "org_parent_idx" (no second, automatic FK index)
    parent = models.ForeignKey(
        "self",
        db_index=False,
        verbose_name="上级党组织",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    name = models.CharField("名称", max_length=120)
    short_name = models.CharField("简称", max_length=60, blank=True)
    code = models.CharField("组织代码", max_length=40, unique=True)
    org_type = models.CharField("组织类型", max_length=32, choices=OrgType.choices)
    category = models.CharField(
        "组织类别", max_length=32, choices=OrgCategory.choices, default=OrgCategory.OTHER
    )
    setup_form = models.CharField(
        "组建方式", max_length=16, choices=SetupForm.choices, default=SetupForm.STANDALONE
    )
    joint_units = models.JSONField(
        "联建单位", default=list, blank=True, help_text="联合党支部覆盖的单位（一般不超过5个）"
    )
    founded_on = models.DateField("成立日期", null=True, blank=True)
    abolished_on = models.DateField("撤销日期", null=True, blank=True)
    merged_into = models.ForeignKey(
        "self",
        verbose_name="并入组织",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="merged_from",
    )
    address = models.CharField("地址", max_length=200, blank=True)
    contact_name = models.CharField("联系人", max_length=40, blank=True)
    contact_phone = models.CharField("联系电话", max_length=40, blank=True)

    objects = OrgManager()

    class Meta:
        verbose_name = "党组织"
        verbose_name_plural = "党组织"
        ordering = ["path"]
        indexes = [
            models.Index(fields=["parent"], name="org_parent_idx"),
            models.Index(fields=["org_type"], name="org_type_idx"),
            # org_search: name__icontains / code__istartswith compile to UPPER(...) LIKE, which a
            # trigram index on the same expression serves (Chinese trigrams need a UTF-8 ctype).
            GinIndex(OpClass(Upper("name"), name="gin_trgm_ops"), name="org_name_trgm"),
            GinIndex(OpClass(Upper("code"), name="gin_trgm_ops"), name="org_code_trgm"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(abolished_on__isnull=True)
                | Q(founded_on__isnull=True)
                | Q(abolished_on__gte=models.F("founded_on")),
                name="org_abolished_after_founded",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_active(self) -> bool:
        return self.abolished_on is None

    @property
    def is_branch(self) -> bool:
        return self.org_type in BRANCH_TYPES

    @property
    def is_party_group(self) -> bool:
        return self.org_type == OrgType.PARTY_GROUP

    def ancestor_paths(self) -> list[str]:
        """Paths of every ancestor, root first (slices of the materialized path)."""
        return [self.path[: i * self.steplen] for i in range(1, self.depth)]


class OrgParentLink(models.Model):
    """The parent an org had during [valid_from, valid_to); valid_to is null for the current one."""

    org = models.ForeignKey(Org, on_delete=models.CASCADE, related_name="parent_links")
    parent = models.ForeignKey(
        Org, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    valid_from = models.DateField("起始日期")
    valid_to = models.DateField("截止日期", null=True, blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.CharField("原因", max_length=200, blank=True)

    class Meta:
        verbose_name = "隶属关系历史"
        verbose_name_plural = "隶属关系历史"
        ordering = ["org", "valid_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["org"], condition=Q(valid_to__isnull=True), name="one_current_parent_link"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.org_id} → {self.parent_id} [{self.valid_from}, {self.valid_to or '…'})"


class Position(models.TextChoices):
    SECRETARY = "secretary", "书记"
    DEPUTY_SECRETARY = "deputy_secretary", "副书记"
    ORGANIZATION = "organization_member", "组织委员"
    PUBLICITY = "publicity_member", "宣传委员"
    DISCIPLINE = "discipline_member", "纪检委员"
    MEMBER = "member", "委员"
    GROUP_LEADER = "group_leader", "党小组组长"


class CommitteePosition(BaseModel):
    """A member record holding a committee position (班子成员) from started_on to ended_on."""

    org = models.ForeignKey(
        Org, verbose_name="党组织", on_delete=models.PROTECT, related_name="positions"
    )
    member = models.ForeignKey(
        "members.Member", verbose_name="党员", on_delete=models.PROTECT, related_name="positions"
    )
    position = models.CharField("职务", max_length=32, choices=Position.choices)
    started_on = models.DateField("任职日期")
    ended_on = models.DateField("离任日期", null=True, blank=True)
    term = models.ForeignKey(
        "Term",
        verbose_name="届次",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="positions",
    )

    class Meta:
        verbose_name = "班子成员"
        verbose_name_plural = "班子成员"
        ordering = ["org", "position", "started_on"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ended_on__isnull=True) | Q(ended_on__gte=models.F("started_on")),
                name="position_dates",
            ),
            models.UniqueConstraint(
                fields=["org", "member", "position"],
                condition=Q(ended_on__isnull=True),
                name="one_open_position_per_member",
            ),
            # 书记 is a single-holder position: at most one open 书记 per org at any time.
            models.UniqueConstraint(
                fields=["org"],
                condition=Q(position="secretary", ended_on__isnull=True),
                name="one_open_secretary_per_org",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.org} {self.get_position_display()} {self.member}"


class TermState(models.TextChoices):
    ACTIVE = "active", "任期内"
    REQUEST_SUBMITTED = "request_submitted", "已请示换届"
    REQUEST_APPROVED = "request_approved", "换届请示已批复"
    ELECTION_HELD = "election_held", "已选举"
    RESULT_APPROVED = "result_approved", "选举结果已批复"
    EXTENSION_APPROVED = "extension_approved", "已批准延期"
    CLOSED = "closed", "已换届（历史）"


class Term(BaseModel):
    """One term (届) of an organization's committee. The display state adds the time-derived
    states 即将到期 (due soon, from T-6 months) and 逾期未换届 (overdue) — see services."""

    org = models.ForeignKey(
        Org, verbose_name="党组织", on_delete=models.PROTECT, related_name="terms"
    )
    number = models.PositiveSmallIntegerField("届次", default=1)
    elected_on = models.DateField("选举日期")
    term_years = models.PositiveSmallIntegerField("任期（年）")
    ends_on = models.DateField("任期届满日期")
    state = models.CharField(
        "状态", max_length=32, choices=TermState.choices, default=TermState.ACTIVE
    )
    extension_until = models.DateField("延期至", null=True, blank=True)
    request_submitted_on = models.DateField("请示日期", null=True, blank=True)
    request_approved_on = models.DateField("批复日期", null=True, blank=True)
    election_held_on = models.DateField("选举日期（新一届）", null=True, blank=True)
    result_approved_on = models.DateField("结果批复日期", null=True, blank=True)
    note = models.CharField("备注", max_length=300, blank=True)

    class Meta:
        verbose_name = "届次"
        verbose_name_plural = "届次"
        ordering = ["org", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["org", "number"], name="term_number_unique"),
            models.UniqueConstraint(
                fields=["org"], condition=~Q(state="closed"), name="one_open_term_per_org"
            ),
            models.CheckConstraint(
                condition=Q(ends_on__gt=models.F("elected_on")), name="term_ends_after_election"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.org} 第{self.number}届"
