from django.apps import AppConfig


class MembersConfig(AppConfig):
    name = "apps.members"
    label = "members"
    verbose_name = "党员"

    def ready(self) -> None:
        from apps.members import rules  # noqa: F401  (registers rule parameters)
        from apps.members.services import members_follow_merge
        from apps.organizations.signals import org_merged

        org_merged.connect(members_follow_merge, dispatch_uid="members.members_follow_merge")
