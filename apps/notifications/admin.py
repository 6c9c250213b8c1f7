from django.contrib import admin

from apps.notifications.models import Delivery, DeliveryAttempt, InboxItem, Preference, Reminder


class DeliveryInline(admin.TabularInline):
    model = Delivery
    extra = 0
    readonly_fields = [
        "channel",
        "state",
        "due_at",
        "attempts",
        "queued_at",
        "sending_since",
        "sent_at",
        "last_error",
    ]
    can_delete = False


@admin.register(Reminder)
class ReminderAdmin(admin.ModelAdmin):
    list_display = ["title", "rule", "recipient", "occurrence", "due_at", "state"]
    list_filter = ["rule", "state"]
    search_fields = ["title"]
    raw_id_fields = ["recipient", "org"]
    inlines = [DeliveryInline]


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ["id", "reminder", "channel", "state", "due_at", "attempts", "sent_at"]
    list_filter = ["channel", "state"]
    raw_id_fields = ["reminder"]


@admin.register(DeliveryAttempt)
class DeliveryAttemptAdmin(admin.ModelAdmin):
    list_display = ["delivery", "number", "outcome", "started_at", "finished_at", "worker"]
    list_filter = ["outcome"]
    raw_id_fields = ["delivery"]


@admin.register(InboxItem)
class InboxItemAdmin(admin.ModelAdmin):
    list_display = ["title", "user", "created_at", "read_at"]
    raw_id_fields = ["user", "delivery"]


@admin.register(Preference)
class PreferenceAdmin(admin.ModelAdmin):
    list_display = ["user", "channel", "enabled"]
    raw_id_fields = ["user"]
