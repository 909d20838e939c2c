"""The task queue's database backend as an app of the administration.

In a module of its own: an ``apps.py`` with more than one app configuration in it would leave
the scheduling app without its own."""

from django.utils.translation import gettext_lazy as _
from django_tasks_db.apps import TasksAppConfig


class TasksDatabaseConfig(TasksAppConfig):
    """The task results under a name in the reader's language: the package names its app in
    plain English, which no catalogue can translate."""

    verbose_name = _("Tasks Database Backend")
