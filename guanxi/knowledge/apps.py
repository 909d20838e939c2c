from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class KnowledgeConfig(AppConfig):
    """The service desk's knowledge base: articles on known problems and their solutions, and
    the similar cases offered to an agent while a ticket is written."""

    name = "guanxi.knowledge"
    label = "knowledge"
    verbose_name = _("Knowledge base")
