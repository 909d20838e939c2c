from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "guanxi.accounts"
    label = "accounts"
    verbose_name = _("Users and teams")

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers them)
