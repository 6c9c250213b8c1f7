from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "apps.reports"
    label = "reports"
    verbose_name = "季度报告"

    def ready(self) -> None:
        from apps.reports import rules  # noqa: F401  (registers the rule parameters)
