from django.contrib import admin

from apps.core.models import AuditEntry, RuleSetting


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ["at", "actor_name", "action", "verb", "object_type", "object_repr", "ip"]
    list_filter = ["action", "object_type"]
    search_fields = ["object_repr", "actor_name", "verb"]
    readonly_fields = [f.name for f in AuditEntry._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(RuleSetting)
class RuleSettingAdmin(admin.ModelAdmin):
    list_display = ["key", "value", "updated_at", "updated_by"]
