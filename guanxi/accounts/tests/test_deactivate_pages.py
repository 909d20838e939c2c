"""Deactivating users on the admin site, and finding customers whose account manager has left:
the customer list's filter and the notice on the reassignment page."""

import pytest
from django.conf import settings
from django.urls import reverse

from guanxi.accounts.models import User
from guanxi.accounts.roles import Role
from guanxi.audit.models import AuditEvent
from guanxi.core.testing.factories import UserFactory
from guanxi.customers.models import Customer

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_admin(company):
    User.objects.filter(pk=company.admin.pk).update(is_staff=True, is_superuser=True)
    company.admin.refresh_from_db()
    return company.admin


def _change_form(user, **overrides):
    data = {
        "username": user.username,
        "email": user.email,
        "role": user.role,
        "department": user.department_id or "",
        "team": user.team_id or "",
        "display_name": user.display_name,
        "is_active": "on",
        "version_read": user.version,
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def _leave(user):
    """A user deactivated before deactivating handed their customers over."""
    User.objects.filter(pk=user.pk).update(is_active=False)


def test_unticking_active_for_someone_who_owns_customers_is_refused(client, company, staff_admin):
    client.force_login(staff_admin)
    url = reverse("admin:accounts_user_change", args=[company.rep.pk])
    response = client.post(url, _change_form(company.rep, is_active=None))
    assert response.status_code == 200
    page = response.content.decode()
    assert "still owns 1 customer" in page
    assert reverse("admin:accounts_user_deactivate", args=[company.rep.pk]) in page
    assert User.objects.get(pk=company.rep.pk).is_active
    assert not AuditEvent.objects.exists()


def test_unticking_active_for_someone_holding_nothing_deactivates_with_an_audit_row(
    client, company, staff_admin
):
    client.force_login(staff_admin)
    url = reverse("admin:accounts_user_change", args=[company.analyst.pk])
    response = client.post(url, _change_form(company.analyst, is_active=None))
    assert response.status_code == 302
    assert not User.objects.get(pk=company.analyst.pk).is_active
    assert AuditEvent.objects.filter(object_type="user", object_id=company.analyst.pk).exists()


def test_the_deactivate_page_hands_over_and_deactivates(client, company, staff_admin):
    client.force_login(staff_admin)
    url = reverse("admin:accounts_user_deactivate", args=[company.rep.pk])
    page = client.get(url).content.decode()
    assert "1 customer" in page and "Unowned pool" in page
    response = client.post(url, {"hand_over_to": company.teammate.pk})
    assert response.status_code == 302
    assert not User.objects.get(pk=company.rep.pk).is_active
    assert Customer.objects.get(pk=company.rep_customer.pk).owner == company.teammate
    assert AuditEvent.objects.filter(action="reassign", customer_id=company.rep_customer.pk)


def test_the_deactivate_page_shows_a_refusal_beside_the_choice(client, company, staff_admin):
    client.force_login(staff_admin)
    url = reverse("admin:accounts_user_deactivate", args=[company.rep.pk])
    response = client.post(url, {"hand_over_to": company.analyst.pk})
    assert response.status_code == 200
    assert "errorlist" in response.content.decode()
    assert User.objects.get(pk=company.rep.pk).is_active


def test_the_deactivate_page_refuses_oneself_above_the_form_not_beside_the_successor(
    client, company, staff_admin
):
    client.force_login(staff_admin)
    url = reverse("admin:accounts_user_deactivate", args=[staff_admin.pk])
    response = client.post(url, {"hand_over_to": "pool"})
    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == ["You cannot deactivate yourself."]
    assert not response.context["form"].errors.get("hand_over_to")
    assert 'class="errorlist nonfield"' in response.content.decode()
    assert User.objects.get(pk=staff_admin.pk).is_active


def test_the_deactivate_page_in_chinese(client, company, staff_admin):
    client.force_login(staff_admin)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    url = reverse("admin:accounts_user_deactivate", args=[company.rep.pk])
    page = client.get(url).content.decode()
    assert "停用" in page and "公海" in page and "仍负责" in page


@pytest.mark.parametrize(
    ("language", "sentence"),
    [
        (
            "en",
            "Colleagues' open tickets on these customers go back to their team's "
            "unassigned queue when the colleague can no longer see the customer",
        ),
        ("zh-hans", "其他同事在这些客户上的未结工单，如该同事此后无法再查看该客户，将退回"),
    ],
)
def test_the_deactivate_page_says_colleagues_tickets_may_go_back_to_the_queue(
    client, company, staff_admin, language, sentence
):
    # Handing the customers over also takes their tickets from colleagues who saw them only
    # through the leaver (user_deactivate); the administrator should know before choosing.
    client.force_login(staff_admin)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    url = reverse("admin:accounts_user_deactivate", args=[company.rep.pk])
    page = client.get(url).content.decode()
    assert sentence in " ".join(page.split())


@pytest.mark.parametrize(
    ("language", "sentence"),
    [
        (
            "en",
            "is the last active service agent of the department “Customer Service”. Its "
            "managers see every customer only while it has an active service agent: once agent "
            "has left, the managers' open tickets on customers they can no longer see go back "
            "to their team's unassigned queue.",
        ),
        ("zh-hans", "是部门“Customer Service”最后一位在职的客服专员。"),
    ],
)
def test_the_deactivate_page_says_the_last_agents_managers_lose_tickets(
    client, company, staff_admin, language, sentence
):
    # The department's managers see every customer only while an active agent is in it, so
    # deactivating its last one takes from them the tickets on customers they no longer see
    # (user_deactivate); the administrator should know before choosing.
    UserFactory(username="service_manager", role=Role.MANAGER, department=company.service)
    client.force_login(staff_admin)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    url = reverse("admin:accounts_user_deactivate", args=[company.agent.pk])
    assert sentence in " ".join(client.get(url).content.decode().split())


def test_the_deactivate_page_says_nothing_of_managers_while_another_agent_stays(
    client, company, staff_admin
):
    UserFactory(username="service_manager", role=Role.MANAGER, department=company.service)
    other = UserFactory(username="agent_two", role=Role.SERVICE_AGENT, department=company.service)
    client.force_login(staff_admin)
    url = reverse("admin:accounts_user_deactivate", args=[company.agent.pk])
    assert 'id="last-agent"' not in client.get(url).content.decode()
    # Once the other agent has gone, the page says it.
    User.objects.filter(pk=other.pk).update(is_active=False)
    assert 'id="last-agent"' in client.get(url).content.decode()


def test_the_deactivate_page_says_nothing_of_managers_who_are_superusers(
    client, company, staff_admin
):
    # A superuser sees every customer whatever their department holds: a department whose only
    # active manager is one loses nothing when its last agent leaves.
    boss = UserFactory(
        username="service_manager", role=Role.MANAGER, department=company.service, is_superuser=True
    )
    client.force_login(staff_admin)
    url = reverse("admin:accounts_user_deactivate", args=[company.agent.pk])
    assert 'id="last-agent"' not in client.get(url).content.decode()
    # One who is not a superuser does lose them.
    User.objects.filter(pk=boss.pk).update(is_superuser=False)
    assert 'id="last-agent"' in client.get(url).content.decode()


def test_staff_who_are_not_administrators_may_not_deactivate(client, company):
    url = reverse("admin:accounts_user_deactivate", args=[company.rep.pk])
    client.force_login(company.admin)  # an administrator by role, but not staff of the site
    assert "/admin/login/" in client.get(url)["Location"]
    User.objects.filter(pk=company.manager.pk).update(is_staff=True, is_superuser=False)
    company.manager.refresh_from_db()
    client.force_login(company.manager)
    assert client.post(url, {"hand_over_to": "pool"}).status_code == 403
    assert User.objects.get(pk=company.rep.pk).is_active


def test_customers_of_people_who_left_can_be_listed(client, company):
    _leave(company.rep)
    _leave(company.rep_west)
    client.force_login(company.manager)
    response = client.get("/customers/", {"owner": "inactive"})
    page = response.content.decode()
    assert company.rep_customer.name in page
    # West Sales is not the East manager's, and active owners' customers are not listed.
    assert company.west_customer.name not in page
    assert company.teammate_customer.name not in page
    assert company.unowned_customer.name not in page


def test_the_reassign_page_points_at_customers_of_people_who_left(client, company):
    _leave(company.rep)
    client.force_login(company.manager)
    page = client.get("/customers/reassign/").content.decode()
    notice = page.split('id="inactive-owners"')[1].split("</div>")[0]
    assert "no longer active" in notice and "rep (rep): 1 customer" in notice
    assert "?owner=inactive" in notice
    client.force_login(company.manager_west)
    assert 'id="inactive-owners"' not in client.get("/customers/reassign/").content.decode()


def test_the_reassign_page_can_hand_customers_to_the_pool(client, company):
    client.force_login(company.manager)
    response = client.post(
        "/customers/reassign/", {"from_owner": company.rep.pk, "to_owner": "none"}
    )
    assert response.status_code == 302
    assert Customer.objects.get(pk=company.rep_customer.pk).owner is None


def test_the_reassign_page_in_chinese(client, company):
    _leave(company.rep)
    client.force_login(company.manager)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    page = client.get("/customers/reassign/").content.decode()
    assert "已停用" in page.split('id="inactive-owners"')[1]


def test_unticking_active_for_someone_who_took_customers_on_since_the_check_is_refused(
    client, company, staff_admin, monkeypatch
):
    from guanxi.accounts import admin as accounts_admin

    # The form found nothing held; the rep then takes a customer on before the form is saved.
    monkeypatch.setattr(accounts_admin, "user_deactivation_refusal", lambda **kwargs: None)
    client.force_login(staff_admin)
    url = reverse("admin:accounts_user_change", args=[company.rep.pk])
    response = client.post(
        url, _change_form(company.rep, is_active=None, display_name="Rep who stays")
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:accounts_user_deactivate", args=[company.rep.pk])
    page = client.get(response["Location"]).content.decode()
    assert "still owns 1 customer" in page
    rep = User.objects.get(pk=company.rep.pk)
    assert rep.is_active and rep.display_name == "Rep who stays"
    assert Customer.objects.get(pk=company.rep_customer.pk).owner == company.rep
    # The name saved is on record; no deactivation is.
    [event] = AuditEvent.objects.all()
    assert event.changes == {"display_name": {"before": "", "after": "Rep who stays"}}


def test_the_reassign_preview_does_not_look_for_customers_of_people_who_left(
    client, company, monkeypatch
):
    from guanxi.customers import views as customer_views

    looked: list = []
    look = customer_views.inactive_owners_for_user
    monkeypatch.setattr(
        customer_views, "inactive_owners_for_user", lambda user: looked.append(user) or look(user)
    )
    _leave(company.rep)
    client.force_login(company.manager)
    response = client.get(
        "/customers/reassign/",
        {"from_owner": company.rep.pk, "to_owner": "none"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="reassign-count"' in page and 'id="inactive-owners"' not in page
    assert not looked
    assert 'id="inactive-owners"' in client.get("/customers/reassign/").content.decode()
    assert len(looked) == 1
