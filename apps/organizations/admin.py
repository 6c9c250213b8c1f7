from django.contrib import admin

from apps.organizations.models import CommitteePosition, Org, Term


@admin.register(Org)
class OrgAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "org_type", "category", "parent", "abolished_on"]
    list_filter = ["org_type", "category"]
    search_fields = ["name", "code", "short_name"]
    readonly_fields = ["path", "depth", "numchild", "parent"]


@admin.register(CommitteePosition)
class CommitteePositionAdmin(admin.ModelAdmin):
    list_display = ["org", "position", "member", "started_on", "ended_on"]
    raw_id_fields = ["org", "member", "term"]


@admin.register(Term)
class TermAdmin(admin.ModelAdmin):
    list_display = ["org", "number", "elected_on", "ends_on", "state"]
    raw_id_fields = ["org"]
