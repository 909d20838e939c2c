"""A team deleted from the admin site, on its delete page or with the list's bulk delete action,
while a member's user page is saved. The member's page locks the user (the version it compares)
and then their team (``User.clean``). Both delete pages checked the team's version under the
team's lock before the deletion locked the members: each page held what the other waited for,
and PostgreSQL broke one off with a deadlock (a server error). The pages now lock the members
of the teams first, as the deletion itself does. Real concurrency needs PostgreSQL (SQLite has
one writer at a time)."""

from django.urls import reverse

from guanxi.accounts import models as accounts_models
from guanxi.accounts.models import Team, User
from guanxi.core.testing.admin_forms import (
    change_form_data,
    delete_confirmation_data,
    delete_selected_confirmation_data,
    signed_in_administrators,
)
from guanxi.core.testing.merging import CONCURRENT
from guanxi.core.testing.threads import hold_before, second_waits_for_first

pytestmark = CONCURRENT


def _member_page_held(company, monkeypatch):
    """The rep's page saving a new display name, and the hold it stops at once it has locked
    the rep, before their team."""
    (ann,) = signed_in_administrators("ann")
    url = reverse("admin:accounts_user_change", args=[company.rep.pk])
    data = change_form_data(ann.get(url), display_name="小张")
    hold = hold_before(monkeypatch, accounts_models, "_lock_team", thread="page")
    return (lambda: ann.post(url, data).status_code), hold


def _both_saved(company, results):
    for name in ("page", "deletion"):
        assert results[name] == ("ok", 302), results[name][-1]
    rep = User.objects.get(pk=company.rep.pk)
    assert (rep.display_name, rep.team_id) == ("小张", None)
    assert not Team.objects.filter(pk=company.team_a.pk).exists()


def test_a_member_saved_on_their_page_as_the_delete_page_deletes_their_team(company, monkeypatch):
    page, hold = _member_page_held(company, monkeypatch)
    (bob,) = signed_in_administrators("bob")
    url = reverse("admin:accounts_team_delete", args=[company.team_a.pk])
    deleting = delete_confirmation_data(bob.get(url))
    results = second_waits_for_first(
        page,
        lambda: bob.post(url, deleting).status_code,
        hold,
        names=("page", "deletion"),
    )
    _both_saved(company, results)


def test_a_member_saved_on_their_page_as_the_bulk_action_deletes_their_team(company, monkeypatch):
    page, hold = _member_page_held(company, monkeypatch)
    (bob,) = signed_in_administrators("bob")
    changelist = reverse("admin:accounts_team_changelist")
    selected = {
        "action": "delete_selected",
        "_selected_action": [company.team_a.pk, company.team_b.pk],
    }
    deleting = delete_selected_confirmation_data(bob.post(changelist, selected))
    results = second_waits_for_first(
        page,
        lambda: bob.post(changelist, deleting).status_code,
        hold,
        names=("page", "deletion"),
    )
    _both_saved(company, results)
    assert not Team.objects.filter(pk=company.team_b.pk).exists()
    assert User.objects.get(pk=company.rep_b.pk).team_id is None
