"""Per-request context (user, IP) for audit entries written deep inside services."""

from __future__ import annotations

import contextvars
from dataclasses import dataclass

_current: contextvars.ContextVar[RequestInfo | None] = contextvars.ContextVar(
    "request_info", default=None
)


@dataclass(frozen=True)
class RequestInfo:
    ip: str | None
    user_id: int | None


def client_ip(request) -> str | None:
    from django.conf import settings

    if getattr(settings, "SECURE_PROXY_SSL_HEADER", None):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[0].strip()
    return request.META.get("REMOTE_ADDR") or None


def current_ip() -> str | None:
    info = _current.get()
    return info.ip if info else None


class RequestContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        token = _current.set(
            RequestInfo(
                ip=client_ip(request), user_id=user.pk if user and user.is_authenticated else None
            )
        )
        try:
            return self.get_response(request)
        finally:
            _current.reset(token)


def navigation(request):
    """Template context: the navigation entries the signed-in user may use."""
    user = getattr(request, "user", None)
    if not user or not user.is_authenticated:
        return {}
    from apps.accounts.scope import navigation_for

    return {"nav_items": navigation_for(user)}
