"""Pages of the organization tree: browser, node page, and one form per operation.
Each view: authorize (apps.organizations.access) → validate (form) → one service → redirect."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from apps.accounts import scope
from apps.core.periods import local_today
from apps.organizations import access, selectors, services
from apps.organizations.forms import (
    AbolishForm,
    EndForm,
    OrgForm,
    PositionAssignForm,
    TargetForm,
    TermDateForm,
    TermExtendForm,
    TermStartForm,
    apply_service_errors,
)
from apps.organizations.models import CommitteePosition, Org, Term, TermState
from apps.organizations.rules import merge_target_fits, move_target_fits, term_status

WARNINGS_SHOWN = 200
WARNING_LABELS = {
    "few_members": "正式党员不足3人",
    "no_committee": "应设支委会",
    "committee_size": "支委会超过7人",
    "too_many_members": "党员超过50人",
    "no_secretary": "书记空缺",
    "term_overdue": "逾期未换届",
}

TERM_ACTIONS = {
    # action: (label, permission check, allowed states, form)
    "submit": (
        "提交换届请示",
        access.require_committee_write,
        {TermState.ACTIVE, TermState.EXTENSION_APPROVED},
    ),
    "approve": ("批复换届请示", access.require_term_approve, {TermState.REQUEST_SUBMITTED}),
    "election": ("登记换届选举", access.require_committee_write, {TermState.REQUEST_APPROVED}),
    "result": ("批复选举结果", access.require_term_approve, {TermState.ELECTION_HELD}),
    "extend": (
        "批准延期换届",
        access.require_term_approve,
        {
            TermState.ACTIVE,
            TermState.EXTENSION_APPROVED,
            TermState.REQUEST_SUBMITTED,
            TermState.REQUEST_APPROVED,
        },
    ),
}


def _form_page(
    request,
    org: Org,
    form,
    *,
    title: str,
    submit: str,
    danger: bool = False,
    status: int = 200,
    **extra,
):
    template = extra.pop("template", "organizations/form.html")
    context = {
        "org": org,
        "form": form,
        "title": title,
        "submit": submit,
        "danger": danger,
        "breadcrumb": selectors.org_breadcrumb(user=request.user, org=org),
        **extra,
    }
    return render(request, template, context, status=status)


# --- browsing ----------------------------------------------------------------------------


@login_required
def tree(request: HttpRequest) -> HttpResponse:
    """党组织: the roots of the user's scope; children load on demand (HTMX)."""
    current = scope.scope_of(request.user)
    if not (current.has("view") or current.member_org_ids):
        raise PermissionDenied("没有权限访问此页面。")
    roots = list(selectors.org_roots_for(user=request.user))
    for root in roots:
        # a 党员 sees their own branch node only, not what lies under it
        root.child_count = root.numchild if scope.can(request.user, "view", root) else 0
    query = request.GET.get("q", "")
    results = selectors.org_search(user=request.user, query=query)
    return render(
        request, "organizations/tree.html", {"roots": roots, "q": query, "results": results}
    )


@login_required
def children(request: HttpRequest, pk: int) -> HttpResponse:
    """Fragment: the visible children of one node (expand in the tree browser)."""
    org = scope.get_org_or_404(request.user, pk)
    kids = selectors.org_children(user=request.user, org=org)
    return render(request, "organizations/_children.html", {"nodes": kids, "parent": org})


@login_required
def search(request: HttpRequest) -> HttpResponse:
    """Fragment: orgs by name or code within scope. With `for=move|merge&org=<id>` it lists
    targets the user may choose (admin_tree scope), as radio buttons."""
    query = request.GET.get("q", "")
    purpose = request.GET.get("for", "")
    if purpose in {"move", "merge"}:
        org = scope.get_org_or_404(request.user, request.GET.get("org"), "admin_tree")
        fits = move_target_fits if purpose == "move" else merge_target_fits
        found = selectors.org_search(
            user=request.user, query=query, capability="admin_tree", limit=60
        )
        results = [
            o
            for o in found
            if not o.path.startswith(org.path) and o.pk != org.parent_id and fits(org, o)
        ][:30]
        return render(request, "organizations/_pick.html", {"results": results, "query": query})
    results = selectors.org_search(user=request.user, query=query)
    return render(request, "organizations/_search.html", {"results": results, "query": query})


@login_required
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    org = scope.get_org_or_404(request.user, pk)
    today = local_today()
    term = selectors.org_current_term(org=org)
    context = {
        "org": org,
        "breadcrumb": selectors.org_breadcrumb(user=request.user, org=org),
        "children": selectors.org_children(user=request.user, org=org),
        "positions": selectors.org_positions(org=org),
        "past_positions": [
            p for p in selectors.org_positions(org=org, current_only=False) if p.ended_on
        ][:20],
        "term": term,
        "term_status": term_status(term, today),
        "terms": selectors.org_terms(org=org)[:10],
        "warnings": selectors.warnings_for_org(org=org, today=today),
        "history": selectors.org_parent_history(org=org),
        "may": access.may(request.user, org),
        "term_actions": _term_actions(request.user, org, term),
    }
    return render(request, "organizations/detail.html", context)


