"""Pages. Each view: authorize → validate → one service → render."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from apps.accounts.scope import (
    can,
    can_see,
    get_org_or_404,
    get_scoped_or_404,
    orgs_visible_to,
    require_capability,
)
from apps.core.errors import RuleViolation
from apps.core.periods import Period, local_today
from apps.members import forms, roster, selectors, services
from apps.members.models import (
    PROBATIONARY_STATUSES,
    STAGES,
    DuesMonth,
    DuesWaiver,
    Member,
    MemberStatus,
    Step,
    Transfer,
    TransferState,
    WaiverState,
)
from apps.organizations.models import BRANCH_TYPES, COMMITTEE_TYPES

WRITE = ("branch_write", "superior")
CONTACT_STATUSES = frozenset({"mobile_out", "mobile_in", "abroad", "lost_contact"})


def _member_or_404(request, pk) -> Member:
    return get_scoped_or_404(
        Member.objects.select_related("branch", "party_group"),
        request.user,
        path_field="branch__path",
        pk=pk,
    )


def require_any(user, org, capabilities=WRITE) -> None:
    """404 when not visible; 403 unless one of `capabilities` covers the org."""
    if not can_see(user, org):
        raise Http404("未找到。")
    if not any(can(user, c, org) for c in capabilities):
        raise PermissionDenied("没有权限执行此操作。")


def _errors_into(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            target = field if field in form.fields else None
            for e in errors:
                form.add_error(target, e.messages[0] if hasattr(e, "messages") else str(e))
    else:
        for m in exc.messages:
            form.add_error(None, m)


def _org_param(request):
    org_id = request.GET.get("org") or request.POST.get("org")
    return get_org_or_404(request.user, org_id) if org_id else None


# --- list and record -----------------------------------------------------------------------
@login_required
def member_list(request: HttpRequest) -> HttpResponse:
    require_capability(request.user, "view")
    form = forms.SearchForm(request.GET or None)
    form.is_valid()
    data = form.cleaned_data if form.is_bound and form.is_valid() else {}
    org = _org_param(request)
    qs = selectors.member_search(
        user=request.user,
        org=org,
        q=data.get("q", ""),
        status=data.get("status", ""),
        occupation=data.get("occupation", ""),
        management_status=data.get("management_status", ""),
    )
    count, capped = selectors.capped_count(qs)
    raw_page = str(request.GET.get("page", "1"))
    # Bounded: a huge page number would overflow the database's OFFSET.
    page_number = min(10_000, max(1, int(raw_page))) if raw_page.isdigit() else 1
    page_size = 20
    rows = list(qs[(page_number - 1) * page_size : page_number * page_size + 1])
    has_next = len(rows) > page_size
    context = {
        "form": form,
        "members": rows[:page_size],
        "count": count,
        "capped": capped,
        "org": org,
        "page": page_number,
        "has_next": has_next,
        "has_prev": page_number > 1,
        "querystring": request.GET.urlencode().replace(f"page={page_number}", "").strip("&"),
        "writable_branches": list(
            orgs_visible_to(request.user, "branch_write").filter(org_type__in=BRANCH_TYPES)[:50]
        ),
    }
    template = (
        "members/_list_rows.html" if request.headers.get("HX-Request") else "members/list.html"
    )
    return render(request, template, context)


@login_required
def member_detail(request: HttpRequest, pk: int) -> HttpResponse:
    member = _member_or_404(request, pk)
    year = local_today().year
    context = {
        "m": member,
        "timeline": selectors.member_timeline(member=member),
        "can_write": any(can(request.user, c, member.branch) for c in WRITE),
        "actions": _actions_for(member),
        "dues": selectors.dues_member_ledger(member=member, year=year),
        "arrears": services.dues_arrears_months(member=member),
        "study": selectors.member_study_total(member=member, year=year),
        "year": year,
        "next_step": _next_step(member),
        "transfers": member.transfers.select_related("target_org")[:5],
        "pending": member.pending_items.filter(resolved_on__isnull=True),
        "needs_contact": member.management_status in CONTACT_STATUSES,
    }
    return render(request, "members/detail.html", context)


def _actions_for(member: Member) -> list[tuple[str, str]]:
    allowed = set(services.lifecycle_allowed(member))
    return [(name, label) for name, (label, _) in forms.ACTIONS.items() if name in allowed]


def _next_step(member: Member) -> int | None:
    if member.status not in (
        MemberStatus.APPLICANT,
        MemberStatus.ACTIVIST,
        MemberStatus.CANDIDATE,
        *PROBATIONARY_STATUSES,
    ):
        return None
    last = member.steps.order_by("-step").values_list("step", flat=True).first()
    return min(25, (last or 0) + 1)


@login_required
def member_create(request: HttpRequest) -> HttpResponse:
    branch = get_org_or_404(request.user, request.GET.get("branch") or request.POST.get("branch"))
    require_any(request.user, branch, ("branch_write",))
    if branch.org_type not in BRANCH_TYPES:
        raise Http404("未找到。")
    form = forms.MemberForm(request.POST or None, request.FILES or None, branch=branch)
    status_form = forms.StatusCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid() and status_form.is_valid():
        try:
            data = form.service_fields()
            member = services.member_create(
                actor=request.user,
                branch=branch,
                status=status_form.cleaned_data["status"],
                photo=request.FILES.get("photo"),
                **data,
            )
        except ValidationError as exc:
            _errors_into(form, exc)
        else:
            messages.success(request, f"已建立{member.name}的档案。")
            return redirect("members:detail", pk=member.pk)
    return render(
        request,
        "members/form.html",
        {"form": form, "status_form": status_form, "branch": branch, "title": "新增党员"},
        status=400 if form.errors else 200,
    )


@login_required
def member_edit(request: HttpRequest, pk: int) -> HttpResponse:
    member = _member_or_404(request, pk)
    require_any(request.user, member.branch, ("branch_write",))
    form = forms.MemberForm(
        request.POST or None,
        request.FILES or None,
        instance=None if request.method == "POST" else member,
        branch=member.branch,
        initial={"phone": ""},
    )
    if request.method == "POST" and form.is_valid():
        data = form.service_fields()
        id_number, phone = data.pop("id_number") or None, data.pop("phone") or None
        try:
            services.member_update(
                actor=request.user,
                member=member,
                id_number=id_number,
                phone=phone,
                photo=request.FILES.get("photo"),
                **data,
            )
        except ValidationError as exc:
            _errors_into(form, exc)
        else:
            messages.success(request, "已保存。")
            return redirect("members:detail", pk=member.pk)
    return render(
        request,
        "members/form.html",
        {"form": form, "branch": member.branch, "m": member, "title": f"编辑 {member.name}"},
        status=400 if form.errors else 200,
    )


LIFECYCLE = {
    "confirm": lambda a, m, d: services.member_confirm(
        actor=a, member=m, on=d["on"], reason=d["reason"], deciding_org=d["deciding_org"]
    ),
    "extend": lambda a, m, d: services.member_probation_extend(
        actor=a,
        member=m,
        months=d["months"] or 0,
        on=d["on"],
        reason=d["reason"],
        deciding_org=d["deciding_org"],
    ),
    "cancel": lambda a, m, d: services.member_probation_cancel(
        actor=a, member=m, on=d["on"], reason=d["reason"], deciding_org=d["deciding_org"]
    ),
    "suspend": lambda a, m, d: services.member_suspend(
        actor=a, member=m, on=d["on"], reason=d["reason"], deciding_org=d["deciding_org"]
    ),
    "restore": lambda a, m, d: services.member_restore(
        actor=a, member=m, on=d["on"], reason=d["reason"], deciding_org=d["deciding_org"]
    ),
    "remove": lambda a, m, d: services.member_remove(
        actor=a,
        member=m,
        kind=d["kind"],
        on=d["on"],
        reason=d["reason"],
        deciding_org=d["deciding_org"],
    ),
    "decease": lambda a, m, d: services.member_decease(
        actor=a, member=m, on=d["on"], reason=d["reason"], deciding_org=d["deciding_org"]
    ),
    "lost_contact": lambda a, m, d: services.member_lost_contact_mark(
        actor=a, member=m, since=d["on"], note=d["reason"]
    ),
}


def lifecycle_run(*, actor, member: Member, action: str, data: dict) -> Member:
    if action not in LIFECYCLE:
        raise Http404("未找到。")
    refusal = services.lifecycle_refusal(member, action)
    if refusal:
        raise RuleViolation(refusal)
    data = {"reason": "", "months": None, "kind": "", **data}
    data["deciding_org"] = services.deciding_org_resolve(
        member, data.get("deciding_org"), approval=action in services.APPROVAL_ACTIONS
    )
    return LIFECYCLE[action](actor, member, data)


@login_required
def member_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    member = _member_or_404(request, pk)
    if action not in forms.ACTIONS:
        raise Http404("未找到。")
    require_any(request.user, member.branch)
    label, fields = forms.ACTIONS[action]
    form = forms.LifecycleForm(
        request.POST or None,
        initial={"on": local_today()},
        member=member,
        approval=action in services.APPROVAL_ACTIONS,
    )
    for name in list(form.fields):
        if name not in fields:
            del form.fields[name]
    refusal = services.lifecycle_refusal(member, action)
    if refusal:
        # Not offered on the member page; a forged URL or POST is refused and changes nothing.
        return render(
            request,
            "members/action.html",
            {"form": form, "m": member, "label": label, "refusal": refusal},
            status=400,
        )
    if request.method == "POST" and form.is_valid():
        try:
            lifecycle_run(actor=request.user, member=member, action=action, data=form.cleaned_data)
        except ValidationError as exc:
            _errors_into(form, exc)
        else:
            messages.success(request, f"已办理：{label}。")
            return redirect("members:detail", pk=member.pk)
    return render(
        request,
        "members/action.html",
        {"form": form, "m": member, "label": label},
        status=400 if form.errors else 200,
    )


# --- development --------------------------------------------------------------------------
@login_required
def development_apply(request: HttpRequest) -> HttpResponse:
    branch = get_org_or_404(request.user, request.GET.get("branch") or request.POST.get("branch"))
    require_any(request.user, branch, ("branch_write",))
    form = forms.ApplyForm(request.POST or None, initial={"applied_on": local_today()})
    if request.method == "POST" and form.is_valid():
        try:
            member = services.development_apply(
                actor=request.user, branch=branch, **form.cleaned_data
            )
        except ValidationError as exc:
            _errors_into(form, exc)
        else:
            messages.success(request, f"已登记{member.name}的入党申请。")
            return redirect("members:detail", pk=member.pk)
    return render(
        request,
        "members/apply.html",
        {"form": form, "branch": branch},
        status=400 if form.errors else 200,
    )


@login_required
def development_step(request: HttpRequest, pk: int) -> HttpResponse:
    member = _member_or_404(request, pk)
    require_any(request.user, member.branch)
    raw = request.POST.get("step") or request.GET.get("step") or _next_step(member) or 2
    try:
        step = Step(int(raw))
    except ValueError:
        raise Http404("没有这个发展步骤。") from None
    form = forms.StepForm(
        request.POST or None,
        member=member,
        step=step,
        initial={"step": step, "done_on": local_today()},
    )
    problems = []
    if request.method == "POST" and form.is_valid():
        try:
            services.development_step_record(
                actor=request.user,
                member=member,
                step=form.cleaned_data["step"],
                done_on=form.cleaned_data["done_on"],
                people=form.cleaned_data.get("people") or [],
                deciding_org=services.deciding_org_resolve(
                    member,
                    form.cleaned_data.get("deciding_org"),
                    approval=step in services.APPROVAL_STEPS,
                ),
                **form.facts(),
            )
        except ValidationError as exc:
            problems = exc.messages
        else:
            messages.success(request, f"已记录第{form.cleaned_data['step']}步。")
            return redirect("members:detail", pk=member.pk)
    else:
        problems = (
            []
            if request.method == "POST"
            else services.development_problems(
                member=member, step=step, done_on=local_today(), facts={"decision": "confirm"}
            )
        )
    done = {s.step: s for s in member.steps.all()}
    progress = [
        (label, [(n, Step(n).label, done.get(n)) for n in numbers]) for _, label, numbers in STAGES
    ]
    return render(
        request,
        "members/step.html",
        {
            "form": form,
            "m": member,
            "step": Step(step),
            "problems": problems,
            "progress": progress,
            "post": request.method == "POST",
        },
        status=400 if request.method == "POST" else 200,
    )


@login_required
def pipeline(request: HttpRequest) -> HttpResponse:
    require_capability(request.user, "view")
    org = _org_param(request)
    board = selectors.pipeline_board(user=request.user, org=org)
    due = selectors.development_due(user=request.user, org=org)
    columns = [
        ("applicant", "入党申请人"),
        ("activist", "入党积极分子"),
        ("candidate", "发展对象"),
        ("probationary", "预备党员"),
    ]
    return render(
        request,
        "members/pipeline.html",
        {
            "board": board,
            "columns": columns,
            "due": due,
            "org": org,
            "kinds": selectors.DUE_KINDS,
            "step_labels": dict(Step.choices),
            "writable_branches": list(
                orgs_visible_to(request.user, "branch_write").filter(org_type__in=BRANCH_TYPES)[:50]
            ),
        },
    )


@login_required
def due_list(request: HttpRequest) -> HttpResponse:
    require_capability(request.user, "view")
    org = _org_param(request)
    due = selectors.development_due(user=request.user, org=org)
    return render(
        request, "members/due.html", {"due": due, "org": org, "kinds": selectors.DUE_KINDS}
    )


# --- dues -----------------------------------------------------------------------------------
def _month_param(request) -> dt.date:
    try:
        return (
            Period.parse(request.GET.get("month", "")).start
            if request.GET.get("month")
            else Period.current("month").start
        )
    except ValueError:
        return Period.current("month").start


@login_required
def dues(request: HttpRequest) -> HttpResponse:
    require_capability(request.user, "view")
    month = _month_param(request)
    branches = list(
        orgs_visible_to(request.user).filter(org_type__in=BRANCH_TYPES, abolished_on__isnull=True)[
            :300
        ]
    )
    branch = (
        get_org_or_404(request.user, request.GET["branch"])
        if request.GET.get("branch")
        else (branches[0] if branches else None)
    )
    if branch is not None and branch.org_type not in BRANCH_TYPES:
        # A committee: the rollup per branch of its subtree.
        return _dues_overview(request, branch, month)
    rows = selectors.dues_sheet(user=request.user, branch=branch, month=month) if branch else []
    period = Period.month(month.year, month.month)
    return render(
        request,
        "members/dues.html",
        {
            "rows": rows,
            "branch": branch,
            "branches": branches,
            "month": month,
            "period": period,
            "prev": period.previous().key,
            "next": period.next().key,
            "can_write": branch is not None and can(request.user, "branch_write", branch),
            "total_due": sum((r.due for r in rows), 0),
            "total_paid": sum((r.paid for r in rows), 0),
        },
    )


def _dues_overview(request, org, month):
    from apps.members.models import DuesBranchMonth

    rows = (
        selectors.scoped(DuesBranchMonth.objects.all(), request.user, path_field="branch__path")
        .filter(branch__path__startswith=org.path, month=month)
        .select_related("branch")
        .order_by("branch__path")[:500]
    )
    period = Period.month(month.year, month.month)
    return render(
        request,
        "members/dues_overview.html",
        {
            "org": org,
            "rows": rows,
            "month": month,
            "period": period,
            "prev": period.previous().key,
            "next": period.next().key,
            "totals": selectors.dues_rollup(user=request.user, org=org, month=month),
        },
    )


@login_required
@require_POST
def dues_mark(request: HttpRequest, pk: int) -> HttpResponse:
    """One click: mark a ledger month paid today (HTMX: returns the row)."""
    row = get_scoped_or_404(
        DuesMonth.objects.select_related("member", "branch"),
        request.user,
        path_field="branch__path",
        pk=pk,
    )
    require_any(request.user, row.branch, ("branch_write",))
    error = ""
    try:
        mode = "monthly" if row.month >= Period.current("month").start else "backpay"
        services.dues_pay(
            actor=request.user,
            member=row.member,
            months=[row.month],
            paid_on=local_today(),
            mode=mode,
        )
    except ValidationError as exc:
        error = "；".join(exc.messages)
    row.refresh_from_db()
    return render(
        request,
        "members/_dues_row.html",
        {"r": row, "can_write": True, "error": error},
        status=400 if error else 200,
    )


@login_required
@require_POST
def dues_unmark(request: HttpRequest, pk: int) -> HttpResponse:
    row = get_scoped_or_404(
        DuesMonth.objects.select_related("member", "branch", "payment"),
        request.user,
        path_field="branch__path",
        pk=pk,
    )
    require_any(request.user, row.branch, ("branch_write",))
    if row.payment is None:
        raise Http404("未找到。")
    services.dues_payment_undo(actor=request.user, payment=row.payment, reason="党费收缴表撤销标记")
    row.refresh_from_db()
    return render(request, "members/_dues_row.html", {"r": row, "can_write": True})


@login_required
def dues_member(request: HttpRequest, pk: int) -> HttpResponse:
    """A member's dues: set the yearly base, record a payment (quarterly, back-pay, 代交, extra)."""
    member = _member_or_404(request, pk)
    require_any(request.user, member.branch, ("branch_write",))
    base_form = forms.DuesBaseForm(
        request.POST if "set_base" in request.POST else None, initial={"year": local_today().year}
    )
    pay_form = forms.PaymentForm(
        request.POST if "pay" in request.POST else None,
        initial={"paid_on": local_today(), "months": Period.current("month").key},
    )
    if request.method == "POST":
        try:
            if "set_base" in request.POST and base_form.is_valid():
                services.dues_base_set(actor=request.user, member=member, **base_form.cleaned_data)
                messages.success(request, "已核定党费基数。")
                return redirect("members:detail", pk=member.pk)
            if "pay" in request.POST and pay_form.is_valid():
                d = pay_form.cleaned_data
                services.dues_pay(
                    actor=request.user,
                    member=member,
                    months=d["months"],
                    paid_on=d["paid_on"],
                    mode=d["mode"],
                    paid_by=d["paid_by"],
                    extra=d["extra"] or 0,
                )
                messages.success(request, "已记录交纳。")
                return redirect("members:detail", pk=member.pk)
        except ValidationError as exc:
            _errors_into(base_form if "set_base" in request.POST else pay_form, exc)
    return render(
        request,
        "members/dues_member.html",
        {"m": member, "base_form": base_form, "pay_form": pay_form},
        status=400 if request.method == "POST" else 200,
    )


