from django.apps import AppConfig
from django.core.signals import setting_changed
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "guanxi.core"
    label = "core"
    verbose_name = _("Core")

    def ready(self) -> None:
        from .languages import settle_language_code

        settle_language_code()
        # Settings changed while running (a test's override_settings) are read the same way.
        setting_changed.connect(_language_code_changed, dispatch_uid="guanxi-language-code")


def _language_code_changed(*, setting: str, enter: bool, **kwargs) -> None:
    if setting == "LANGUAGE_CODE" and enter:
        from .languages import settle_language_code

        settle_language_code()
