from django.db import models
from django.utils.translation import gettext_lazy as _


class ScheduledRun(models.Model):
    """One occurrence of a periodic job that the scheduler has queued. The unique pair of name
    and due time is what makes an occurrence run once: two schedulers, or one restarted
    mid-way, both try to insert it and only one succeeds."""

    name = models.CharField(_("schedule"), max_length=100)
    due_at = models.DateTimeField(_("due at"))
    enqueued_at = models.DateTimeField(_("queued at"), auto_now_add=True)
    task_id = models.CharField(_("task result id"), max_length=64, blank=True)

    class Meta:
        ordering = ["-due_at", "name"]
        constraints = [
            models.UniqueConstraint(fields=["name", "due_at"], name="one_run_per_due_time")
        ]
        verbose_name = _("scheduled run")
        verbose_name_plural = _("scheduled runs")

    def __str__(self) -> str:
        return f"{self.name} @ {self.due_at.isoformat()}"
