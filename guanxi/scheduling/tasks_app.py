"""The task queue's database backend as an app of the administration.

In a module of its own: an ``apps.py`` with more than one app configuration in it would leave
the scheduling app without its own."""

from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop, pgettext_lazy
from django_tasks_db.apps import TasksAppConfig

# The package's own words on the task results' pages of the administration, which it marks for
# translation but ships no Chinese for: named here so that ``make messages`` keeps them in the
# catalogue (it only gathers what Guanxi's own code marks) and Django finds them there. Never
# read: the package translates them itself, with whatever catalogue has them.
PACKAGE_STRINGS = (
    gettext_noop("Task Result"),
    gettext_noop("Task Results"),
    gettext_noop("enqueued at"),
    gettext_noop("started at"),
    gettext_noop("finished at"),
    gettext_noop("queue name"),
    gettext_noop("task path"),
    gettext_noop("return value"),
    gettext_noop("worker id"),
    gettext_noop("run after"),
    gettext_noop("backend name"),
    gettext_noop("args kwargs"),
    gettext_noop("exception class path"),
    gettext_noop("traceback"),
    pgettext_lazy("Task", "Ready"),
    pgettext_lazy("Task", "Running"),
    pgettext_lazy("Task", "Failed"),
    pgettext_lazy("Task", "Successful"),
)


class TasksDatabaseConfig(TasksAppConfig):
    """The task results under a name in the reader's language: the package names its app in
    plain English, which no catalogue can translate."""

    verbose_name = _("Tasks Database Backend")
