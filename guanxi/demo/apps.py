from django.apps import AppConfig


class DemoConfig(AppConfig):
    """Synthetic demo company and the `serve` command used by `make demo`."""

    name = "guanxi.demo"
    label = "demo"
