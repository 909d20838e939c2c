"""People deactivated before deactivating refused it while they held a role — a department's
manager, a team's lead, a policy's general manager — are still named there, and escalations
meant for them reach nobody. Administrators find them on the user list's filter "Inactive,
still holding a role", on their deactivate page and in the warnings of ``guanxi check
--database default`` (and ``guanxi migrate``)."""

from io import StringIO

import pytest
from django.core.checks import run_checks
from django.core.management import call_command
from django.urls import reverse

from guanxi.accounts.models import Team, User
from guanxi.service.models import SlaPolicy
from guanxi.service.tests.desk import build_desk

pytestmark = pytest.mark.django_db

FILTER = "escalation_roles=inactive_holding"


def warnings(databases=("default",)):
    """The accounts' warnings among all the registered checks, as ``guanxi check`` runs them
    (asked through the registry, so a check left unregistered is found out)."""
    return [
        warning for warning in run_checks(databases=databases) if warning.id.startswith("accounts.")
    ]


@pytest.fixture
def desk(company):
    return build_desk(company)


@pytest.fixture
def staff_admin(company):
    User.objects.filter(pk=company.admin.pk).update(is_staff=True, is_superuser=True)
    company.admin.refresh_from_db()
    return company.admin


@pytest.fixture
def policy(desk):
    return SlaPolicy.objects.order_by("pk").first()


@pytest.fixture
def left_holding_roles(company, desk, policy):
    """The desk's head (manager of Customer Service) and lead (of the Desk team) left the old
    way, still holding their roles, and the analyst left as general manager of a policy. The
    rep_b left holding nothing; the teammate still works here and leads team A."""
    SlaPolicy.objects.filter(pk=policy.pk).update(general_manager=company.analyst)
    Team.objects.filter(pk=company.team_a.pk).update(lead=company.teammate)
    User.objects.filter(
        pk__in=[desk.head.pk, desk.lead.pk, company.analyst.pk, company.rep_b.pk]
    ).update(is_active=False)
    return [company.analyst, desk.head, desk.lead]


def test_the_user_list_filter_shows_who_left_still_holding_a_role(
    client, company, desk, policy, staff_admin, left_holding_roles
):
    client.force_login(staff_admin)
    url = reverse("admin:accounts_user_changelist")
    everyone = client.get(url)
    assert "Inactive, still holding a role" in everyone.content.decode()
    assert "roles still held" not in everyone.content.decode().lower()

    response = client.get(f"{url}?{FILTER}")
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == left_holding_roles
    page = response.content.decode()
    # Each role, linked to the page where someone else is chosen.
    assert reverse("admin:accounts_department_change", args=[company.service.pk]) in page
    assert reverse("admin:accounts_team_change", args=[desk.team.pk]) in page
    assert reverse("admin:service_slapolicy_change", args=[policy.pk]) in page
    assert reverse("admin:accounts_team_change", args=[company.team_a.pk]) not in page


def test_nobody_is_listed_once_the_roles_are_given_to_others(
    client, company, desk, policy, staff_admin, left_holding_roles
):
    company.service.manager = staff_admin
    company.service.save()
    Team.objects.filter(pk=desk.team.pk).update(lead=None)
    SlaPolicy.objects.filter(pk=policy.pk).update(general_manager=company.manager)
    client.force_login(staff_admin)
    response = client.get(f"{reverse('admin:accounts_user_changelist')}?{FILTER}")
    assert list(response.context["cl"].result_list) == []


def test_the_check_warns_of_each_role_each_of_them_still_holds(
    company, desk, policy, left_holding_roles
):
    found = warnings()
    assert {warning.id for warning in found} == {"accounts.W001"}
    held = sorted((warning.obj.username, warning.msg, warning.hint) for warning in found)
    assert [(username, msg.split(":")[0]) for username, msg, _hint in held] == [
        (
            "analyst",
            f"No longer active but still the general manager of the service-level policy "
            f"“{policy.name}”",
        ),
        ("head", "No longer active but still the manager of the department “Customer Service”"),
        ("lead", "No longer active but still the lead of the team “Customer Service / Desk”"),
    ]
    assert held[1][2] == (
        "Choose someone else at "
        f"{reverse('admin:accounts_department_change', args=[company.service.pk])}."
    )


def test_guanxi_check_prints_the_warnings_when_asked_about_the_database(left_holding_roles):
    err = StringIO()
    call_command("check", "--database", "default", stdout=StringIO(), stderr=err)
    assert err.getvalue().count("accounts.W001") == 3
    assert "Customer Service" in err.getvalue()
    # Without a database to look at (building, --deploy), the check does not run.
    assert warnings(databases=None) == []


def test_no_warning_when_everyone_named_is_active(company, desk):
    assert warnings() == []


def test_the_deactivate_page_of_someone_who_left_lists_the_roles_they_still_hold(
    client, company, desk, policy, staff_admin, left_holding_roles
):
    client.force_login(staff_admin)
    page = client.get(reverse("admin:accounts_user_deactivate", args=[desk.head.pk]))
    page = page.content.decode()
    assert f"{desk.head.label} is already inactive." in page
    roles = page.split('id="escalation-roles"')[1].split("</ul>")[0]
    department = reverse("admin:accounts_department_change", args=[company.service.pk])
    assert f'<a href="{department}">Manager of the department “Customer Service”</a>' in roles
    page = client.get(reverse("admin:accounts_user_deactivate", args=[company.analyst.pk]))
    roles = page.content.decode().split('id="escalation-roles"')[1].split("</ul>")[0]
    assert reverse("admin:service_slapolicy_change", args=[policy.pk]) in roles
    assert policy.name in roles
    # Someone who left holding nothing: only that they are inactive already.
    page = client.get(reverse("admin:accounts_user_deactivate", args=[company.rep_b.pk]))
    page = page.content.decode()
    assert "is already inactive." in page and 'id="escalation-roles"' not in page


def test_the_roles_of_someone_who_left_are_listed_in_chinese(
    client, company, desk, staff_admin, left_holding_roles
):
    client.force_login(staff_admin)
    client.cookies["django_language"] = "zh-hans"
    page = client.get(reverse("admin:accounts_user_deactivate", args=[desk.lead.pk]))
    page = page.content.decode()
    assert f"{desk.lead.label} 已经停用。" in page
    assert "仍负责接收服务级别超时的升级通知，在改选他人之前这些通知无人接收。" in page
    roles = page.split('id="escalation-roles"')[1].split("</ul>")[0]
    assert reverse("admin:accounts_team_change", args=[desk.team.pk]) in roles
    assert "Customer Service / Desk" in roles and "lead of" not in roles.lower()
