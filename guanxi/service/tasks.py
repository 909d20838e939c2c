"""Background work of the service desk, for the worker (``guanxi db_worker``) and the schedule
(the ``sla-sweep`` entry of ``GUANXI_SCHEDULE`` runs every minute)."""

from django_tasks import task

from .sweep import sla_sweep


@task()
def sweep_service_levels() -> dict:
    """Send the service-level warnings and breaches that are due, and try again the emails to
    customers not sent yet, telling whoever holds the ticket of those no longer tried; returns
    the counts."""
    result = sla_sweep()
    return {
        "tickets": result.tickets,
        "notifications": result.notifications,
        "emails": result.emails,
        "customer_emails": result.customer_emails,
        "customer_emails_given_up": result.customer_emails_given_up,
    }


@task()
def recompute_policy_deadlines(policy_id: int | None = None) -> int:
    """Work out the open tickets' policies and deadlines again after a policy or calendar
    changed; returns how many tickets were looked at."""
    from .services import reapply_policies

    return reapply_policies(policy_id=policy_id)