# --- dues waivers (减免) ---------------------------------------------------------------------------
@login_required
def waiver_request(request: HttpRequest, pk: int) -> HttpResponse:
    """The branch proposes 少交/免交 for a member in difficulty; the superior committee decides."""
    member = _member_or_404(request, pk)
    require_any(request.user, member.branch, ("branch_write",))
    form = forms.WaiverForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.dues_waiver_request(actor=request.user, member=member, **form.cleaned_data)
        except ValidationError as exc:
            _errors_into(form, exc)
        else:
            messages.success(request, "已提交减免申请，待上级党委审批。")
            return redirect("members:waivers")
    return render(
        request,
        "members/waiver_form.html",
        {"m": member, "form": form},
        status=400 if form.errors else 200,
    )


@login_required
def waivers(request: HttpRequest) -> HttpResponse:
    """减免 requests in scope; a superior committee approves or rejects the pending ones."""
    require_capability(request.user, "view")
    state = request.GET.get("state", WaiverState.REQUESTED)
    if state not in WaiverState.values and state != "all":
        state = WaiverState.REQUESTED
    qs = selectors.waivers_visible_to(request.user, state="" if state == "all" else state)
    page = Paginator(qs, 30).get_page(request.GET.get("page"))
    for w in page:
        w.can_decide = w.state == WaiverState.REQUESTED and can(
            request.user, "superior", w.member.branch
        )
    return render(
        request,
        "members/waivers.html",
        {"page": page, "state": state, "states": WaiverState.choices, "tab": "dues"},
    )


