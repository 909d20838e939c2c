from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ImportsConfig(AppConfig):
    """Bringing data in from files: customers and interactions from CSV and XLSX, from the
    command line and from the web (as background jobs)."""

    name = "guanxi.imports"
    label = "imports"
    verbose_name = _("Imports")
