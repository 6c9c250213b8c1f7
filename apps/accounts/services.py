"""Writes of accounts: sign-in audit, users, passwords and role grants.

Every service is one transaction and writes its audit entry inside it. Who may manage whom is
decided by `apps.accounts.selectors.users_manageable_by` (docs/decisions/0002-user-scope.md).
"""

from __future__ import annotations

import re

from django.contrib.auth import password_validation
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404

from apps.accounts.models import Role, RoleGrant, User
from apps.accounts.scope import forget_scope, require
from apps.core import crypto
from apps.core.audit import audit_log, diff
from apps.core.context import client_ip
from apps.core.models import AuditAction

PHONE_RE = re.compile(r"^1\d{10}$")
USERNAME_RE = re.compile(r"^[A-Za-z0-9_.@+-]{3,150}$")
# The roles that belong to one branch (their grant must be at a 支部).
BRANCH_ROLES = frozenset({Role.SECRETARY, Role.COMMITTEE, Role.MEMBER})


# --- sign-in ------------------------------------------------------------------------------


def sign_in_audit(*, user, request) -> None:
    audit_log(actor=user, action=AuditAction.LOGIN, obj=user, verb="sign_in", ip=client_ip(request))


def sign_in_failed_audit(*, username: str, request) -> None:
    """A failed sign-in, in its own transaction. When the name is a known account (username or
    phone) the entry points at it, so that the account's administrators see it."""
    username = (username or "").strip()
    known = User.objects.filter(username=username).only("pk").first()
    if known is None and username.isdigit():
        known = (
            User.objects.filter(phone_hash=crypto.blind_index("phone", username)).only("pk").first()
        )
    with transaction.atomic():
        audit_log(
            actor=None,
            action=AuditAction.LOGIN_FAILED,
            verb="sign_in",
            object_type="accounts.user",
            object_id=str(known.pk) if known else "",
            object_repr=username[:150],
            ip=client_ip(request),
        )


def sign_out_audit(*, user, request) -> None:
    audit_log(
        actor=user, action=AuditAction.LOGOUT, obj=user, verb="sign_out", ip=client_ip(request)
    )


@transaction.atomic
def token_sign_in(*, user, request) -> str:
    """Issue (or return) the user's API token; audited like a sign-in."""
    from rest_framework.authtoken.models import Token

    token, _ = Token.objects.get_or_create(user=user)
    audit_log(
        actor=user, action=AuditAction.LOGIN, obj=user, verb="token_sign_in", ip=client_ip(request)
    )
    return token.key


# --- users --------------------------------------------------------------------------------


def require_manageable(actor, user: User) -> None:
    """404 unless `actor` manages `user` (403 when the actor manages no users at all)."""
    from apps.accounts.scope import require_capability
    from apps.accounts.selectors import users_manageable_by

    require_capability(actor, "admin_users")
    if not users_manageable_by(actor).filter(pk=user.pk).exists():
        raise Http404("未找到。")


def _clean_phone(phone: str, *, exclude_pk: int | None = None) -> str:
    phone = re.sub(r"[\s-]", "", phone or "")
    if not phone:
        return ""
    if not PHONE_RE.match(phone):
        raise ValidationError({"phone": ["请输入11位手机号码。"]})
    taken = User.objects.filter(phone_hash=crypto.blind_index("phone", phone))
    if exclude_pk:
        taken = taken.exclude(pk=exclude_pk)
    if taken.exists():
        raise ValidationError({"phone": ["该手机号已被其他账号使用。"]})
    return phone


def _check_password(password: str, user: User, field: str = "password") -> None:
    try:
        password_validation.validate_password(password, user)
    except ValidationError as exc:
        raise ValidationError({field: exc.messages}) from None


@transaction.atomic
def user_create(*, actor, username: str, full_name: str, phone: str = "", password: str) -> User:
    """Create an account (no grants yet: only its creator manages it until a role is granted)."""
    from apps.accounts.scope import require_capability

    require_capability(actor, "admin_users")
    username = (username or "").strip()
    full_name = (full_name or "").strip()
    errors: dict[str, list[str]] = {}
    if not USERNAME_RE.match(username):
        errors["username"] = ["用户名为3至150位字母、数字或 _ . @ + - 。"]
    elif User.objects.filter(username__iexact=username).exists():
        errors["username"] = [f"用户名“{username}”已被使用。"]
    if not full_name:
        errors["full_name"] = ["请填写姓名。"]
    try:
        phone = _clean_phone(phone)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    user = User(username=username, full_name=full_name, created_by=_real(actor))
    try:
        _check_password(password, user)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    user.set_phone(phone)
    user.set_password(password)
    user.save()
    audit_log(
        actor=actor,
        action=AuditAction.CREATE,
        obj=user,
        verb="user_create",
        changes={
            "username": [None, username],
            "full_name": [None, full_name],
            "phone": [None, user.phone_masked],
        },
    )
    return user


@transaction.atomic
def user_update(
    *, actor, user: User, full_name: str | None = None, phone: str | None = None
) -> User:
    require_manageable(actor, user)
    before = {"full_name": user.full_name, "phone": user.phone_masked}
    if full_name is not None:
        full_name = full_name.strip()
        if not full_name:
            raise ValidationError({"full_name": ["请填写姓名。"]})
        user.full_name = full_name
    if phone is not None:
        user.set_phone(_clean_phone(phone, exclude_pk=user.pk))
    user.save()
    changes = diff(before, {"full_name": user.full_name, "phone": user.phone_masked})
    if changes:
        audit_log(
            actor=actor, action=AuditAction.UPDATE, obj=user, verb="user_update", changes=changes
        )
    return user


