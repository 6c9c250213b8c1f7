from django.apps import AppConfig


class MeetingsConfig(AppConfig):
    name = "apps.meetings"
    label = "meetings"
    verbose_name = "三会一课"

    def ready(self) -> None:
        from apps.meetings import rules  # noqa: F401  (registers rule parameters)
