"""Someone who manages a department and leads one of its teams, deleted while a team member's
admin page is saved. The page locks the member, their team and then their department
(``User.clean``); the deletion, letting go of the team and the department they led, changed
the department and then the team, and so held what the page waited for while waiting for the
team the page held: PostgreSQL ended one of them with a deadlock (a server error). The deletion
now locks the teams and then the departments, after the users, as everything does. Real
concurrency needs PostgreSQL (SQLite has one writer at a time)."""

from django.db.models import QuerySet
from django.urls import reverse

from guanxi.accounts.models import Department, Team, User
from guanxi.accounts.roles import Role
from guanxi.accounts.services import users_delete
from guanxi.core.testing.admin_forms import change_form_data, signed_in_administrators
from guanxi.core.testing.factories import UserFactory
from guanxi.core.testing.merging import CONCURRENT
from guanxi.core.testing.threads import hold_after_first, second_waits_for_first

pytestmark = CONCURRENT


def test_a_lead_deleted_as_a_member_is_saved_is_waited_for(company, monkeypatch):
    boss = UserFactory(username="boss", role=Role.MANAGER)
    Department.objects.filter(pk=company.east.pk).update(manager=boss)
    Team.objects.filter(pk=company.team_a.pk).update(lead=boss)
    (ann,) = signed_in_administrators("ann")
    url = reverse("admin:accounts_user_change", args=[company.rep.pk])
    data = change_form_data(ann.get(url), display_name="小李")
    # The deletion is held once it has let go of the department they managed, before the team
    # they led; the page of a member of the team is then sent.
    hold = hold_after_first(monkeypatch, QuerySet, "update", thread="deletion")
    results = second_waits_for_first(
        lambda: users_delete(actor=company.admin, user_ids=[boss.pk]),
        lambda: ann.post(url, data),
        hold,
        names=("deletion", "page"),
    )
    assert results["deletion"] == ("ok", 1), results["deletion"][-1]
    assert results["page"][0] == "ok", results["page"][-1]
    assert results["page"][1].status_code == 302
    assert User.objects.get(pk=company.rep.pk).display_name == "小李"
    assert not User.objects.filter(pk=boss.pk).exists()
    assert Department.objects.get(pk=company.east.pk).manager_id is None
    assert Team.objects.get(pk=company.team_a.pk).lead_id is None
