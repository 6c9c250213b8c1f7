from django.apps import AppConfig


class OrganizationsConfig(AppConfig):
    name = "apps.organizations"
    label = "organizations"
    verbose_name = "党组织"

    def ready(self) -> None:
        from apps.organizations import rules  # noqa: F401  (registers rule parameters)
