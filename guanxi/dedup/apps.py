from django.apps import AppConfig


class DedupConfig(AppConfig):
    """Duplicate customers: finding them (the matching engine, the scan, the review queue) and
    merging them (with undo)."""

    name = "guanxi.dedup"
    label = "dedup"
