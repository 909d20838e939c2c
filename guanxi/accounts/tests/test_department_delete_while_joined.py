"""A department deleted while someone's user page, or a team's page, puts them in it. Nothing
locked the department: a deletion first left the page saving a key to a department gone, which
failed as it committed (a server error); a page first was not seen by the deletion, which
deleted the department from under it, and the page failed the same way. The pages now lock the
department they name, after the person and the team, and the deletion locks it before it looks
for who is in it: whichever comes second waits, and then refuses. Real concurrency needs
PostgreSQL (SQLite has one writer at a time)."""

from django.contrib.admin.models import DELETION, LogEntry
from django.urls import reverse

from guanxi.accounts import services as accounts_services
from guanxi.accounts.models import Department, Team, User
from guanxi.accounts.services import departments_delete
from guanxi.audit.models import AuditEvent
from guanxi.core.testing.admin_forms import change_form_data, signed_in_administrators
from guanxi.core.testing.merging import CONCURRENT
from guanxi.core.testing.threads import (
    hold_after_first,
    hold_before,
    in_thread,
    second_waits_for_first,
    wait_until,
    waiting_for_a_lock,
)

pytestmark = CONCURRENT

REFUSED = "Nothing was deleted: people or teams were put in North Sales since this page was opened."


def _page(url, **changes):
    """An administrator's post of the admin page at ``url`` with ``changes``, read now."""
    (ann,) = signed_in_administrators("ann")
    data = change_form_data(ann.get(url), **changes)
    return lambda: ann.post(url, data)


def _deleting_held(monkeypatch, company, north):
    """The deletion of ``north``, held once it has deleted it, before it commits."""
    hold = hold_after_first(monkeypatch, accounts_services, "settings_delete", thread="deletion")
    return lambda: departments_delete(actor=company.admin, department_ids=[north.pk]), hold


def _deletion_after(page, hold, deletion) -> dict:
    """Run ``page`` until it reaches ``hold``, then ``deletion`` on another thread until it
    waits for a lock or ends, then let the page go on; both outcomes, once both have ended,
    and whether the deletion waited for the page."""
    results: dict = {}
    threads = [in_thread(page, results, "page")]
    try:
        assert hold.reached.wait(30), "the page did not get as far as where it is held"
        threads.append(in_thread(deletion, results, "deletion"))
        wait_until(lambda: "deletion" in results or waiting_for_a_lock())
        results["deletion waited"] = "deletion" not in results
    finally:
        hold.go.set()
        for thread in threads:
            thread.join(30)
    return results


def _kept(north):
    assert Department.objects.filter(pk=north.pk).exists()
    assert not AuditEvent.objects.filter(
        object_type="department", object_id=north.pk, action=AuditEvent.Action.DELETE
    ).exists()
    assert not LogEntry.objects.filter(object_id=str(north.pk), action_flag=DELETION).exists()


def test_someone_moved_into_a_department_as_it_is_deleted_is_told_to_choose_another(
    company, monkeypatch
):
    north = Department.objects.create(name="North Sales")
    page = _page(
        reverse("admin:accounts_user_change", args=[company.analyst.pk]),
        display_name="小王",
        department=north.pk,
    )
    deletion, hold = _deleting_held(monkeypatch, company, north)
    results = second_waits_for_first(deletion, page, hold, names=("deletion", "page"))
    assert results["deletion"][0] == "ok", results["deletion"][-1]
    assert results["page"][0] == "ok", results["page"][-1]
    response = results["page"][1]
    assert response.status_code == 200
    assert "department" in response.context["adminform"].form.errors
    analyst = User.objects.get(pk=company.analyst.pk)
    assert (analyst.display_name, analyst.department_id) == ("", None)
    assert not Department.objects.filter(pk=north.pk).exists()


def test_a_team_added_to_a_department_as_it_is_deleted_is_told_to_choose_another(
    company, monkeypatch
):
    north = Department.objects.create(name="North Sales")
    page = _page(
        reverse("admin:accounts_team_add"),
        name="N1",
        department=north.pk,
        customer_sharing=Team.Sharing.VIEW,
    )
    deletion, hold = _deleting_held(monkeypatch, company, north)
    results = second_waits_for_first(deletion, page, hold, names=("deletion", "page"))
    assert results["deletion"][0] == "ok", results["deletion"][-1]
    assert results["page"][0] == "ok", results["page"][-1]
    response = results["page"][1]
    assert response.status_code == 200
    assert "department" in response.context["adminform"].form.errors
    assert not Team.objects.filter(name="N1").exists()


def test_a_deletion_while_someone_is_moved_in_waits_and_is_refused(company, monkeypatch):
    north = Department.objects.create(name="North Sales")
    page = _page(
        reverse("admin:accounts_user_change", args=[company.analyst.pk]), department=north.pk
    )
    # Held once the analyst is saved in the department, before the page commits.
    hold = hold_before(monkeypatch, accounts_services, "user_change_record", thread="page")
    (bob,) = signed_in_administrators("bob")
    url = reverse("admin:accounts_department_delete", args=[north.pk])
    assert "Cannot delete" not in bob.get(url).content.decode()
    results = _deletion_after(
        page, hold, lambda: bob.post(url, {"post": "yes", "version_read": north.version})
    )
    assert results["page"][0] == "ok", results["page"][-1]
    assert results["page"][1].status_code == 302
    assert results["deletion"][0] == "ok", results["deletion"][-1]
    response = results["deletion"][1]
    assert (response.status_code, response["Location"]) == (302, url)
    assert results["deletion waited"]
    _kept(north)
    assert User.objects.get(pk=company.analyst.pk).department_id == north.pk
    page = bob.get(url).content.decode()
    assert REFUSED in page
    assert "Cannot delete" in page


def test_a_bulk_deletion_while_a_team_is_moved_in_waits_and_is_refused(company, monkeypatch):
    north = Department.objects.create(name="North Sales")
    empty = Team.objects.create(name="C", department=company.west)
    page = _page(reverse("admin:accounts_team_change", args=[empty.pk]), department=north.pk)
    # Held once the page is checked, before the team is saved.
    hold = hold_before(monkeypatch, accounts_services, "team_save", thread="page")
    (bob,) = signed_in_administrators("bob")
    url = reverse("admin:accounts_department_changelist")
    ticked = {"action": "delete_selected", "_selected_action": [north.pk]}
    assert "Cannot delete" not in bob.post(url, ticked).content.decode()
    confirmed = {**ticked, "post": "yes", f"version_read_{north.pk}": north.version}
    results = _deletion_after(page, hold, lambda: bob.post(url, confirmed))
    assert results["page"][0] == "ok", results["page"][-1]
    assert results["page"][1].status_code == 302
    assert results["deletion"][0] == "ok", results["deletion"][-1]
    response = results["deletion"][1]
    page = response.content.decode()
    # Django's confirmation, looking once the departments are locked, lists the team.
    assert response.status_code == 200
    assert "Cannot delete" in page and "North Sales / C" in page
    assert results["deletion waited"]
    _kept(north)
    assert Team.objects.get(pk=empty.pk).department_id == north.pk
