from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "apps.accounts"
    label = "accounts"
    verbose_name = "账号与权限"

    def ready(self) -> None:
        from apps.accounts.services import grants_follow_merge
        from apps.organizations.signals import org_merged

        org_merged.connect(grants_follow_merge, dispatch_uid="accounts.grants_follow_merge")