def _term_actions(user, org: Org, term: Term | None) -> list[tuple[str, str]]:
    if term is None:
        return []
    flags = access.may(user, org)
    status = term_status(term, local_today())
    # The renewal starts when the term is due (T-6 months) or overdue; before that, no buttons.
    renewal_time = status.due_soon or status.overdue or term.state != TermState.ACTIVE
    result = []
    for action, (label, check, states) in TERM_ACTIONS.items():
        allowed = flags["approve"] if check is access.require_term_approve else flags["committee"]
        if allowed and renewal_time and term.state in states:
            result.append((reverse("organizations:term_action", args=[term.pk, action]), label))
    return result


@login_required
def warnings(request: HttpRequest, pk: int) -> HttpResponse:
    """预警: the warnings of every visible node under this one."""
    org = scope.get_org_or_404(request.user, pk)
    rows = selectors.warnings_for_subtree(user=request.user, org=org, today=local_today())
    summary: dict[str, list] = {}
    for _node, found in rows:
        for w in found:
            summary.setdefault(w.code, [WARNING_LABELS.get(w.code, w.code), 0])[1] += 1
    code = request.GET.get("code", "")
    if code:
        rows = [(node, [w for w in found if w.code == code]) for node, found in rows]
        rows = [(node, found) for node, found in rows if found]
    context = {
        "org": org,
        "rows": rows[:WARNINGS_SHOWN],
        "total": len(rows),
        "shown": WARNINGS_SHOWN,
        "summary": [(c, label, n) for c, (label, n) in summary.items()],
        "code": code,
        "breadcrumb": selectors.org_breadcrumb(user=request.user, org=org),
    }
    return render(request, "organizations/warnings.html", context)


# --- tree operations ---------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def create_child(request: HttpRequest, pk: int) -> HttpResponse:
    parent = scope.get_org_or_404(request.user, pk)
    access.require_tree_admin(request.user, parent)
    form = OrgForm(request.POST or None, parent=parent, initial={"category": parent.category})
    if request.method == "POST" and form.is_valid():
        try:
            org = services.org_create(actor=request.user, parent=parent, **form.cleaned_data)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, f"已新建“{org.name}”。")
            return redirect("organizations:detail", org.pk)
    if not form.fields["org_type"].choices:
        messages.warning(request, f"{parent.get_org_type_display()}下不能再设立下级组织。")
        return redirect("organizations:detail", parent.pk)
    return _form_page(
        request,
        parent,
        form,
        title=f"在“{parent.name}”下新建组织",
        submit="新建",
        status=400 if form.errors else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def edit(request: HttpRequest, pk: int) -> HttpResponse:
    org = scope.get_org_or_404(request.user, pk)
    access.require_tree_admin(request.user, org)
    form = OrgForm(request.POST or None, parent=org.parent, initial=OrgForm.initial_from(org))
    if request.method == "POST" and form.is_valid():
        try:
            services.org_update(actor=request.user, org=org, **form.cleaned_data)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, "已保存。")
            return redirect("organizations:detail", org.pk)
    return _form_page(
        request,
        org,
        form,
        title=f"编辑“{org.name}”",
        submit="保存",
        status=400 if form.errors else 200,
    )


def _target_view(request, pk: int, *, purpose: str):
    org = scope.get_org_or_404(request.user, pk)
    access.require_tree_admin(request.user, org)
    form = TargetForm(request.POST or None)
    target = None
    if request.method == "POST" and form.is_valid():
        try:
            target = scope.get_org_or_404(request.user, form.cleaned_data["target"])
            access.require_tree_admin(request.user, target)
        except Http404:
            form.add_error("target", "未找到该目标组织。")
        else:
            try:
                if purpose == "move":
                    services.org_move(
                        actor=request.user,
                        org=org,
                        new_parent=target,
                        on=form.cleaned_data["on"],
                        reason=form.cleaned_data["reason"],
                    )
                    messages.success(request, f"已将“{org.name}”调整到“{target.name}”之下。")
                    return redirect("organizations:detail", org.pk)
                services.org_merge(
                    actor=request.user,
                    org=org,
                    into=target,
                    on=form.cleaned_data["on"],
                    reason=form.cleaned_data["reason"],
                )
                messages.success(request, f"已将“{org.name}”并入“{target.name}”。")
                return redirect("organizations:detail", target.pk)
            except ValidationError as exc:
                apply_service_errors(form, exc, rename={"parent": "target", "into": "target"})
    title = f"调整“{org.name}”的隶属关系" if purpose == "move" else f"将“{org.name}”并入其他组织"
    help_text = (
        "连同全部下级组织一起移到所选组织之下；原隶属关系按生效日期截止，历史季度报表仍按原隶属统计。"
        if purpose == "move"
        else "下级组织、党员随之并入目标组织，原组织标记为撤销（不删除任何记录）。"
    )
    return _form_page(
        request,
        org,
        form,
        title=title,
        submit="调整隶属关系" if purpose == "move" else "确认合并",
        danger=purpose == "merge",
        status=400 if form.errors else 200,
        template="organizations/target_form.html",
        purpose=purpose,
        target=target,
        help_text=help_text,
    )


