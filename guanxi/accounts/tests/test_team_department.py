"""A person's team belongs to their department. Who sees which customers reads a rep's team and a
manager's department; a rep whose team is in another department would show their customers to
one department's manager while the other's team shares them. The user page and the team page
refuse it, and ``guanxi check`` names anyone already so."""

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.urls import reverse

from guanxi.accounts.models import Team, User
from guanxi.core.testing.admin_forms import change_form_data, signed_in_administrators

pytestmark = pytest.mark.django_db


def _post(page: str, obj, **changes):
    (ann,) = signed_in_administrators("ann")
    url = reverse(f"admin:accounts_{page}_change", args=[obj.pk])
    return ann.post(url, change_form_data(ann.get(url), **changes))


def test_a_user_put_in_a_team_of_another_department_is_refused(company):
    response = _post("user", company.rep, department=company.west.pk)

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert errors["team"] == [
        "This team belongs to the East Sales department: choose that department, or another team."
    ]
    assert User.objects.get(pk=company.rep.pk).department == company.east


def test_a_user_moved_with_a_team_of_the_new_department_is_saved(company):
    response = _post("user", company.rep, department=company.west.pk, team=company.team_west.pk)

    assert response.status_code == 302
    rep = User.objects.get(pk=company.rep.pk)
    assert (rep.department, rep.team) == (company.west, company.team_west)


def test_a_team_with_members_is_not_moved_to_another_department(company):
    response = _post("team", company.team_a, department=company.west.pk)

    assert response.status_code == 200
    [error] = response.context["adminform"].form.errors["department"]
    assert "rep" in error and "teammate" in error
    assert Team.objects.get(pk=company.team_a.pk).department == company.east


def test_a_team_without_members_moves(company):
    empty = Team.objects.create(name="C", department=company.east)

    assert _post("team", empty, department=company.west.pk).status_code == 302
    assert Team.objects.get(pk=empty.pk).department == company.west


def test_the_check_names_people_whose_team_is_in_another_department(company):
    call_command("check", "--database", "default")  # nobody is, so far
    User.objects.filter(pk=company.rep_b.pk).update(department=company.west)

    with pytest.raises(SystemCheckError) as raised:
        call_command("check", "--database", "default", "--fail-level", "WARNING")

    assert "accounts.W002" in str(raised.value) and "rep_b" in str(raised.value)
