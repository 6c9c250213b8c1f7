from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "apps.notifications"
    label = "notifications"
    verbose_name = "通知提醒"

    def ready(self) -> None:
        from apps.notifications import rules  # noqa: F401  (registers rule parameters and reminder rules)