@login_required
@require_POST
def waiver_decide(request: HttpRequest, pk: int) -> HttpResponse:
    waiver = get_scoped_or_404(
        DuesWaiver.objects.select_related("member__branch"),
        request.user,
        path_field="member__branch__path",
        pk=pk,
    )
    require_any(request.user, waiver.member.branch, ("superior",))
    approve = request.POST.get("decision") == "approve"
    try:
        services.dues_waiver_decide(actor=request.user, waiver=waiver, approve=approve)
    except ValidationError as exc:
        messages.error(request, "；".join(exc.messages))
    else:
        messages.success(
            request, f"已{'批准' if approve else '不批准'}{waiver.member.name}的党费减免申请。"
        )
    return redirect(f"{reverse('members:waivers')}?state=requested")


# --- me, study, transfers, import/export ---------------------------------------------------------
def _year_param(request) -> int:
    """`?year=` for a yearly page; anything but a plausible year falls back to this year."""
    raw = (request.GET.get("year") or "").strip()
    if not raw:
        return local_today().year
    if raw.isdigit() and 1990 <= int(raw) <= 2100:
        return int(raw)
    messages.warning(request, f"年度“{raw[:10]}”无效，已显示{local_today().year}年。")
    return local_today().year


@login_required
def me(request: HttpRequest) -> HttpResponse:
    member = getattr(request.user, "member", None)
    if member is None:
        raise Http404("未找到您的党员档案。")
    year = local_today().year
    return render(
        request,
        "members/me.html",
        {
            "m": member,
            "dues": selectors.dues_member_ledger(member=member, year=year),
            "arrears": services.dues_arrears_months(member=member),
            "study": selectors.member_study_total(member=member, year=year),
            "records": member.study_records.filter(held_on__year=year),
            "year": year,
        },
    )


