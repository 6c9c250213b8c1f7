from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from apps.accounts import services
from apps.accounts.forms import SignInForm
from apps.accounts.scope import scope_of


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
    scope = scope_of(request.user)
    grants = request.user.grants.select_related("org").order_by("org__path")
    return render(request, "accounts/home.html", {"scope": scope, "grants": grants})
