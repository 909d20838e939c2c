"""System checks of the accounts: people who have left but are still named to hear about
service-level breaches, and people whose team is in another department than theirs.

Tagged ``database``: Django runs such checks on ``guanxi migrate`` (so an upgrade shows them)
and on ``guanxi check --database default``, not before every command, which must start
without a database (``collectstatic`` while building, ``check --deploy``).
"""

from django.core.checks import Tags, Warning, register
from django.db import DatabaseError, router
from django.db.models import F
from django.utils.translation import gettext as _

from .models import User
from .selectors import inactive_users_holding_escalation_roles, user_escalation_roles


def _database_to_check(app_configs, databases) -> str | None:
    """The database the accounts' users are read from, when this run of the checks covers the
    accounts app and is given that database; otherwise None, and there is nothing to check."""
    if app_configs is not None and not any(c.label == "accounts" for c in app_configs):
        return None
    alias = router.db_for_read(User)
    if not databases or alias not in databases:
        return None
    return alias


@register(Tags.database)
def inactive_people_holding_escalation_roles(app_configs=None, databases=None, **kwargs):
    """One warning for each role still held by someone who is no longer active."""
    alias = _database_to_check(app_configs, databases)
    if alias is None:
        return []
    try:
        leavers = list(inactive_users_holding_escalation_roles().using(alias))
        held = [(user, role) for user in leavers for role in user_escalation_roles(user)]
    except DatabaseError:
        # Before the first migrate there are no tables to look at, and nothing to warn about.
        return []
    return [
        Warning(
            _(
                "No longer active but still the %(role)s: the service-level escalations meant "
                "for them reach nobody."
            )
            % {"role": role.description},
            hint=_("Choose someone else at %(url)s.") % {"url": role.admin_url},
            obj=user,  # printed first, by name
            id="accounts.W001",
        )
        for user, role in held
    ]


@register(Tags.database)
def members_outside_their_teams_department(app_configs=None, databases=None, **kwargs):
    """One warning for each person whose team belongs to another department than theirs (made
    before the user and team pages refused it, or written around them)."""
    alias = _database_to_check(app_configs, databases)
    if alias is None:
        return []
    try:
        people = list(
            User.objects.using(alias)
            .filter(team__isnull=False)
            .exclude(department_id=F("team__department_id"))
            .select_related("team__department")
            .order_by("username")
        )
    except DatabaseError:
        return []
    return [
        Warning(
            _(
                "Their team, %(team)s, belongs to another department than theirs: their "
                "customers are seen by their own department's manager, not by the manager of "
                "their team's department."
            )
            % {"team": user.team},
            hint=_("Put them in the team's department, or in a team of their own department."),
            obj=user,
            id="accounts.W002",
        )
        for user in people
    ]