@login_required
def study(request: HttpRequest) -> HttpResponse:
    require_capability(request.user, "view")
    year = _year_param(request)
    branches = list(orgs_visible_to(request.user).filter(org_type__in=BRANCH_TYPES)[:300])
    committees = list(
        orgs_visible_to(request.user)
        .filter(org_type__in=COMMITTEE_TYPES, abolished_on__isnull=True)
        .order_by("depth", "path")[:50]
    )
    branch = (
        get_org_or_404(request.user, request.GET["branch"])
        if request.GET.get("branch")
        else (branches[0] if branches else None)
    )
    subtree = branch is not None and branch.org_type not in BRANCH_TYPES
    if subtree:
        # A committee: per branch across its subtree (superiors' view).
        rows = selectors.study_subtree(user=request.user, org=branch, year=year)
    else:
        rows = selectors.study_totals(user=request.user, branch=branch, year=year) if branch else []
    return render(
        request,
        "members/study.html",
        {
            "rows": rows,
            "branch": branch,
            "branches": branches,
            "committees": committees,
            "subtree": subtree,
            "year": year,
        },
    )


@login_required
def study_add(request: HttpRequest, pk: int) -> HttpResponse:
    member = _member_or_404(request, pk)
    require_any(request.user, member.branch, ("branch_write",))
    form = forms.StudyForm(request.POST or None, initial={"held_on": local_today()})
    if request.method == "POST" and form.is_valid():
        try:
            services.study_record_add(actor=request.user, member=member, **form.cleaned_data)
        except ValidationError as exc:
            _errors_into(form, exc)
        else:
            messages.success(request, "已记录学时。")
            return redirect("members:detail", pk=member.pk)
    return render(
        request,
        "members/simple_form.html",
        {"form": form, "m": member, "title": "登记学习培训学时"},
        status=400 if form.errors else 200,
    )


