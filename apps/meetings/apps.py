from django.apps import AppConfig


class MeetingsConfig(AppConfig):
    name = "apps.meetings"
    label = "meetings"
    verbose_name = "三会一课"

    def ready(self) -> None:
        from treebeard.mp_tree import path_updated

        from apps.meetings import rollups, rules  # noqa: F401  (registers rule parameters)
        from apps.organizations.models import Org

        # org_move / org_merge: the rollup rows that carry a path follow the subtree
        path_updated.connect(
            rollups.on_path_updated, sender=Org, dispatch_uid="meetings.rollups_follow_path"
        )