@transaction.atomic
def user_deactivate(*, actor, user: User) -> User:
    """Stop an account from signing in (its token is deleted). Records stay."""
    from rest_framework.authtoken.models import Token

    require_manageable(actor, user)
    if _real(actor) is not None and actor.pk == user.pk:
        raise ValidationError("不能停用自己的账号。")
    if not user.is_active:
        return user
    user.is_active = False
    user.save(update_fields=["is_active"])
    Token.objects.filter(user=user).delete()
    audit_log(
        actor=actor,
        action=AuditAction.UPDATE,
        obj=user,
        verb="user_deactivate",
        changes={"is_active": [True, False]},
    )
    return user


@transaction.atomic
def user_activate(*, actor, user: User) -> User:
    require_manageable(actor, user)
    if user.is_active:
        return user
    user.is_active = True
    user.save(update_fields=["is_active"])
    audit_log(
        actor=actor,
        action=AuditAction.UPDATE,
        obj=user,
        verb="user_activate",
        changes={"is_active": [False, True]},
    )
    return user


@transaction.atomic
def password_reset(*, actor, user: User, password: str) -> None:
    """An administrator sets a new password for a user they manage."""
    from rest_framework.authtoken.models import Token

    require_manageable(actor, user)
    _check_password(password, user)
    user.set_password(password)
    user.save(update_fields=["password"])
    Token.objects.filter(user=user).delete()
    audit_log(
        actor=actor,
        action=AuditAction.UPDATE,
        obj=user,
        verb="password_reset",
        changes={"password": ["******", "******"]},
    )


@transaction.atomic
def password_change(*, user: User, old_password: str, new_password: str) -> None:
    """The signed-in user changes their own password."""
    if not user.check_password(old_password or ""):
        raise ValidationError({"old_password": ["原密码不正确。"]})
    _check_password(new_password, user, field="new_password")
    user.set_password(new_password)
    user.save(update_fields=["password"])
    audit_log(
        actor=user,
        action=AuditAction.UPDATE,
        obj=user,
        verb="password_change",
        changes={"password": ["******", "******"]},
    )


# --- role grants ----------------------------------------------------------------------------


@transaction.atomic
def role_grant(*, actor, user: User, org, role: str) -> RoleGrant:
    """Grant `role` at `org`. The actor needs `admin_users` at `org` (a node outside their subtree
    is a 404, so nobody grants above themselves) and must manage `user`."""
    from apps.organizations.models import BRANCH_TYPES

    require(actor, "admin_users", org)
    require_manageable(actor, user)
    if role not in Role.values:
        raise ValidationError({"role": ["请选择有效的角色。"]})
    if role in BRANCH_ROLES and org.org_type not in BRANCH_TYPES:
        raise ValidationError({"org": [f"{Role(role).label}只能授予在党支部。"]})
    if org.abolished_on is not None:
        raise ValidationError({"org": ["该党组织已撤销。"]})
    if RoleGrant.objects.filter(user=user, org=org, role=role).exists():
        raise ValidationError({"role": ["该用户在此党组织已有这一角色。"]})
    grant = RoleGrant.objects.create(user=user, org=org, role=role, granted_by=_real(actor))
    forget_scope(user)
    audit_log(
        actor=actor,
        action=AuditAction.CREATE,
        obj=grant,
        verb="role_grant",
        changes={"user": [None, user.username], "role": [None, role], "org": [None, org.name]},
    )
    return grant


@transaction.atomic
def role_revoke(*, actor, grant: RoleGrant) -> None:
    require(actor, "admin_users", grant.org)
    if _real(actor) is not None and grant.user_id == actor.pk:
        raise PermissionDenied("不能撤销自己的角色授权。")
    audit_log(
        actor=actor,
        action=AuditAction.DELETE,
        obj=grant,
        verb="role_revoke",
        changes={
            "user": [grant.user.username, None],
            "role": [grant.role, None],
            "org": [grant.org.name, None],
        },
    )
    grant.delete()
    forget_scope(grant.user)


def grants_follow_merge(*, org, into, actor=None, **_) -> None:
    """`org` was merged into `into` (organizations' `org_merged` signal, inside the merge's
    transaction). Members moved to `into`, so their 党员 grants move with them; the roles of
    the old org's office holders (书记, 支委, staff, administrators) lapse with the org — the
    scope already ignores grants on abolished orgs — and the merge's audit trail lists them so
    an administrator can re-grant where needed."""
    from apps.organizations.models import BRANCH_TYPES

    grants = list(RoleGrant.objects.select_related("user").filter(org=org))
    moved, lapsed = [], []
    for grant in grants:
        if grant.role == Role.MEMBER and into.org_type in BRANCH_TYPES:
            if not RoleGrant.objects.filter(user=grant.user, org=into, role=grant.role).exists():
                RoleGrant.objects.create(
                    user=grant.user, org=into, role=grant.role, granted_by=_real(actor)
                )
            grant.delete()
            moved.append(grant.user.username)
        else:
            lapsed.append(f"{grant.user.username}（{grant.get_role_display()}）")
        forget_scope(grant.user)
    if moved or lapsed:
        audit_log(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=org,
            verb="grants_follow_merge",
            changes={"member_grants_moved": [None, moved], "grants_lapsed": [None, lapsed]},
        )


def _real(actor):
    return actor if actor is not None and getattr(actor, "is_authenticated", False) else None


__all__ = [
    "password_change",
    "password_reset",
    "role_grant",
    "role_revoke",
    "sign_in_audit",
    "sign_in_failed_audit",
    "sign_out_audit",
    "token_sign_in",
    "user_activate",
    "user_create",
    "user_deactivate",
    "user_update",
]
