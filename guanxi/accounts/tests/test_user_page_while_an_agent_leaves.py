"""A user's admin page saved while a service agent is deactivated. The page locks the user,
their customers, their team and then the departments they leave and join; the deactivation
locked the leaver and their successor, the leaver's department, their customers (with the
people of their organisations and the customers of their open follow-ups) and then the tickets,
whose hand-over locks the successor's team (a key) and whose follow-ups' hand-over locks those
customers' account managers (a key) last. Each of the three ways round held what the page waited
for while waiting for what it held, and the database broke one of them off. The deactivation
now locks those account managers with the users, and the successor's team and the department
after the customers, as the page does, so one waits for the other. Real concurrency needs
PostgreSQL (SQLite has one writer at a time)."""

from django.urls import reverse

from guanxi.accounts import models as accounts_models
from guanxi.accounts import services as accounts_services
from guanxi.accounts.models import Team, User
from guanxi.accounts.roles import Role
from guanxi.accounts.services import POOL, user_deactivate
from guanxi.accounts.tests.service_department import new_ticket
from guanxi.analytics.models import ChurnFollowUp
from guanxi.core.testing.admin_forms import change_form_data, signed_in_administrators
from guanxi.core.testing.factories import CustomerFactory, UserFactory
from guanxi.core.testing.merging import CONCURRENT
from guanxi.core.testing.threads import hold_after_first, second_waits_for_first
from guanxi.customers.models import Customer
from guanxi.service.models import Ticket

pytestmark = CONCURRENT


def test_a_rep_moved_into_the_department_an_agent_leaves_waits_in_turn(company, monkeypatch):
    # The rep's customer works for an organisation the agent owns: the deactivation locks the
    # people of the leaver's organisations with them.
    organisation = CustomerFactory(
        name="Agent's Organisation", party_type=Customer.PartyType.ORGANIZATION, owner=company.agent
    )
    Customer.objects.filter(pk=company.rep_customer.pk).update(organization=organisation)
    (ann,) = signed_in_administrators("ann")
    url = reverse("admin:accounts_user_change", args=[company.rep.pk])
    data = change_form_data(ann.get(url), department=company.service.pk, team="")
    # Held once it has locked the rep's customers, before the departments.
    hold = hold_after_first(monkeypatch, accounts_services, "user_customers_lock", thread="page")
    results = second_waits_for_first(
        lambda: ann.post(url, data).status_code,
        lambda: user_deactivate(actor=company.admin, user_id=company.agent.pk, hand_over_to=POOL),
        hold,
        names=("page", "deactivation"),
    )
    assert results["page"] == ("ok", 302), results["page"][-1]
    assert results["deactivation"][0] == "ok", results["deactivation"][-1]
    assert User.objects.get(pk=company.rep.pk).department_id == company.service.pk
    assert not User.objects.get(pk=company.agent.pk).is_active


def test_a_page_saving_someone_of_the_successors_team_waits_in_turn(company, monkeypatch):
    desk = Team.objects.create(name="Desk", department=company.service)
    successor = UserFactory(
        username="successor", role=Role.SERVICE_AGENT, department=company.service, team=desk
    )
    colleague = UserFactory(
        username="colleague", role=Role.SERVICE_AGENT, department=company.service, team=desk
    )
    # Given to the successor, the leaver's ticket goes to their team.
    ticket = new_ticket(company.unowned_customer, assignee=company.agent, owner=company.agent)
    (ann,) = signed_in_administrators("ann")
    url = reverse("admin:accounts_user_change", args=[colleague.pk])
    data = change_form_data(ann.get(url), display_name="Colleague")
    # Held once it has locked the colleague's team, before their department.
    hold = hold_after_first(monkeypatch, accounts_models, "_lock_team", thread="page")
    results = second_waits_for_first(
        lambda: ann.post(url, data).status_code,
        lambda: user_deactivate(
            actor=company.admin, user_id=company.agent.pk, hand_over_to=successor.pk
        ),
        hold,
        names=("page", "deactivation"),
    )
    assert results["page"] == ("ok", 302), results["page"][-1]
    assert results["deactivation"][0] == "ok", results["deactivation"][-1]
    assert User.objects.get(pk=colleague.pk).display_name == "Colleague"
    stored = Ticket.objects.get(pk=ticket.pk)
    assert (stored.assignee_id, stored.team_id) == (successor.pk, desk.pk)


def test_a_rep_moved_while_a_leaver_hands_over_a_follow_up_on_their_customer_waits_in_turn(
    company, monkeypatch
):
    follow_up = ChurnFollowUp.objects.create(
        customer=company.rep_customer, owner=company.agent, reason="rfm"
    )
    (ann,) = signed_in_administrators("ann")
    url = reverse("admin:accounts_user_change", args=[company.rep.pk])
    data = change_form_data(ann.get(url), team=company.team_b.pk)
    # Held once it has locked the customers of the leaver's follow-ups, the rep's among them.
    hold = hold_after_first(
        monkeypatch, accounts_services, "_follow_ups_customers_lock", thread="deactivation"
    )
    results = second_waits_for_first(
        lambda: user_deactivate(actor=company.admin, user_id=company.agent.pk, hand_over_to=POOL),
        lambda: ann.post(url, data).status_code,
        hold,
        names=("deactivation", "page"),
    )
    assert results["deactivation"][0] == "ok", results["deactivation"][-1]
    assert results["page"] == ("ok", 302), results["page"][-1]
    # The follow-up went to the customer's account manager.
    assert ChurnFollowUp.objects.get(pk=follow_up.pk).owner_id == company.rep.pk
    assert User.objects.get(pk=company.rep.pk).team_id == company.team_b.pk
