"""The one visibility rule, role by role."""

import pytest

from guanxi.core.testing.visibility_matrix import EXPECTED
from guanxi.customers.models import Customer
from guanxi.customers.visibility import (
    CHANGE,
    INTERACT,
    VIEW,
    customer_scope,
    customer_scopes,
    may_own_customers,
)


def _names(company, queryset) -> set[str]:
    by_pk = {c.pk: name for name, c in company.customers.items()}
    return {by_pk[pk] for pk in queryset.values_list("pk", flat=True)}


@pytest.mark.parametrize("username", sorted(EXPECTED))
def test_each_role_reaches_exactly_its_customers(company, username):
    user = company.users[username]
    for action, expected in zip((VIEW, INTERACT, CHANGE), EXPECTED[username], strict=True):
        assert _names(company, Customer.objects.visible_to(user, action)) == expected, action


def test_team_edit_sharing_lets_teammates_change_each_others_customers(company):
    company.team_a.customer_sharing = "edit"
    company.team_a.save()
    rep = type(company.rep).objects.get(pk=company.rep.pk)  # fresh object, no cached scope
    assert _names(company, Customer.objects.visible_to(rep, CHANGE)) == {
        "rep_customer",
        "teammate_customer",
    }


def test_deleted_customers_are_invisible_to_everyone(company):
    from django.utils import timezone

    Customer.objects.filter(pk=company.rep_customer.pk).update(deleted_at=timezone.now())
    for user in company.users.values():
        assert not Customer.objects.visible_to(user).filter(pk=company.rep_customer.pk).exists()


def test_inactive_and_anonymous_users_see_nothing(company):
    from django.contrib.auth.models import AnonymousUser

    company.admin.is_active = False
    assert not Customer.objects.visible_to(company.admin).exists()
    assert not Customer.objects.visible_to(AnonymousUser()).exists()


@pytest.mark.parametrize("username", sorted(EXPECTED))
def test_who_may_own_customers_is_who_may_change_the_customers_they_own(company, username):
    user = company.users[username]
    owned = Customer.objects.create(name=f"Owned by {username}", owner=user)
    may_change_it = Customer.objects.visible_to(user, CHANGE).filter(pk=owned.pk).exists()
    assert may_own_customers(user) is may_change_it


def _fresh(users) -> list:
    """The users as a new request reads them: no team read with them, no members cached."""
    from guanxi.accounts.models import User

    by_pk = User.objects.in_bulk([user.pk for user in users])
    return [by_pk[user.pk] for user in users]


@pytest.mark.parametrize("deleted", [False, True])
@pytest.mark.parametrize("action", [VIEW, INTERACT, CHANGE])
def test_scopes_asked_together_are_each_users_own_scope(company, action, deleted):
    """The bulk answer is the per-user answer for every named user, and both are the table; the
    service department's manager among them sees everyone and changes their department's."""
    from django.contrib.auth.models import AnonymousUser

    from guanxi.core.testing.factories import UserFactory

    gone = UserFactory(username="gone", role="sales_rep", team=company.team_a, is_active=False)
    lone_manager = UserFactory(username="lone_manager", role="manager")  # no department
    loner = UserFactory(username="loner", role="sales_rep")  # no team
    Customer.objects.create(name="Lone manager's", owner=lone_manager)
    head = _service_manager(company)
    people = _fresh([*company.users.values(), gone, lone_manager, loner, head])
    together = customer_scopes([*people, AnonymousUser(), None], action, deleted=deleted)
    alone = [
        customer_scope(user, action, deleted=deleted)
        for user in [*_fresh(people), AnonymousUser(), None]
    ]
    assert together == alone
    for user, scope in zip(people, together, strict=False):
        if user.username in EXPECTED:
            expected = EXPECTED[user.username][(VIEW, INTERACT, CHANGE).index(action)]
            named = Customer.objects.filter(pk__in=[c.pk for c in company.customers.values()])
            assert _names(company, named.filter(scope)) == expected, user.username
    assert not Customer.objects.filter(together[-1] | together[-2]).exists()
    assert not Customer.objects.filter(together[people.index(gone)]).exists()
    named = Customer.objects.filter(pk__in=[c.pk for c in company.customers.values()])
    head_sees = _names(company, named.filter(together[people.index(head)]))
    assert head_sees == (
        set(company.customers) if action != CHANGE else {"agent_customer", "unowned_customer"}
    )


