from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DemoConfig(AppConfig):
    """Synthetic demo company and the `serve` command used by `make demo`."""

    name = "guanxi.demo"
    label = "demo"
    verbose_name = _("Demo data")
