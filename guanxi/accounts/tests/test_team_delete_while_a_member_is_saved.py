"""A team deleted while a member's user page is saved, or while a member is deactivated. The
page locks the user (the version it compares) and then their team (``User.clean``); the
deactivation the leaver and then their tickets. The deletion took the team first and the
members last, as it emptied their team, with the tickets it moves locked in between: each
waited for what the other held, and the database broke one of them off. The deletion now locks
the members before the team, and so does the team's own page its lead. Real concurrency needs
PostgreSQL (SQLite has one writer at a time)."""

import threading

from django.urls import reverse

from guanxi.accounts import models as accounts_models
from guanxi.accounts import services as accounts_services
from guanxi.accounts.models import Team, User
from guanxi.accounts.services import POOL, teams_delete, user_deactivate
from guanxi.accounts.tests.service_department import new_ticket
from guanxi.audit.setting_admin import VersionCheckForm
from guanxi.core.testing.admin_forms import change_form_data, signed_in_administrators
from guanxi.core.testing.merging import CONCURRENT
from guanxi.core.testing.threads import (
    Hold,
    hold_after_first,
    hold_before,
    second_waits_for_first,
)
from guanxi.service.models import Ticket

pytestmark = CONCURRENT


def _saving(user, **changes):
    """Save ``user``'s page with ``changes``, held once it has locked them, before their team."""
    (ann,) = signed_in_administrators("ann")
    url = reverse("admin:accounts_user_change", args=[user.pk])
    data = change_form_data(ann.get(url), **changes)
    return lambda: ann.post(url, data).status_code


def _deleting(company):
    return lambda: teams_delete(actor=company.admin, team_ids=[company.team_a.pk])


def test_a_member_saved_on_their_page_as_their_team_is_deleted(company, monkeypatch):
    page = _saving(company.rep, display_name="小张")
    hold = hold_before(monkeypatch, accounts_models, "_lock_team", thread="page")
    results = second_waits_for_first(
        page, _deleting(company), hold, names=("page", "deletion"), seconds=30
    )
    assert results["page"] == ("ok", 302), results["page"][-1]
    assert results["deletion"][0] == "ok", results["deletion"][-1]
    rep = User.objects.get(pk=company.rep.pk)
    assert (rep.display_name, rep.team_id) == ("小张", None)
    assert not Team.objects.filter(pk=company.team_a.pk).exists()


def test_a_member_moved_to_another_team_as_theirs_is_deleted(company, monkeypatch):
    # The teammate sees the rep's customer through their team's sharing, and lets go of their
    # ticket on it once the rep has moved (or the team has gone).
    ticket = new_ticket(company.rep_customer, assignee=company.teammate, owner=company.teammate)
    page = _saving(company.rep, team=company.team_b.pk)
    hold = hold_before(monkeypatch, accounts_models, "_lock_team", thread="page")
    results = second_waits_for_first(
        page, _deleting(company), hold, names=("page", "deletion"), seconds=30
    )
    assert results["page"] == ("ok", 302), results["page"][-1]
    assert results["deletion"][0] == "ok", results["deletion"][-1]
    assert User.objects.get(pk=company.rep.pk).team_id == company.team_b.pk
    assert User.objects.get(pk=company.teammate.pk).team_id is None
    stored = Ticket.objects.get(pk=ticket.pk)
    assert (stored.assignee_id, stored.owner_id) == (None, None)


def test_a_member_deactivated_as_their_team_is_deleted(company, monkeypatch):
    # The rep's ticket is in their team's queue: the deletion takes the team off it, and the
    # deactivation hands it over.
    ticket = new_ticket(company.teammate_customer, assignee=company.rep, owner=company.rep)
    Ticket.objects.filter(pk=ticket.pk).update(team=company.team_a)
    # Held with the rep locked, before anything they hold is.
    hold = hold_before(
        monkeypatch, accounts_services, "user_deactivation_problems", thread="deactivation"
    )
    results = second_waits_for_first(
        lambda: user_deactivate(actor=company.admin, user_id=company.rep.pk, hand_over_to=POOL),
        _deleting(company),
        hold,
        names=("deactivation", "deletion"),
    )
    assert results["deactivation"][0] == "ok", results["deactivation"][-1]
    assert results["deletion"][0] == "ok", results["deletion"][-1]
    stored = Ticket.objects.get(pk=ticket.pk)
    assert (stored.assignee_id, stored.owner_id, stored.team_id) == (None, None, None)


def test_a_team_saved_on_its_page_as_it_is_deleted(company, monkeypatch):
    Team.objects.filter(pk=company.team_a.pk).update(lead=company.rep)
    (ann,) = signed_in_administrators("ann")
    url = reverse("admin:accounts_team_change", args=[company.team_a.pk])
    data = change_form_data(ann.get(url), name="A 组")
    # Held once it has locked the team (the version it compares), before it saves.
    hold, compare = Hold(), VersionCheckForm.clean

    def compared_then_held(form):
        cleaned = compare(form)
        if threading.current_thread().name == "page":
            hold.here()
        return cleaned

    monkeypatch.setattr(VersionCheckForm, "clean", compared_then_held)
    results = second_waits_for_first(
        lambda: ann.post(url, data).status_code,
        _deleting(company),
        hold,
        names=("page", "deletion"),
    )
    assert results["page"] == ("ok", 302), results["page"][-1]
    assert results["deletion"][0] == "ok", results["deletion"][-1]
    assert not Team.objects.filter(pk=company.team_a.pk).exists()


def test_a_member_moved_into_a_team_as_it_is_deleted_is_told_to_choose_another(
    company, monkeypatch
):
    # The page waits for the team it moves the rep into (``User.clean``) while the deletion,
    # holding it, empties and deletes it: read after, the team is gone. Saved all the same,
    # the rep named a team that no longer exists, and the commit failed on the key (a server
    # error); the page says so on the team instead, and nothing is saved.
    (ann,) = signed_in_administrators("ann")
    url = reverse("admin:accounts_user_change", args=[company.rep.pk])
    data = change_form_data(ann.get(url), display_name="小张", team=company.team_b.pk)
    # Held with the team's members and the team locked, before it empties and deletes it.
    hold = hold_after_first(
        monkeypatch, accounts_services, "_members_and_teams_lock", thread="deletion"
    )
    results = second_waits_for_first(
        lambda: teams_delete(actor=company.admin, team_ids=[company.team_b.pk]),
        lambda: ann.post(url, data),
        hold,
        names=("deletion", "page"),
    )
    assert results["deletion"][0] == "ok", results["deletion"][-1]
    assert results["page"][0] == "ok", results["page"][-1]
    response = results["page"][1]
    assert response.status_code == 200
    assert "team" in response.context["adminform"].form.errors
    rep = User.objects.get(pk=company.rep.pk)
    assert (rep.display_name, rep.team_id) == ("", company.team_a.pk)
    assert not Team.objects.filter(pk=company.team_b.pk).exists()
