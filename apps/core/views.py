from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render

from apps.accounts.scope import require_capability
from apps.core.rules import registry, rule_set, rule_value


def root(request: HttpRequest) -> HttpResponse:
    return redirect("accounts:home" if request.user.is_authenticated else "accounts:login")


def health(request: HttpRequest) -> JsonResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


@login_required
def rule_list(request: HttpRequest) -> HttpResponse:
    """规则参数: the local-practice rules administrators may change."""
    require_capability(request.user, "admin_rules")
    errors: dict[str, str] = {}
    if request.method == "POST":
        key = request.POST.get("key", "")
        if key in registry():
            try:
                rule_set(key=key, value=request.POST.get("value", ""), actor=request.user)
            except ValidationError as exc:
                errors[key] = "；".join(exc.messages)
            else:
                messages.success(request, f"已更新：{registry()[key].label}")
                return redirect("core:rules")
    rows = [
        {"rule": rule, "value": rule_value(key), "error": errors.get(key)} for key, rule in registry().items()
    ]
    return render(request, "core/rules.html", {"rows": rows}, status=400 if errors else 200)
