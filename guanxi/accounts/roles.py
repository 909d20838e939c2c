"""The five roles and what each may do. Which *customers* a role reaches is decided in
``guanxi.customers.visibility``; this module only answers "may this role do this kind of thing"."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    ADMIN = "admin", _("Administrator")
    MANAGER = "manager", _("Manager")
    SALES_REP = "sales_rep", _("Sales representative")
    SERVICE_AGENT = "service_agent", _("Service agent")
    ANALYST = "analyst", _("Analyst")


# Roles that may create customers and write to the records they can change.
WRITING_ROLES = frozenset({Role.ADMIN, Role.MANAGER, Role.SALES_REP, Role.SERVICE_AGENT})
# Roles that may hand customers from one account manager to another.
REASSIGNING_ROLES = frozenset({Role.ADMIN, Role.MANAGER})
# Roles that may delete customers (within what they can change).
DELETING_ROLES = frozenset({Role.ADMIN, Role.MANAGER})
