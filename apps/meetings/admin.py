from django.contrib import admin

from apps.meetings import models


@admin.register(models.MeetingRequirement)
class MeetingRequirementAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "kind",
        "period",
        "min_count",
        "needs_committee",
        "per_party_group",
        "active",
    ]
    list_filter = ["kind", "period", "active"]
    list_editable = ["min_count", "active"]


@admin.register(models.Exemption)
class ExemptionAdmin(admin.ModelAdmin):
    list_display = ["branch", "kind", "period_key", "reason", "approved_by", "approved_on"]
    raw_id_fields = ["branch"]
    readonly_fields = ["approved_by", "approved_on"]

    def save_model(self, request, obj, form, change):
        from apps.core.periods import local_today

        obj.approved_by = request.user
        obj.approved_on = local_today()
        super().save_model(request, obj, form, change)


@admin.register(models.BranchMeetingSetting)
class BranchMeetingSettingAdmin(admin.ModelAdmin):
    list_display = ["branch", "has_committee"]
    raw_id_fields = ["branch"]


@admin.register(models.Meeting)
class MeetingAdmin(admin.ModelAdmin):
    """Read-only: meetings change only through the services (rollups, versions, audit)."""

    list_display = [
        "title",
        "branch",
        "starts_at",
        "state",
        "expected_count",
        "present_count",
        "version",
    ]
    list_filter = ["state"]
    search_fields = ["title"]
    raw_id_fields = ["branch", "party_group", "host", "recorder", "lecturer"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False