def test_scopes_of_many_reps_and_managers_cost_the_queries_of_two(company):
    """Reading teams and departments for all the users at once: a ticket followed by 3,000 reps
    asked 3,000 queries for their scopes, one for each."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from guanxi.accounts.models import Department, Team
    from guanxi.core.testing.factories import UserFactory

    people = []
    for i in range(25):
        department = Department.objects.create(name=f"Region {i}")
        team = Team.objects.create(name=f"Team {i}", department=department, customer_sharing="view")
        people += [
            UserFactory(username=f"rep{i}", role="sales_rep", department=department, team=team),
            UserFactory(username=f"manager{i}", role="manager", department=department),
        ]
    counts = []
    for some in (_fresh(people[:2]), _fresh(people)):
        with CaptureQueriesContext(connection) as queries:
            scopes = customer_scopes(some, VIEW)
        counts.append(len(queries))
        assert len(scopes) == len(some)
    assert counts[0] == counts[1] == 3  # the teams, their members, the departments' members
    owned = Customer.objects.create(name="Region 7", owner=people[14])
    [rep7, manager7] = _fresh(people[14:16])
    assert customer_scopes([rep7, manager7]) == [customer_scope(rep7), customer_scope(manager7)]
    visible = Customer.objects.filter(customer_scopes([manager7])[0], pk=owned.pk)
    assert visible.exists()


def _service_manager(company):
    """A manager of the Customer Service department, where the company's agent works."""
    from guanxi.core.testing.factories import UserFactory

    return UserFactory(username="head", role="manager", department=company.service)


def test_a_manager_of_service_agents_sees_and_works_with_every_customer_as_they_do(company):
    """A manager may do at least what the people they manage may: their agents answer every
    customer, so may they; what they may change stays their department's and the pool."""
    head = _fresh([_service_manager(company)])[0]
    everyone = set(company.customers)
    assert _names(company, Customer.objects.visible_to(head, VIEW)) == everyone
    assert _names(company, Customer.objects.visible_to(head, INTERACT)) == everyone
    assert _names(company, Customer.objects.visible_to(head, CHANGE)) == {
        "agent_customer",
        "unowned_customer",
    }
    rep_customer = Customer.objects.visible_to(head, CHANGE).filter(pk=company.rep_customer.pk)
    assert not rep_customer.exists()


def test_a_manager_whose_only_agent_has_left_sees_their_department_only(company):
    """An agent who left manages nobody's calls any more: the department's customers (theirs
    among them) and the pool, as for any manager."""
    head = _service_manager(company)
    company.agent.is_active = False
    company.agent.save()
    [head] = _fresh([head])
    for action in (VIEW, INTERACT, CHANGE):
        assert _names(company, Customer.objects.visible_to(head, action)) == {
            "agent_customer",
            "unowned_customer",
        }, action
    assert not Customer.objects.visible_to(head).filter(pk=company.rep_customer.pk).exists()


def test_only_an_agent_among_a_departments_members_widens_its_managers_view(company):
    """Only a service agent's presence widens the manager's view: the East manager's reps and
    the analyst (who sees everyone but works no calls) do not."""
    from guanxi.core.testing.factories import UserFactory

    UserFactory(username="east_analyst", role="analyst", department=company.east)
    [manager] = _fresh([company.manager])
    assert _names(company, Customer.objects.visible_to(manager)) == EXPECTED["manager"][0]


@pytest.mark.parametrize("action", [VIEW, INTERACT, CHANGE])
def test_managers_with_and_without_agents_asked_together_cost_one_query(company, action):
    """Whether a department has an active agent is read with its members: 20 managers of 20
    departments, half with an agent (one of those only a former agent), cost one query, and each
    gets the scope they get alone."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from guanxi.accounts.models import Department
    from guanxi.core.testing.factories import UserFactory

    managers = []
    for i in range(20):
        department = Department.objects.create(name=f"Desk {i}")
        if i % 2:
            UserFactory(
                username=f"agent{i}", role="service_agent", department=department, is_active=i != 9
            )
        managers.append(UserFactory(username=f"head{i}", role="manager", department=department))
    rep = UserFactory(username="desk_rep", role="sales_rep", department=managers[3].department)
    theirs = Customer.objects.create(name="Desk 3's", owner=rep)
    together_users = _fresh(managers)
    with CaptureQueriesContext(connection) as queries:
        together = customer_scopes(together_users, action)
    assert len(queries) == 1
    assert together == [customer_scope(user, action) for user in _fresh(managers)]
    sees_rep_customer = [
        Customer.objects.filter(scope, pk=company.rep_customer.pk).exists() for scope in together
    ]
    with_agent = [i % 2 == 1 and i != 9 for i in range(20)]
    assert sees_rep_customer == (with_agent if action != CHANGE else [False] * 20)
    # Desk 3's customer: its own manager may change it, the managers of agents see it.
    assert [Customer.objects.filter(scope, pk=theirs.pk).exists() for scope in together] == [
        i == 3 or (action != CHANGE and with_agent[i]) for i in range(20)
    ]
