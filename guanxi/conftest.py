"""Shared test fixtures: one small company with a named user per role (Healthchecks style), so
every test reads "as the rep, ..." rather than building its own world."""

from dataclasses import dataclass

import pytest
from django.conf import settings
from django.core.cache import cache
from django.utils import translation
from hypothesis import settings as hypothesis_settings

from guanxi.accounts.models import Department, Team, User
from guanxi.accounts.roles import Role
from guanxi.core.testing.factories import CustomerFactory, UserFactory
from guanxi.customers.models import Customer

PASSWORD = "pw-for-tests-1"

# Property tests check results, not speed: Hypothesis's default deadline (200 ms an example)
# failed them on a busy machine, and speed is measured by the benches, never by a test.
hypothesis_settings.register_profile("guanxi", deadline=None)
hypothesis_settings.load_profile("guanxi")


@pytest.fixture(autouse=True)
def _empty_cache():
    """Every test starts with nothing counted in the cache (the password reset page's limits):
    the tests of one worker share its memory, and would otherwise add up their asks."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _default_language():
    """Every test starts in the default language. A request in Chinese leaves Chinese active in
    the thread, and a later test on the same worker would read its messages in Chinese."""
    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@dataclass
class Company:
    """Two sales departments and a service department.

    East Sales / Team A shares customers for viewing; East Sales / Team B shares nothing.
    """

    east: Department
    west: Department
    service: Department
    team_a: Team
    team_b: Team
    team_west: Team
    admin: User
    manager: User  # East Sales, may view sensitive data
    manager_west: User
    rep: User  # East / Team A
    teammate: User  # East / Team A
    rep_b: User  # East / Team B
    rep_west: User
    agent: User  # service agent
    analyst: User
    rep_customer: Customer
    teammate_customer: Customer
    rep_b_customer: Customer
    west_customer: Customer
    agent_customer: Customer
    unowned_customer: Customer

    @property
    def users(self) -> dict[str, User]:
        return {
            name: getattr(self, name)
            for name in (
                "admin",
                "manager",
                "manager_west",
                "rep",
                "teammate",
                "rep_b",
                "rep_west",
                "agent",
                "analyst",
            )
        }

    @property
    def customers(self) -> dict[str, Customer]:
        return {
            name: getattr(self, name)
            for name in (
                "rep_customer",
                "teammate_customer",
                "rep_b_customer",
                "west_customer",
                "agent_customer",
                "unowned_customer",
            )
        }


@pytest.fixture
def company(db) -> Company:
    east = Department.objects.create(name="East Sales")
    west = Department.objects.create(name="West Sales")
    service = Department.objects.create(name="Customer Service")
    team_a = Team.objects.create(name="A", department=east, customer_sharing=Team.Sharing.VIEW)
    team_b = Team.objects.create(name="B", department=east, customer_sharing=Team.Sharing.NONE)
    team_west = Team.objects.create(name="W", department=west)

    def user(username, role, department=None, team=None, **extra):
        return UserFactory(username=username, role=role, department=department, team=team, **extra)

    admin = user("admin", Role.ADMIN)
    manager = user("manager", Role.MANAGER, east, sensitive=True)
    manager_west = user("manager_west", Role.MANAGER, west)
    rep = user("rep", Role.SALES_REP, east, team_a)
    teammate = user("teammate", Role.SALES_REP, east, team_a)
    rep_b = user("rep_b", Role.SALES_REP, east, team_b)
    rep_west = user("rep_west", Role.SALES_REP, west, team_west)
    agent = user("agent", Role.SERVICE_AGENT, service)
    analyst = user("analyst", Role.ANALYST)
    return Company(
        east=east,
        west=west,
        service=service,
        team_a=team_a,
        team_b=team_b,
        team_west=team_west,
        admin=admin,
        manager=manager,
        manager_west=manager_west,
        rep=rep,
        teammate=teammate,
        rep_b=rep_b,
        rep_west=rep_west,
        agent=agent,
        analyst=analyst,
        rep_customer=CustomerFactory(name="Rep Customer 张伟", owner=rep),
        teammate_customer=CustomerFactory(name="Teammate Customer", owner=teammate),
        rep_b_customer=CustomerFactory(name="Team B Customer", owner=rep_b),
        west_customer=CustomerFactory(name="West Customer", owner=rep_west),
        agent_customer=CustomerFactory(name="Agent Customer", owner=agent),
        unowned_customer=CustomerFactory(name="Unowned Customer", owner=None),
    )
