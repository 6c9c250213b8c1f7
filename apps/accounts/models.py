from __future__ import annotations

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.db.models import Q

from apps.core import crypto
from apps.core.fields import EncryptedTextField
from apps.core.models import BaseModel


class User(AbstractUser):
    """A person who signs in. Signs in with username or phone (found via its keyed hash)."""

    full_name = models.CharField("姓名", max_length=64, blank=True)
    phone = EncryptedTextField("手机号", blank=True, default="")
    phone_hash = models.CharField(max_length=64, blank=True, default="", editable=False)
    phone_masked = models.CharField("手机号", max_length=24, blank=True, default="", editable=False)
    # Who created the account: an account without role grants is managed by its creator only.
    created_by = models.ForeignKey(
        "self",
        verbose_name="创建人",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    objects = UserManager()

    class Meta:
        verbose_name = "用户"
        verbose_name_plural = "用户"
        constraints = [
            models.UniqueConstraint(
                fields=["phone_hash"], condition=~Q(phone_hash=""), name="user_phone_unique"
            ),
        ]

    def __str__(self) -> str:
        return self.full_name or self.username

    def get_full_name(self) -> str:
        return self.full_name or super().get_full_name() or self.username

    def set_phone(self, value: str) -> None:
        value = (value or "").strip()
        self.phone = value
        self.phone_hash = crypto.blind_index("phone", value) if value else ""
        self.phone_masked = crypto.mask_phone(value) if value else ""


class Role(models.TextChoices):
    SYSADMIN = "sysadmin", "系统管理员"
    ORG_STAFF = "org_staff", "组织部/上级党委"
    SECRETARY = "secretary", "支部书记"
    COMMITTEE = "committee", "支委"
    MEMBER = "member", "党员"


class RoleGrant(BaseModel):
    """A role held by a user at an org node; it reaches the node's whole subtree."""

    user = models.ForeignKey(
        User, verbose_name="用户", on_delete=models.CASCADE, related_name="grants"
    )
    org = models.ForeignKey(
        "organizations.Org", verbose_name="党组织", on_delete=models.PROTECT, related_name="grants"
    )
    role = models.CharField("角色", max_length=16, choices=Role.choices)
    granted_by = models.ForeignKey(
        User,
        verbose_name="授权人",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = "角色授权"
        verbose_name_plural = "角色授权"
        constraints = [models.UniqueConstraint(fields=["user", "org", "role"], name="grant_unique")]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_role_display()} · {self.org}"
