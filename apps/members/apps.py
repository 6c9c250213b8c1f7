from django.apps import AppConfig


class MembersConfig(AppConfig):
    name = "apps.members"
    label = "members"
    verbose_name = "党员"

    def ready(self) -> None:
        from apps.members import rules  # noqa: F401  (registers rule parameters)
