from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    """Orders and customer-value analytics: lifetime-value models, and later RFM and tiers."""

    name = "guanxi.analytics"
    label = "analytics"
