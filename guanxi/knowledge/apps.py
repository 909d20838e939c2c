from django.apps import AppConfig


class KnowledgeConfig(AppConfig):
    """The service desk's knowledge base: articles on known problems and their solutions, and
    the similar cases offered to an agent while a ticket is written."""

    name = "guanxi.knowledge"
    label = "knowledge"
