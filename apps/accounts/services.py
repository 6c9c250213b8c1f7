from __future__ import annotations

from django.db import transaction

from apps.core.audit import audit_log
from apps.core.context import client_ip
from apps.core.models import AuditAction


def sign_in_audit(*, user, request) -> None:
    audit_log(actor=user, action=AuditAction.LOGIN, obj=user, verb="sign_in", ip=client_ip(request))


def sign_in_failed_audit(*, username: str, request) -> None:
    with transaction.atomic():
        audit_log(
            actor=None,
            action=AuditAction.LOGIN_FAILED,
            verb="sign_in",
            object_type="accounts.user",
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