@login_required
def contact_add(request: HttpRequest, pk: int) -> HttpResponse:
    """联系记录 for a 流动党员 or a member abroad (每半年至少联系1次)."""
    member = _member_or_404(request, pk)
    require_any(request.user, member.branch, ("branch_write",))
    form = forms.ContactForm(request.POST or None, initial={"contacted_on": local_today()})
    if request.method == "POST" and form.is_valid():
        try:
            services.mobile_contact_record(actor=request.user, member=member, **form.cleaned_data)
        except ValidationError as exc:
            _errors_into(form, exc)
        else:
            messages.success(request, "已记录联系情况。")
            return redirect("members:detail", pk=member.pk)
    return render(
        request,
        "members/simple_form.html",
        {"form": form, "m": member, "title": "联系记录"},
        status=400 if form.errors else 200,
    )


@login_required
def pending_resolve(request: HttpRequest, pk: int, item_id: int) -> HttpResponse:
    """Record the branch's decision on a prompt (the decision itself is a lifecycle action)."""
    member = _member_or_404(request, pk)
    require_any(request.user, member.branch)
    item = member.pending_items.filter(pk=item_id, resolved_on__isnull=True).first()
    if item is None:
        raise Http404("未找到。")
    form = forms.PendingResolveForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.pending_resolve(
            actor=request.user, item=item, resolution=form.cleaned_data["resolution"]
        )
        messages.success(request, "已记录处理结果。")
        return redirect("members:detail", pk=member.pk)
    return render(
        request,
        "members/simple_form.html",
        {"form": form, "m": member, "title": f"处理：{item.get_kind_display()}"},
        status=400 if form.errors else 200,
    )


