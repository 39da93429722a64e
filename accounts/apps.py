from django.apps import AppConfig
from django.conf import settings
from django.db.models.signals import post_save


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from accounts.signals import on_user_saved

        post_save.connect(
            on_user_saved, sender=settings.AUTH_USER_MODEL, dispatch_uid="accounts.user_saved"
        )
