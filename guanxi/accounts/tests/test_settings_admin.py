"""Departments and teams decide which customers managers and teammates see and who hears about
escalations. Saving and deleting them in the admin site goes through services that record an
audit row; a save from a page opened before someone else's save is refused. Moving someone to
another department or team on their user page is on record too."""

import pytest
from django.urls import reverse

from guanxi.accounts.models import Department, Team, User
from guanxi.core.testing.admin_forms import (
    audit_events,
    change_form_data,
    delete_confirmation_data,
    signed_in_administrators,
)

pytestmark = pytest.mark.django_db

STALE = "changed by someone else since you opened it"


def test_departments_and_teams_are_audited_when_added_changed_and_deleted(company):
    (ann,) = signed_in_administrators("ann")
    response = ann.post(reverse("admin:accounts_department_add"), {"name": "North Sales"})
    assert response.status_code == 302
    north = Department.objects.get(name="North Sales")
    response = ann.post(
        reverse("admin:accounts_team_add"),
        {"name": "Harbin", "department": north.pk, "customer_sharing": "view", "lead": ""},
    )
    assert response.status_code == 302
    team = Team.objects.get(name="Harbin")
    url = reverse("admin:accounts_team_change", args=[team.pk])
    page = ann.get(url)
    response = ann.post(url, change_form_data(page, customer_sharing="edit", lead=company.rep.pk))
    assert response.status_code == 302
    # Saved again as it is: no row.
    ann.post(url, change_form_data(ann.get(url)))
    User.objects.filter(pk=company.rep_b.pk).update(team=team)
    delete = reverse("admin:accounts_team_delete", args=[team.pk])
    ann.post(delete, delete_confirmation_data(ann.get(delete)))

    [department_created] = audit_events("department", north.pk)
    assert department_created.action == "create"
    assert department_created.changes["name"] == {"before": None, "after": "North Sales"}
    created, updated, deleted = audit_events("team", team.pk)
    assert created.changes["department_id"] == {"before": None, "after": north.pk}
    assert updated.changes == {
        "customer_sharing": {"before": "view", "after": "edit"},
        "lead_id": {"before": None, "after": company.rep.pk},
    }
    assert updated.actor.username == "ann"
    # The members left without a team are named in the deleted team's row.
    assert deleted.action == "delete"
    assert deleted.changes["members"] == {"before": [company.rep_b.username], "after": None}


def test_a_stale_department_save_is_refused(company):
    url = reverse("admin:accounts_department_change", args=[company.east.pk])
    ann, bob = signed_in_administrators("ann", "bob")
    page_ann, page_bob = ann.get(url), bob.get(url)
    assert ann.post(url, change_form_data(page_ann, manager=company.manager.pk)).status_code == 302
    refused = bob.post(url, change_form_data(page_bob, name="East Sales and Export"))
    assert refused.status_code == 200
    assert STALE in str(refused.context["adminform"].form.non_field_errors())
    east = Department.objects.get(pk=company.east.pk)
    assert (east.name, east.manager, east.version) == ("East Sales", company.manager, 2)
    assert len(audit_events("department", east.pk)) == 1


def test_a_stale_team_save_is_refused(company):
    url = reverse("admin:accounts_team_change", args=[company.team_a.pk])
    ann, bob = signed_in_administrators("ann", "bob")
    page_ann, page_bob = ann.get(url), bob.get(url)
    assert ann.post(url, change_form_data(page_ann, customer_sharing="none")).status_code == 302
    refused = bob.post(url, change_form_data(page_bob, lead=company.teammate.pk))
    assert refused.status_code == 200
    assert STALE in str(refused.context["adminform"].form.non_field_errors())
    team = Team.objects.get(pk=company.team_a.pk)
    assert (team.customer_sharing, team.lead_id, team.version) == (
        "none",
        company.team_a.lead_id,
        2,
    )


def test_moving_someone_to_another_team_on_their_user_page_is_audited(company):
    (ann,) = signed_in_administrators("ann")
    url = reverse("admin:accounts_user_change", args=[company.rep.pk])
    page = ann.get(url)
    response = ann.post(url, change_form_data(page, team=company.team_b.pk))
    assert response.status_code == 302, response.context["adminform"].form.errors
    [event] = audit_events("user", company.rep.pk)
    assert event.changes == {"team_id": {"before": company.team_a.pk, "after": company.team_b.pk}}
    # Another change on that page is a row of its own, with only what it changed.
    page = ann.get(url)
    ann.post(url, change_form_data(page, display_name="Rep One"))
    assert audit_events("user", company.rep.pk)[1].changes == {
        "display_name": {"before": "", "after": "Rep One"}
    }


def test_a_change_of_role_on_a_users_page_is_audited(company):
    """The role decides what someone may do to customers: making a rep an analyst is on
    record, with the roles before and after."""
    (ann,) = signed_in_administrators("ann")
    url = reverse("admin:accounts_user_change", args=[company.rep.pk])
    page = ann.get(url)
    response = ann.post(url, change_form_data(page, role="analyst"))
    assert response.status_code == 302, response.context["adminform"].form.errors
    [event] = audit_events("user", company.rep.pk)
    assert event.changes == {"role": {"before": "sales_rep", "after": "analyst"}}
