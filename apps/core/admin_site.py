"""The Django admin, scoped by the org tree like every other door into the data.

- Superusers (deployment operators) get the full admin.
- A 系统管理员 (a user with the `admin_tree` or `admin_users` capability) may browse the admin
  read-only, and sees only rows inside their subtree: each registered model is scoped through
  the path of the org it belongs to (found by following foreign keys to `organizations.Org`, or
  named explicitly with `scope_path_field` on the ModelAdmin). Models with no org path are for
  superusers only. Writes go through the audited services behind the platform's own pages.
- Anonymous visitors get the platform's sign-in page; other signed-in users get 403.
"""

from __future__ import annotations

from functools import cache

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.core.exceptions import PermissionDenied
from django.db import models
from django.shortcuts import redirect
from django.urls import reverse

ADMIN_CAPABILITIES = ("admin_tree", "admin_users")


@cache
def org_path_lookup(model: type[models.Model], depth: int = 3) -> str | None:
    """The ORM lookup from `model` to its org's materialized path, e.g. "branch__path", or None."""
    from apps.organizations.models import Org

    if issubclass(model, Org):
        return "path"
    frontier: list[tuple[type[models.Model], str]] = [(model, "")]
    for _ in range(depth):
        following: list[tuple[type[models.Model], str]] = []
        for current, prefix in frontier:
            fields = sorted(
                (
                    f
                    for f in current._meta.get_fields()
                    if f.many_to_one and f.concrete and f.related_model
                ),
                key=lambda f: (f.name not in ("org", "branch"), f.name),
            )
            for field in fields:
                lookup = f"{prefix}{field.name}"
                if issubclass(field.related_model, Org):
                    return f"{lookup}__path"
                following.append((field.related_model, f"{lookup}__"))
        frontier = following
    return None


def _is_platform_admin(user) -> bool:
    from apps.accounts.scope import scope_of

    if not (user.is_active and user.is_authenticated):
        return False
    if user.is_superuser:
        return True
    scope = scope_of(user)
    return any(scope.has(cap) for cap in ADMIN_CAPABILITIES)


class ScopedAdminMixin:
    """Set `scope_path_field` on a ModelAdmin to name the lookup explicitly."""

    def _path_field(self) -> str | None:
        return getattr(self, "scope_path_field", None) or org_path_lookup(self.model)

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if request.user.is_superuser:
            return qs
        from apps.accounts.scope import path_q

        field = self._path_field()
        if field is None:
            return qs.none()
        q = models.Q()
        for cap in ADMIN_CAPABILITIES:
            q |= path_q(request.user, cap, field)
        qs = qs.filter(q)
        return (
            qs.distinct() if "__" in field and field.split("__")[0] in self._reverse_names() else qs
        )

    def _reverse_names(self) -> set[str]:
        return {f.name for f in self.model._meta.get_fields() if f.auto_created and not f.concrete}

    def has_module_permission(self, request):
        if request.user.is_superuser:
            return super().has_module_permission(request)
        return self._path_field() is not None and _is_platform_admin(request.user)

    def has_view_permission(self, request, obj=None):
        if request.user.is_superuser:
            return super().has_view_permission(request, obj)
        if not self.has_module_permission(request):
            return False
        return obj is None or self.get_queryset(request).filter(pk=obj.pk).exists()

    def has_add_permission(self, request, *args):
        return request.user.is_superuser and super().has_add_permission(request, *args)

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser and super().has_delete_permission(request, obj)


class ScopedAdminSite(admin.AdminSite):
    site_header = "基层党建工作管理平台 · 后台管理"
    site_title = "基层党建后台"
    index_title = "后台管理"

    def has_permission(self, request):
        return _is_platform_admin(request.user)

    def login(self, request, extra_context=None):
        # One sign-in page for the whole platform (audited, username or phone). A signed-in
        # user without admin rights gets 403, not a redirect loop through the sign-in page.
        if request.user.is_authenticated:
            raise PermissionDenied("没有权限访问后台管理。")
        target = request.GET.get("next") or reverse("admin:index")
        return redirect(f"{reverse('accounts:login')}?next={target}")

    def register(self, model_or_iterable, admin_class=None, **options):
        admin_class = admin_class or admin.ModelAdmin
        if not issubclass(admin_class, ScopedAdminMixin):
            admin_class = type(
                f"Scoped{admin_class.__name__}",
                (ScopedAdminMixin, admin_class),
                {"__module__": admin_class.__module__},
            )
        return super().register(model_or_iterable, admin_class, **options)


class ScopedAdminConfig(AdminConfig):
    default_site = "apps.core.admin_site.ScopedAdminSite"
