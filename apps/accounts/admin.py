from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from apps.accounts.models import RoleGrant, User


class RoleGrantInline(admin.TabularInline):
    model = RoleGrant
    fk_name = "user"
    extra = 0
    autocomplete_fields = ["org"]


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    scope_path_field = (
        "grants__org__path"  # a 系统管理员 sees the users granted inside their subtree
    )
    list_display = ["username", "full_name", "phone_masked", "is_active", "is_staff"]
    search_fields = ["username", "full_name"]
    fieldsets = (*BaseUserAdmin.fieldsets, ("联系方式", {"fields": ["full_name", "phone_masked"]}))
    readonly_fields = ["phone_masked"]
    inlines = [RoleGrantInline]


@admin.register(RoleGrant)
class RoleGrantAdmin(admin.ModelAdmin):
    list_display = ["user", "role", "org", "created_at"]
    list_filter = ["role"]
    autocomplete_fields = ["user", "org"]
