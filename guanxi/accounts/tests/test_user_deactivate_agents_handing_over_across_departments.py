"""Two service agents of two departments deactivated at once, each handing over to an agent in a
team of the other's department. Each deactivation shares its successor's team and then locks
the department its leaver was an agent of. Sharing the team shared its department too (the
query joined it, teams being ordered by their department's name), ahead of the leaver's and out
of the one ascending order: each held the department the other waited for, and the database
broke one of them off. Now the team's row alone is shared. Real concurrency needs PostgreSQL
(SQLite has one writer at a time)."""

from guanxi.accounts import services as accounts_services
from guanxi.accounts.models import Department, Team, User
from guanxi.accounts.roles import Role
from guanxi.accounts.services import user_deactivate
from guanxi.core.testing.factories import UserFactory
from guanxi.core.testing.merging import CONCURRENT
from guanxi.core.testing.threads import hold_before, second_waits_for_first

pytestmark = CONCURRENT


def test_agents_of_two_departments_handing_over_to_each_others_teams_do_not_deadlock(
    company, monkeypatch
):
    north, south = company.service, Department.objects.create(name="Customer Service South")
    south_leaver = UserFactory(username="south_agent", role=Role.SERVICE_AGENT, department=south)
    # Each hands over to an agent in a team of the other's department.
    to_south = UserFactory(
        username="south_desk_agent",
        role=Role.SERVICE_AGENT,
        department=south,
        team=Team.objects.create(name="South desk", department=south),
    )
    to_north = UserFactory(
        username="north_desk_agent",
        role=Role.SERVICE_AGENT,
        department=north,
        team=Team.objects.create(name="North desk", department=north),
    )
    # Held with the successor's team shared, before the leaver's department is locked.
    hold = hold_before(monkeypatch, accounts_services, "_departments_lock", thread="north")
    results = second_waits_for_first(
        lambda: user_deactivate(
            actor=company.admin, user_id=company.agent.pk, hand_over_to=to_south.pk
        ),
        lambda: user_deactivate(
            actor=company.admin, user_id=south_leaver.pk, hand_over_to=to_north.pk
        ),
        hold,
        names=("north", "south"),
        or_finishes=True,
    )
    assert results["north"][0] == "ok", results["north"][-1]
    assert results["south"][0] == "ok", results["south"][-1]
    assert not User.objects.filter(pk__in=[company.agent.pk, south_leaver.pk], is_active=True)
