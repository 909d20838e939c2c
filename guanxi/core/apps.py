from django.apps import AppConfig
from django.core.signals import setting_changed
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "guanxi.core"
    label = "core"
    verbose_name = _("Core")

    def __init__(self, app_name, app_module) -> None:
        super().__init__(app_name, app_module)
        from .languages import settle_language_code

        # Here, as the apps are listed, and not in ready(): the models are defined in between,
        # Django's own (auth's) translating as they are, in LANGUAGE_CODE as written, which
        # fails on a regional code with no catalogue (zh-cn) before any ready() runs.
        settle_language_code()

    def ready(self) -> None:
        from .languages import settle_language_code

        # Again with the apps ready, for a code only Django's own matching names.
        settle_language_code()
        # Settings changed while running (a test's override_settings) are read the same way.
        setting_changed.connect(_language_code_changed, dispatch_uid="guanxi-language-code")


def _language_code_changed(*, setting: str, enter: bool, **kwargs) -> None:
    if setting == "LANGUAGE_CODE" and enter:
        from .languages import settle_language_code

        settle_language_code()
