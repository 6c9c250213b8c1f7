from django.apps import AppConfig


class AssessmentsConfig(AppConfig):
    name = "apps.assessments"
    label = "assessments"
    verbose_name = "责任考核"

    def ready(self) -> None:
        from apps.assessments import rules, sources  # noqa: F401  (register rule parameters and sources)
