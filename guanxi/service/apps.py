from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ServiceConfig(AppConfig):
    """The service desk: service-level calendars and deadlines (tickets and policies to come)."""

    name = "guanxi.service"
    label = "service"
    verbose_name = _("Service desk")

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers them)
