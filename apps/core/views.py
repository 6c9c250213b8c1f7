from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
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
    groups: dict[str, list] = {}
    for key, rule in registry().items():
        posted = request.POST.get("value") if errors.get(key) else None
        groups.setdefault(key.split(".")[0], []).append(
            {
                "rule": rule,
                "value": posted if posted is not None else rule.display(rule_value(key)),
                "default": rule.display(rule.default),
                "multiline": rule.kind in (dict, list),
                "error": errors.get(key),
                "changed": rule_value(key) != rule.default,
            }
        )
    sections = [
        {"app": app, "label": APP_LABELS.get(app, app), "rows": rows}
        for app, rows in groups.items()
    ]
    return render(request, "core/rules.html", {"sections": sections}, status=400 if errors else 200)


APP_LABELS = {
    "organizations": "党组织",
    "members": "党员",
    "meetings": "三会一课",
    "assessments": "考核评议",
    "notifications": "提醒通知",
    "reports": "季度报告",
    "dashboards": "数据看板",
    "accounts": "账号",
    "core": "通用",
}


@login_required
def reveal(request: HttpRequest, label: str, pk: int, field: str) -> HttpResponse:
    """HTMX fragment of components/_reveal.html: GET asks for a reason, POST shows the value."""
    from apps.accounts.scope import require
    from apps.core.reveal import load_revealable, personal_data_reveal, reveal_context, revealable

    obj = load_revealable(request.user, label, pk)
    if field not in revealable(label).fields:
        raise Http404("未找到。")
    if request.method == "POST":
        reason = request.POST.get("reason", "")
        try:
            value = personal_data_reveal(actor=request.user, obj=obj, field=field, reason=reason)
        except ValidationError as exc:
            context = reveal_context(
                request.user, obj, field, state="form", error="；".join(exc.messages), reason=reason
            )
            return render(request, "components/_reveal.html", context, status=400)
        return render(
            request,
            "components/_reveal.html",
            reveal_context(request.user, obj, field, state="value", value=value),
        )
    if request.GET.get("cancel"):
        return render(request, "components/_reveal.html", reveal_context(request.user, obj, field))
    require(request.user, "reveal", revealable(label).org_of(obj))
    return render(
        request, "components/_reveal.html", reveal_context(request.user, obj, field, state="form")
    )


@login_required
def private_media(request: HttpRequest, name: str) -> HttpResponse:
    """An uploaded file, only when its owning row is in the user's scope (apps/core/media.py)."""
    from apps.core import media

    if not media.file_visible(request.user, name):
        raise Http404("未找到。")
    return media.serve(name)
