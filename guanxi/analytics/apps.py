from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AnalyticsConfig(AppConfig):
    """Orders and customer-value analytics: lifetime-value models, and later RFM and tiers."""

    name = "guanxi.analytics"
    label = "analytics"
    verbose_name = _("Analytics")