@login_required
@require_http_methods(["GET", "POST"])
def move(request: HttpRequest, pk: int) -> HttpResponse:
    return _target_view(request, pk, purpose="move")


@login_required
@require_http_methods(["GET", "POST"])
def merge(request: HttpRequest, pk: int) -> HttpResponse:
    return _target_view(request, pk, purpose="merge")


@login_required
@require_http_methods(["GET", "POST"])
def abolish(request: HttpRequest, pk: int) -> HttpResponse:
    org = scope.get_org_or_404(request.user, pk)
    access.require_tree_admin(request.user, org)
    form = AbolishForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.org_abolish(actor=request.user, org=org, **form.cleaned_data)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, f"已撤销“{org.name}”。")
            return redirect("organizations:detail", org.pk)
    return _form_page(
        request,
        org,
        form,
        title=f"撤销“{org.name}”",
        submit="确认撤销",
        danger=True,
        status=400 if form.errors else 200,
    )


# --- committee and terms -----------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def position_assign(request: HttpRequest, pk: int) -> HttpResponse:
    org = scope.get_org_or_404(request.user, pk)
    access.require_committee_write(request.user, org)
    form = PositionAssignForm(request.POST or None, org=org)
    if request.method == "POST" and form.is_valid():
        try:
            services.committee_position_assign(actor=request.user, org=org, **form.cleaned_data)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, "已登记任职。")
            return redirect("organizations:detail", org.pk)
    return _form_page(
        request,
        org,
        form,
        title="登记班子成员任职",
        submit="登记",
        status=400 if form.errors else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def position_end(request: HttpRequest, pk: int) -> HttpResponse:
    position = scope.get_scoped_or_404(
        CommitteePosition.objects.select_related("org", "member"),
        request.user,
        path_field="org__path",
        pk=pk,
    )
    org = position.org
    access.require_committee_write(request.user, org)
    form = EndForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.committee_position_end(
                actor=request.user, position=position, **form.cleaned_data
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, f"已登记{position.member.name}离任。")
            return redirect("organizations:detail", org.pk)
    return _form_page(
        request,
        org,
        form,
        title=f"{position.member.name}离任（{position.get_position_display()}）",
        submit="登记离任",
        status=400 if form.errors else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def term_start(request: HttpRequest, pk: int) -> HttpResponse:
    org = scope.get_org_or_404(request.user, pk)
    access.require_committee_write(request.user, org)
    form = TermStartForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.term_start(actor=request.user, org=org, **form.cleaned_data)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, "已登记届次。")
            return redirect("organizations:detail", org.pk)
    return _form_page(
        request,
        org,
        form,
        title="登记届次（选举产生的新一届）",
        submit="登记",
        status=400 if form.errors else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def term_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    if action not in TERM_ACTIONS:
        raise Http404("未找到。")
    term = scope.get_scoped_or_404(
        Term.objects.select_related("org"), request.user, path_field="org__path", pk=pk
    )
    label, check, _states = TERM_ACTIONS[action]
    check(request.user, term.org)
    if action == "extend":
        form = TermExtendForm(request.POST or None)
    else:
        date_label = {
            "submit": "请示日期",
            "approve": "批复日期",
            "election": "选举日期",
            "result": "批复日期",
        }[action]
        form = TermDateForm(request.POST or None, label=date_label)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            if action == "submit":
                services.term_request_submit(actor=request.user, term=term, on=data["on"])
            elif action == "approve":
                services.term_request_approve(actor=request.user, term=term, on=data["on"])
            elif action == "election":
                services.term_election_record(actor=request.user, term=term, held_on=data["on"])
            elif action == "result":
                services.term_result_approve(actor=request.user, term=term, on=data["on"])
            else:
                services.term_extend(
                    actor=request.user, term=term, until=data["until"], reason=data["reason"]
                )
        except ValidationError as exc:
            apply_service_errors(form, exc, rename={"held_on": "on"})
        else:
            messages.success(request, f"{label}：已完成。")
            return redirect("organizations:detail", term.org_id)
    return _form_page(
        request,
        term.org,
        form,
        title=f"{label}（第{term.number}届，{term.ends_on:%Y-%m-%d}届满）",
        submit=label,
        status=400 if form.errors else 200,
    )
