from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header

from apps.accounts.scope import can, get_org_or_404, require_capability, scope_of
from apps.core.audit import audit_log
from apps.core.models import AuditAction
from apps.core.periods import Period, PeriodKind, local_today
from apps.dashboards import selectors
from apps.dashboards.excel import sections_workbook
from apps.dashboards.sections import context_for, sections_for
from apps.organizations.models import Org

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def org_for_dashboard(user, pk) -> Org:
    """404 outside the user's subtree; 403 for a member-only grant (no `view` capability)."""
    org = get_org_or_404(user, pk)
    if not can(user, "view", org):
        raise PermissionDenied("没有权限查看该党组织的数据看板。")
    return org


def quarter_param(value: str | None) -> Period:
    """The quarter in `?q=2026-Q3`; ValueError with a Chinese message when malformed."""
    if not value:
        return Period.current(PeriodKind.QUARTER)
    period = Period.parse(value)
    if period.kind != PeriodKind.QUARTER:
        raise ValueError(f"请选择季度（如 2026-Q3），而不是“{value}”。")
    if period > Period.current(PeriodKind.QUARTER):
        raise ValueError("不能查看尚未开始的季度。")
    return period


def quarter_choices(count: int = 8) -> list[Period]:
    current = Period.current(PeriodKind.QUARTER)
    result = [current]
    while len(result) < count:
        result.append(result[-1].previous())
    return result


def _link(org: Org, period: Period) -> str:
    return reverse("dashboards:org", args=[org.pk]) + f"?q={period.key}"


def sections_for_request(org: Org, period: Period):
    ctx = context_for(org=org, period=period, today=local_today(), link=lambda o: _link(o, period))
    return ctx, sections_for(ctx)


@login_required
def home(request: HttpRequest) -> HttpResponse:
    require_capability(request.user, "view")
    scope = scope_of(request.user)
    if scope.unrestricted:
        top = Org.objects.filter(depth=1).order_by("path").first()
    else:
        top = Org.objects.filter(path__in=scope.paths.get("view", ())).order_by("path").first()
    if top is None:
        raise Http404("未找到。")
    return redirect("dashboards:org", pk=top.pk)


@login_required
def org_dashboard(request: HttpRequest, pk: int) -> HttpResponse:
    org = org_for_dashboard(request.user, pk)
    try:
        period = quarter_param(request.GET.get("q"))
    except ValueError as exc:
        messages.error(request, str(exc))
        period = Period.current(PeriodKind.QUARTER)
    ctx, sections = sections_for_request(org, period)
    groups: dict[str, list] = {}
    for section in sections:
        groups.setdefault(section.group, []).append(section)
    return render(
        request,
        "dashboards/org.html",
        {
            "org": org,
            "period": period,
            "as_of": ctx.as_of,
            "quarters": quarter_choices(),
            "summary": next((s for s in sections if s.code == "summary"), None),
            "sections": [s for s in sections if s.code != "summary"],
            "breadcrumb": selectors.ancestors_visible(org, request.user),
            "parent_visible": org.parent_id and can(request.user, "view", org.parent)
            if org.parent_id
            else False,
        },
    )


@login_required
def export(request: HttpRequest, pk: int, section: str) -> HttpResponse:
    """One section (or `all`) as an Excel workbook; audited as an export."""
    org = org_for_dashboard(request.user, pk)
    try:
        period = quarter_param(request.GET.get("q"))
    except ValueError as exc:
        return HttpResponse(str(exc), status=400, content_type="text/plain; charset=utf-8")
    _ctx, sections = sections_for_request(org, period)
    chosen = sections if section == "all" else [s for s in sections if s.code == section]
    if not chosen:
        raise Http404("未找到。")
    heading = f"{org.name} {period.label}"
    content = sections_workbook(chosen, heading=heading)
    with transaction.atomic():
        audit_log(
            actor=request.user,
            action=AuditAction.EXPORT,
            org=org,
            verb="dashboard_export",
            object_type="dashboards.section",
            object_id=f"{org.pk}:{section}:{period.key}",
            object_repr=f"{heading} {chosen[0].title if len(chosen) == 1 else '全部'}",
        )
    name = f"{org.name}-{period.key}-{section}.xlsx"
    response = HttpResponse(content, content_type=XLSX)
    response["Content-Disposition"] = content_disposition_header(True, name)
    return response
