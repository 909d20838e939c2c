"""Deactivating someone who is named to hear about service-level breaches — a department's
manager, a team's lead, a policy's general manager — is refused, naming each role and the
admin page that changes it: the sweep leaves inactive people out, so those escalations would
go to nobody. And the admin forms do not let an inactive person be named to them."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import translation

from guanxi.accounts.models import Department, Team, User
from guanxi.accounts.services import POOL, user_deactivate
from guanxi.audit.models import AuditEvent
from guanxi.customers.models import Customer
from guanxi.service.models import SlaPolicy
from guanxi.service.tests.desk import build_desk

pytestmark = pytest.mark.django_db


@pytest.fixture
def desk(company):
    return build_desk(company)


@pytest.fixture
def staff_admin(company):
    User.objects.filter(pk=company.admin.pk).update(is_staff=True, is_superuser=True)
    company.admin.refresh_from_db()
    return company.admin


def _active(user) -> bool:
    return User.objects.get(pk=user.pk).is_active


def _refusal(actor, user, hand_over_to=POOL) -> list[str]:
    with pytest.raises(ValidationError) as refused:
        user_deactivate(actor=actor, user_id=user.pk, hand_over_to=hand_over_to)
    return refused.value.message_dict["roles"]


def test_a_department_manager_is_not_deactivated(company, desk):
    (message,) = _refusal(company.admin, desk.head)
    assert "Customer Service" in message
    assert reverse("admin:accounts_department_change", args=[company.service.pk]) in message
    assert _active(desk.head)
    assert not AuditEvent.objects.exists()


def test_a_team_lead_is_not_deactivated_and_keeps_their_customers(company):
    Team.objects.filter(pk=company.team_a.pk).update(lead=company.rep)
    (message,) = _refusal(company.admin, company.rep, hand_over_to=company.teammate.pk)
    assert "East Sales / A" in message
    assert reverse("admin:accounts_team_change", args=[company.team_a.pk]) in message
    assert _active(company.rep)
    assert Customer.objects.get(pk=company.rep_customer.pk).owner == company.rep
    assert not AuditEvent.objects.exists()


def test_a_policys_general_manager_is_not_deactivated_even_if_the_policy_is_off(company, desk):
    # Tickets keep the policy they were opened under, so an inactive policy still escalates.
    policy = SlaPolicy.objects.order_by("pk").first()
    SlaPolicy.objects.filter(pk=policy.pk).update(general_manager=company.analyst, is_active=False)
    (message,) = _refusal(company.admin, company.analyst)
    assert policy.name in message
    assert reverse("admin:service_slapolicy_change", args=[policy.pk]) in message
    assert _active(company.analyst)


def test_every_role_held_is_named(company, desk):
    Team.objects.filter(pk=company.team_b.pk).update(lead=desk.head)
    SlaPolicy.objects.filter(pk=SlaPolicy.objects.order_by("pk").first().pk).update(
        general_manager=desk.head
    )
    messages = _refusal(company.admin, desk.head)
    assert len(messages) == 3
    assert "Customer Service" in messages[0] and "East Sales / B" in messages[1]


def test_the_refusal_names_what_else_is_held_too(company):
    Department.objects.filter(pk=company.east.pk).update(manager=company.rep)
    with pytest.raises(ValidationError) as refused:
        user_deactivate(actor=company.admin, user_id=company.rep.pk)
    assert set(refused.value.message_dict) == {"roles", "hand_over_to"}


def test_once_someone_else_holds_the_role_they_are_deactivated(company, desk):
    _refusal(company.admin, desk.lead)
    Team.objects.filter(pk=desk.team.pk).update(lead=company.agent)
    user_deactivate(actor=company.admin, user_id=desk.lead.pk, hand_over_to=POOL)
    assert not _active(desk.lead)


def test_the_refusal_is_said_in_chinese(company, desk):
    with translation.override("zh-hans"):
        (message,) = _refusal(company.admin, desk.head)
    # The whole sentence: the role named in it is translated too, not only the words around it.
    url = reverse("admin:accounts_department_change", args=[company.service.pk])
    assert message == (
        f"{desk.head.label} 是部门“Customer Service”的经理，"
        f"负责接收服务级别超时的升级通知：停用前请在 {url} 改选他人。"
    )


# ---------------------------------------------------------------------------------------------
# The admin site


def _change_form(user, **overrides):
    data = {
        "username": user.username,
        "email": user.email,
        "role": user.role,
        "department": user.department_id or "",
        "team": user.team_id or "",
        "display_name": user.display_name,
        "date_joined_0": "2026-01-05",
        "date_joined_1": "09:00:00",
    }
    data.update(overrides)
    return data


def test_unticking_active_for_a_department_manager_is_refused(client, company, desk, staff_admin):
    client.force_login(staff_admin)
    url = reverse("admin:accounts_user_change", args=[desk.head.pk])
    response = client.post(url, _change_form(desk.head))
    assert response.status_code == 200
    page = response.content.decode()
    assert reverse("admin:accounts_department_change", args=[company.service.pk]) in page
    assert _active(desk.head)


def test_the_deactivate_page_lists_the_roles_with_links(client, company, desk, staff_admin):
    client.force_login(staff_admin)
    url = reverse("admin:accounts_user_deactivate", args=[desk.lead.pk])
    page = client.get(url).content.decode()
    assert 'id="escalation-roles"' in page
    assert reverse("admin:accounts_team_change", args=[desk.team.pk]) in page
    response = client.post(url, {"hand_over_to": POOL})
    assert response.status_code == 200
    assert "Customer Service / Desk" in response.content.decode()
    assert _active(desk.lead)


def _department_form(department, manager):
    return {"name": department.name, "manager": manager.pk, "version_read": department.version}


def _team_form(team, lead):
    return {
        "name": team.name,
        "department": team.department_id,
        "customer_sharing": team.customer_sharing,
        "lead": lead.pk,
        "version_read": team.version,
    }


def test_an_inactive_user_cannot_be_made_department_manager_or_team_lead(
    client, company, staff_admin
):
    User.objects.filter(pk=company.rep_b.pk).update(is_active=False)
    client.force_login(staff_admin)
    for url, data in (
        (
            reverse("admin:accounts_department_change", args=[company.east.pk]),
            _department_form(company.east, company.rep_b),
        ),
        (
            reverse("admin:accounts_team_change", args=[company.team_b.pk]),
            _team_form(company.team_b, company.rep_b),
        ),
    ):
        response = client.post(url, data)
        assert response.status_code == 200, url
        field = "manager" if "department" in url else "lead"
        errors = response.context["adminform"].form.errors
        assert "no longer active" in " ".join(errors[field]), url
    assert Department.objects.get(pk=company.east.pk).manager is None
    assert Team.objects.get(pk=company.team_b.pk).lead is None
    # An active colleague is accepted.
    response = client.post(
        reverse("admin:accounts_team_change", args=[company.team_b.pk]),
        _team_form(company.team_b, company.teammate),
    )
    assert response.status_code == 302
    assert Team.objects.get(pk=company.team_b.pk).lead == company.teammate


def test_an_inactive_user_cannot_be_made_a_policys_general_manager(
    client, company, desk, staff_admin
):
    User.objects.filter(pk=company.rep_b.pk).update(is_active=False)
    policy = SlaPolicy.objects.order_by("pk").first()
    client.force_login(staff_admin)
    url = reverse("admin:service_slapolicy_change", args=[policy.pk])
    form = client.get(url).context["adminform"].form
    data = {
        name: ("" if value is None else value)
        for name, value in form.initial.items()
        if name in form.fields
    }
    data.update(
        {
            name: form[name].value()
            for name in ("customer_tiers", "ticket_types", "priorities", "channels", "escalation")
        }
    )
    data["general_manager"] = company.rep_b.pk
    data["is_active"] = "on"
    response = client.post(url, data)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "no longer active" in " ".join(errors["general_manager"])
    assert SlaPolicy.objects.get(pk=policy.pk).general_manager is None
