from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from apps.accounts import selectors, services
from apps.accounts.forms import (
    AuditFilterForm,
    GrantForm,
    PasswordChangeForm,
    PasswordResetForm,
    SignInForm,
    UserCreateForm,
    UserSearchForm,
    UserUpdateForm,
    apply_errors,
)
from apps.accounts.home import home_context
from apps.accounts.scope import get_org_or_404, orgs_visible_to, require_capability


class SignInView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = SignInForm
    redirect_authenticated_user = True

    def form_valid(self, form):
        response = super().form_valid(form)
        services.sign_in_audit(user=form.get_user(), request=self.request)
        return response

    def form_invalid(self, form):
        services.sign_in_failed_audit(username=form.data.get("username", ""), request=self.request)
        return super().form_invalid(form)


class SignOutView(auth_views.LogoutView):
    def post(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            services.sign_out_audit(user=request.user, request=request)
        return super().post(request, *args, **kwargs)


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """首页: what the signed-in user's roles need first."""
    return render(request, "accounts/home.html", home_context(request.user))


@login_required
def password_change(request: HttpRequest) -> HttpResponse:
    """修改密码 (one's own)."""
    form = PasswordChangeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.password_change(user=request.user, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            update_session_auth_hash(request, request.user)
            messages.success(request, "密码已修改。")
            return redirect("accounts:home")
    return render(
        request, "accounts/password_change.html", {"form": form}, status=400 if form.errors else 200
    )


# --- users and grants (系统管理员) ------------------------------------------------------------


def _managed_user_or_404(request, pk):
    require_capability(request.user, "admin_users")
    return get_object_or_404(selectors.users_manageable_by(request.user), pk=pk)


@login_required
def user_list(request: HttpRequest) -> HttpResponse:
    require_capability(request.user, "admin_users")
    form = UserSearchForm(request.GET or None)
    q = form.cleaned_data["q"] if form.is_valid() else ""
    users = selectors.user_search(request.user, q=q).prefetch_related("grants__org")
    page = Paginator(users, 30).get_page(request.GET.get("page"))
    return render(request, "accounts/user_list.html", {"form": form, "page": page, "q": q})


@login_required
def user_create(request: HttpRequest) -> HttpResponse:
    require_capability(request.user, "admin_users")
    form = UserCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.user_create(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, f"已创建账号：{user.username}。请为其授予角色。")
            return redirect("accounts:user_detail", pk=user.pk)
    return render(
        request,
        "accounts/user_form.html",
        {"form": form, "title": "新建用户"},
        status=400 if form.errors else 200,
    )


@login_required
def user_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = _managed_user_or_404(request, pk)
    orgs = orgs_visible_to(request.user, "admin_users").filter(abolished_on__isnull=True)[:2000]
    form = GrantForm(request.POST or None, orgs=orgs)
    if request.method == "POST" and form.is_valid():
        org = get_org_or_404(request.user, form.cleaned_data["org"], "admin_users")
        try:
            services.role_grant(
                actor=request.user, user=user, org=org, role=form.cleaned_data["role"]
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, "已授予角色。")
            return redirect("accounts:user_detail", pk=user.pk)
    grants = user.grants.select_related("org").order_by("org__path", "role")
    visible_grants = set(
        selectors.grants_visible_to(request.user).filter(user=user).values_list("pk", flat=True)
    )
    return render(
        request,
        "accounts/user_detail.html",
        {"subject": user, "grants": grants, "revocable": visible_grants, "form": form},
        status=400 if form.errors else 200,
    )


@login_required
def user_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = _managed_user_or_404(request, pk)
    form = UserUpdateForm(request.POST or None, initial={"full_name": user.full_name})
    form.fields["phone"].help_text = f"留空则不修改（当前：{user.phone_masked or '未填写'}）"
    if request.method == "POST" and form.is_valid():
        phone = form.cleaned_data["phone"] or None  # blank keeps the stored phone
        try:
            services.user_update(
                actor=request.user, user=user, full_name=form.cleaned_data["full_name"], phone=phone
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, "已保存。")
            return redirect("accounts:user_detail", pk=user.pk)
    return render(
        request,
        "accounts/user_form.html",
        {"form": form, "title": f"编辑用户 · {user.username}", "subject": user},
        status=400 if form.errors else 200,
    )


@login_required
def user_password(request: HttpRequest, pk: int) -> HttpResponse:
    user = _managed_user_or_404(request, pk)
    form = PasswordResetForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.password_reset(actor=request.user, user=user, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, f"已重置 {user.username} 的密码。")
            return redirect("accounts:user_detail", pk=user.pk)
    return render(
        request,
        "accounts/user_form.html",
        {"form": form, "title": f"重置密码 · {user.username}", "subject": user},
        status=400 if form.errors else 200,
    )


@login_required
@require_POST
def user_active(request: HttpRequest, pk: int) -> HttpResponse:
    """Deactivate (停用) or re-activate (启用) an account."""
    user = _managed_user_or_404(request, pk)
    try:
        if request.POST.get("active") == "1":
            services.user_activate(actor=request.user, user=user)
            messages.success(request, "账号已启用。")
        else:
            services.user_deactivate(actor=request.user, user=user)
            messages.success(request, "账号已停用。")
    except ValidationError as exc:
        messages.error(request, "；".join(exc.messages))
    return redirect("accounts:user_detail", pk=user.pk)


@login_required
@require_POST
def grant_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    require_capability(request.user, "admin_users")
    grant = get_object_or_404(selectors.grants_visible_to(request.user), pk=pk)
    services.role_revoke(actor=request.user, grant=grant)
    messages.success(request, "已撤销角色。")
    return redirect("accounts:user_detail", pk=grant.user_id)


# --- audit log ------------------------------------------------------------------------------


@login_required
def audit_list(request: HttpRequest) -> HttpResponse:
    """审计日志 of the signed-in 系统管理员's subtree."""
    require_capability(request.user, "audit_view")
    form = AuditFilterForm(request.GET or None)
    kwargs = form.search_kwargs() if form.is_valid() else {}
    entries = selectors.audit_search(request.user, **kwargs)
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "accounts/audit_list.html",
        {"form": form, "page": page, "query": query.urlencode()},
        status=400 if form.errors else 200,
    )
