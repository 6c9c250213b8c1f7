from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from apps.accounts.scope import can, get_org_or_404, require_capability, scope_of
from apps.core.audit import audit_log
from apps.core.models import AuditAction
from apps.core.periods import Period, PeriodKind
from apps.dashboards.selectors import ancestors_visible, children_of
from apps.dashboards.views import org_for_dashboard, quarter_choices
from apps.organizations.models import Org
from apps.reports import selectors, services
from apps.reports.forms import BuildForm

CONTENT_TYPES = {
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _default_org(user) -> Org:
    scope = scope_of(user)
    if scope.unrestricted:
        org = Org.objects.filter(depth=1).order_by("path").first()
    else:
        org = Org.objects.filter(path__in=scope.paths.get("view", ())).order_by("path").first()
    if org is None:
        raise Http404("未找到。")
    return org


@login_required
def report_list(request: HttpRequest) -> HttpResponse:
    """The reports of one org and of its direct children for one quarter (default: last quarter)."""
    require_capability(request.user, "view")
    org = (
        org_for_dashboard(request.user, request.GET["org"])
        if request.GET.get("org")
        else _default_org(request.user)
    )
    try:
        period = (
            Period.parse(request.GET["q"])
            if request.GET.get("q")
            else Period.current(PeriodKind.QUARTER).previous()
        )
        if period.kind != PeriodKind.QUARTER:
            raise ValueError("请选择季度。")
    except ValueError as exc:
        messages.error(request, str(exc))
        period = Period.current(PeriodKind.QUARTER).previous()
    kids = children_of(org)
    current = selectors.current_reports(orgs=[org, *kids], year=period.year, quarter=period.index)
    return render(
        request,
        "reports/list.html",
        {
            "org": org,
            "period": period,
            "quarters": quarter_choices(),
            "own": current.get(org.pk),
            "rows": [(kid, current.get(kid.pk)) for kid in kids],
            "breadcrumb": ancestors_visible(org, request.user),
            "can_build": can(request.user, "superior", org)
            or can(request.user, "branch_write", org),
            "can_batch": can(request.user, "superior", org),
            "batches": selectors.batches_for(request.user, org),
            "form": BuildForm(initial={"org": org.pk, "quarter": period.key, "scope": "self"}),
        },
    )


@login_required
def report_detail(request: HttpRequest, pk: int) -> HttpResponse:
    report = selectors.report_for(request.user, pk)
    return render(
        request,
        "reports/detail.html",
        {"report": report, "versions": selectors.report_versions(report)},
    )


@login_required
def report_download(request: HttpRequest, pk: int, kind: str) -> FileResponse:
    """A version's PDF or workbook (scoped; audited as an export)."""
    if kind not in CONTENT_TYPES:
        raise Http404("未找到。")
    report = selectors.report_for(request.user, pk)
    field = report.pdf if kind == "pdf" else report.xlsx
    try:
        handle = field.open("rb")
    except (FileNotFoundError, ValueError):
        raise Http404("文件不存在。") from None
    with transaction.atomic():
        audit_log(
            actor=request.user,
            action=AuditAction.EXPORT,
            obj=report,
            org=report.org,
            verb="report_download",
            changes={"kind": [None, kind], "version": [None, report.version]},
        )
    name = f"{report.org.name}-{report.period_key}-v{report.version}.{kind}"
    return FileResponse(
        handle, as_attachment=kind == "xlsx", filename=name, content_type=CONTENT_TYPES[kind]
    )


@login_required
@require_POST
def report_build(request: HttpRequest) -> HttpResponse:
    form = BuildForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect("reports:list")
    org = get_org_or_404(request.user, form.cleaned_data["org"])
    try:
        batch = services.report_batch_start(
            actor=request.user,
            org=org,
            period=form.cleaned_data["quarter"],
            single=form.cleaned_data["scope"] == "self",
        )
    except ValidationError as exc:
        messages.error(request, "；".join(exc.messages))
        return redirect(f"/reports/?org={org.pk}")
    messages.success(request, "已开始生成报告，完成后将通知相关人员。")
    return redirect("reports:batch", pk=batch.pk)


@login_required
def batch_detail(request: HttpRequest, pk: int) -> HttpResponse:
    batch = selectors.batch_for(request.user, pk)
    context = {
        "batch": batch,
        "progress": selectors.batch_progress(batch),
        "failures": selectors.batch_failures(batch),
        "can_retry": can(request.user, "superior", batch.root)
        or (batch.single and can(request.user, "branch_write", batch.root)),
    }
    template = (
        "reports/_progress.html" if request.headers.get("HX-Request") else "reports/batch.html"
    )
    return render(request, template, context)


@login_required
@require_POST
def batch_retry(request: HttpRequest, pk: int) -> HttpResponse:
    batch = selectors.batch_for(request.user, pk)
    try:
        count = services.report_batch_retry(actor=request.user, batch=batch)
    except PermissionDenied:
        raise
    messages.success(request, f"已重新排队 {count} 个任务。")
    return redirect("reports:batch", pk=batch.pk)
