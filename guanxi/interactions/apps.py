from django.apps import AppConfig


class InteractionsConfig(AppConfig):
    name = "guanxi.interactions"
    label = "interactions"