@login_required
def transfer_start(request: HttpRequest, pk: int) -> HttpResponse:
    member = _member_or_404(request, pk)
    require_any(request.user, member.branch, ("branch_write",))
    form = forms.TransferForm(request.POST or None, initial={"applied_on": local_today()})
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            target = None
            if d["target_org"]:
                from apps.organizations.models import Org

                target = Org.objects.filter(pk=d["target_org"], abolished_on__isnull=True).first()
                if target is None:
                    raise ValidationError({"target_org": ["找不到该党组织。"]})
            services.member_transfer_start(
                actor=request.user,
                member=member,
                kind=d["kind"],
                applied_on=d["applied_on"],
                target_org=target,
                external_org=d["external_org"],
                reason=d["reason"],
            )
        except ValidationError as exc:
            _errors_into(form, exc)
        else:
            messages.success(request, "已提交组织关系转接申请。")
            return redirect("members:transfers")
    return render(
        request,
        "members/simple_form.html",
        {"form": form, "m": member, "title": "组织关系转接"},
        status=400 if form.errors else 200,
    )


@login_required
def transfers(request: HttpRequest) -> HttpResponse:
    require_capability(request.user, "view")
    rows = selectors.transfers_visible_to(request.user)[:200]
    return render(
        request,
        "members/transfers.html",
        {
            "rows": rows,
            "open_states": (
                TransferState.APPLIED,
                TransferState.APPROVED,
                TransferState.LETTER_ISSUED,
            ),
        },
    )


