from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DedupConfig(AppConfig):
    """Duplicate customers: finding them (the matching engine, the scan, the review queue) and
    merging them (with undo)."""

    name = "guanxi.dedup"
    label = "dedup"
    verbose_name = _("Duplicates")
