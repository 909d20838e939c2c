from django.apps import AppConfig


class ServiceConfig(AppConfig):
    """The service desk: service-level calendars and deadlines (tickets and policies to come)."""

    name = "guanxi.service"
    label = "service"