@login_required
@require_POST
def transfer_act(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    transfer = next((t for t in selectors.transfers_visible_to(request.user).filter(pk=pk)), None)
    if transfer is None:
        raise Http404("未找到。")
    try:
        transfer_run(actor=request.user, transfer=transfer, action=action, data=request.POST)
    except ValidationError as exc:
        messages.error(request, "；".join(exc.messages))
    else:
        messages.success(request, "已办理。")
    return redirect("members:transfers")


def transfer_run(*, actor, transfer: Transfer, action: str, data) -> Transfer:
    """Authorize one transfer action for `actor` and call its service (pages and API)."""
    source, target = transfer.source_branch, transfer.target_org
    if action == "approve":
        require_any(actor, source, ("superior",))
        return services.member_transfer_approve(
            actor=actor, transfer=transfer, note=data.get("note", "")
        )
    if action == "letter":
        require_any(actor, source, ("superior", "branch_write"))
        try:
            paid_until = Period.parse(data.get("dues_paid_until", "")).start
        except ValueError:
            raise ValidationError(
                {"dues_paid_until": ["请填写党费交至年月，如 2026-07。"]}
            ) from None
        return services.member_transfer_letter_issue(
            actor=actor,
            transfer=transfer,
            letter_number=data.get("letter_number", ""),
            dues_paid_until=paid_until,
        )
    if action == "receipt":
        require_any(actor, source, ("superior", "branch_write"))
        return services.member_transfer_receipt(
            actor=actor, transfer=transfer, returned_on=local_today()
        )
    if action == "accept":
        if target is None:
            raise Http404("未找到。")
        branch = get_org_or_404(actor, data.get("target_branch"))
        require_any(actor, branch, WRITE)
        return services.member_transfer_accept(actor=actor, transfer=transfer, target_branch=branch)
    if action in ("reject", "withdraw"):
        org = target if action == "reject" and target is not None else source
        require_any(actor, org, WRITE)
        return services.member_transfer_close(
            actor=actor,
            transfer=transfer,
            to=TransferState.REJECTED if action == "reject" else TransferState.WITHDRAWN,
            note=data.get("note", ""),
        )
    raise Http404("未找到。")


@login_required
def roster_import(request: HttpRequest) -> HttpResponse:
    require_capability(request.user, "branch_write")
    form = forms.ImportForm(request.POST or None, request.FILES or None)
    result = None
    if request.method == "POST" and form.is_valid():
        result = roster.roster_import(actor=request.user, file=request.FILES["file"])
        if result.ok:
            messages.success(request, f"已导入 {result.created} 名党员。")
            return redirect("members:list")
        if request.POST.get("download"):
            response = HttpResponse(
                result.error_workbook(),
                content_type=("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            )
            response["Content-Disposition"] = 'attachment; filename="import-errors.xlsx"'
            return response
    return render(
        request,
        "members/import.html",
        {"form": form, "result": result},
        status=400 if result and not result.ok else 200,
    )


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def export_org(user, org):
    """The org whose roster is exported: the one asked for (already scoped), else the user's
    topmost visible org (pages and API)."""
    if org is None:
        org = orgs_visible_to(user).order_by("depth", "path").first()
        if org is None:
            raise Http404("未找到。")
    return org


def roster_export_response(data: bytes, org) -> HttpResponse:
    response = HttpResponse(data, content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="roster-{org.code}.xlsx"'
    return response


@login_required
def roster_export(request: HttpRequest) -> HttpResponse:
    require_capability(request.user, "view")
    org = export_org(request.user, _org_param(request))
    form = forms.ExportForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            data = roster.roster_export(
                actor=request.user,
                org=org,
                reveal=form.cleaned_data["reveal"],
                reason=form.cleaned_data["reason"],
            )
        except ValidationError as exc:
            _errors_into(form, exc)
        else:
            return roster_export_response(data, org)
    return render(
        request,
        "members/export.html",
        {"form": form, "org": org, "can_reveal": can(request.user, "reveal", org)},
        status=400 if form.errors else 200,
    )
