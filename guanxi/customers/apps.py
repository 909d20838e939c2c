from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class CustomersConfig(AppConfig):
    name = "guanxi.customers"
    label = "customers"
    verbose_name = _("Customers")

    def ready(self) -> None:
        from .organisation_owner import restore_sqlite_organisation_owner_triggers
        from .search import restore_sqlite_search_triggers

        post_migrate.connect(
            restore_sqlite_search_triggers, sender=self, dispatch_uid="customers-search-triggers"
        )
        post_migrate.connect(
            restore_sqlite_organisation_owner_triggers,
            sender=self,
            dispatch_uid="customers-organisation-owner-triggers",
        )
