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
MEMBER_STATUSES = frozenset({MemberStatus.PROBATIONARY, MemberStatus.PROBATION_EXTENDED, MemberStatus.FULL})
PROBATIONARY_STATUSES = frozenset({MemberStatus.PROBATIONARY, MemberStatus.PROBATION_EXTENDED})
PIPELINE_STATUSES = frozenset({MemberStatus.APPLICANT, MemberStatus.ACTIVIST, MemberStatus.CANDIDATE})


class MemberQuerySet(models.QuerySet):
    def party_members(self) -> MemberQuerySet:
        """预备党员 and 正式党员 (the roster)."""
        return self.filter(status__in=MEMBER_STATUSES)

    def full_members(self) -> MemberQuerySet:
        return self.filter(status=MemberStatus.FULL)


class Member(BaseModel):
    branch = models.ForeignKey(
        "organizations.Org", verbose_name="所在党支部", on_delete=models.PROTECT, related_name="members"
    )
    party_group = models.ForeignKey(
        "organizations.Org", verbose_name="所在党小组", null=True, blank=True, on_delete=models.SET_NULL,
        related_name="group_members",
    )
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, verbose_name="登录账号", null=True, blank=True, on_delete=models.SET_NULL,
        related_name="member",
    )
    name = models.CharField("姓名", max_length=64, db_collation="C")
    gender = models.CharField("性别", max_length=8, choices=Gender.choices)
    birth_date = models.DateField("出生日期", null=True, blank=True)
    status = models.CharField("党员状态", max_length=32, choices=MemberStatus.choices, default=MemberStatus.FULL)
    joined_on = models.DateField("入党日期", null=True, blank=True, help_text="支部大会通过接收为预备党员之日")
    confirmed_on = models.DateField("转正日期", null=True, blank=True, help_text="党龄自此日起算")

    # Personal data: encrypted at rest, exact lookup through a keyed hash, masked copy for display.
    id_number = EncryptedTextField("公民身份号码", blank=True, default="")
    id_number_hash = models.CharField(max_length=64, blank=True, default="", db_index=True, editable=False)
    id_number_masked = models.CharField("公民身份号码", max_length=24, blank=True, default="", editable=False)
    phone = EncryptedTextField("联系电话", blank=True, default="")
    phone_hash = models.CharField(max_length=64, blank=True, default="", db_index=True, editable=False)
    phone_masked = models.CharField("联系电话", max_length=24, blank=True, default="", editable=False)

    objects = MemberQuerySet.as_manager()

    class Meta:
        verbose_name = "党员"
        verbose_name_plural = "党员"
        ordering = ["name", "id"]
        indexes = [
            models.Index(fields=["name", "id"], name="member_name_c_idx"),
            models.Index(fields=["branch", "status"], name="member_branch_status_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["id_number_hash"], condition=~Q(id_number_hash=""), name="member_id_number_unique"
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
