from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ServiceConfig(AppConfig):
    """The service desk: service-level calendars and deadlines (tickets and policies to come)."""

    name = "guanxi.service"
    label = "service"
    verbose_name = _("Service desk")
