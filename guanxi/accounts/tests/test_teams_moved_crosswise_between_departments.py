"""Two teams moved crosswise between two departments at the same moment, and a team deleted
while its department's page is saved. Everything locks users, then teams, then departments;
but teams are listed by their department's name, and a team read under FOR UPDATE with that
ordering joins its department and locks it too. The team page's version check, the settings
service's read of the stored team (``setting_save``) and the delete page's version check each
did: a page moving a team locked its old department with the team, and then the department it
moves it into, while the other page, moving a team the other way, held that one and waited for
the first. PostgreSQL ended one of them with a deadlock (a server error). Each now locks the
team's row alone. Real concurrency needs PostgreSQL (SQLite has one writer at a time)."""

import threading

from django.urls import reverse

from guanxi.accounts import admin as accounts_admin
from guanxi.accounts import models as accounts_models
from guanxi.accounts.models import Department, Team
from guanxi.accounts.services import team_save
from guanxi.audit.setting_admin import VersionCheckForm
from guanxi.core.testing.admin_forms import (
    change_form_data,
    delete_confirmation_data,
    signed_in_administrators,
)
from guanxi.core.testing.factories import UserFactory
from guanxi.core.testing.merging import CONCURRENT
from guanxi.core.testing.threads import Hold, hold_before, in_thread, wait_until, waiting_for_a_lock

pytestmark = CONCURRENT


def _two_departments_with_a_team_each():
    north = Department.objects.create(name="North Sales")
    south = Department.objects.create(name="South Sales")
    assert north.pk < south.pk
    return (
        north,
        south,
        Team.objects.create(name="N", department=north),
        Team.objects.create(name="S", department=south),
    )


def _second_while_first_held(first, second, hold: Hold, names=("first", "second")) -> dict:
    """Run ``first`` until it reaches ``hold``, then ``second`` until it waits for a lock or
    ends, then let ``first`` go on; both outcomes once both have ended. The second need not
    wait: with the locks taken in one order it may not need anything the first holds."""
    first_name, second_name = names
    results: dict = {}
    threads = [in_thread(first, results, first_name)]
    try:
        assert hold.reached.wait(30), f"{first_name} did not get as far as where it is held"
        threads.append(in_thread(second, results, second_name))
        wait_until(lambda: second_name in results or waiting_for_a_lock())
    finally:
        hold.go.set()
        for thread in threads:
            thread.join(30)
    return results


def _team_moving(client, team, department):
    """``client``'s post of ``team``'s admin page moving it to ``department``, read now."""
    url = reverse("admin:accounts_team_change", args=[team.pk])
    data = change_form_data(client.get(url), department=department.pk)
    return lambda: client.post(url, data)


def test_two_teams_moved_crosswise_on_their_pages_are_both_moved(db, monkeypatch):
    north, south, north_team, south_team = _two_departments_with_a_team_each()
    ann, bob = signed_in_administrators("ann", "bob")
    # The first page is held once it has compared the team's version (the team locked), before
    # it checks the team against the department it moves it into.
    hold, compare = Hold(), VersionCheckForm.clean

    def compared_then_held(form):
        cleaned = compare(form)
        if threading.current_thread().name == "north":
            hold.here()
        return cleaned

    monkeypatch.setattr(VersionCheckForm, "clean", compared_then_held)
    results = _second_while_first_held(
        _team_moving(ann, north_team, south),
        _team_moving(bob, south_team, north),
        hold,
        names=("north", "south"),
    )
    for name in ("north", "south"):
        assert results[name][0] == "ok", results[name][-1]
        assert results[name][1].status_code == 302
    assert Team.objects.get(pk=north_team.pk).department_id == south.pk
    assert Team.objects.get(pk=south_team.pk).department_id == north.pk


def test_two_teams_moved_crosswise_by_the_service_are_both_moved(db, monkeypatch):
    north, south, north_team, south_team = _two_departments_with_a_team_each()
    admin = UserFactory(username="boss", is_staff=True, is_superuser=True)

    def moving(team, department):
        def move():
            team.department = department
            return team_save(actor=admin, team=team, expected_version=team.version)

        return move

    # The first is held once the service has read the stored team (locked), before it checks
    # the team against the department it moves it into.
    hold = hold_before(monkeypatch, accounts_models, "_department_still_there", thread="north")
    results = _second_while_first_held(
        moving(north_team, south), moving(south_team, north), hold, names=("north", "south")
    )
    for name in ("north", "south"):
        assert results[name][0] == "ok", results[name][-1]
    assert Team.objects.get(pk=north_team.pk).department_id == south.pk
    assert Team.objects.get(pk=south_team.pk).department_id == north.pk


def test_a_team_deleted_as_its_department_is_given_a_member_as_manager(company, monkeypatch):
    ann, bob = signed_in_administrators("ann", "bob")
    delete_url = reverse("admin:accounts_team_delete", args=[company.team_a.pk])
    deleting = delete_confirmation_data(ann.get(delete_url))
    department_url = reverse("admin:accounts_department_change", args=[company.east.pk])
    managed = change_form_data(bob.get(department_url), manager=company.rep.pk)
    # The delete page is held once it has compared the team's version (the team locked),
    # before the deletion locks the team's members. The department's page locks the member it
    # names as manager (``ActiveUserFieldsForm``) and then the department.
    hold = hold_before(monkeypatch, accounts_admin.TeamAdmin, "delete_settings", thread="delete")
    results = _second_while_first_held(
        lambda: ann.post(delete_url, deleting),
        lambda: bob.post(department_url, managed),
        hold,
        names=("delete", "department"),
    )
    for name in ("delete", "department"):
        assert results[name][0] == "ok", results[name][-1]
        assert results[name][1].status_code == 302
    assert not Team.objects.filter(pk=company.team_a.pk).exists()
    assert Department.objects.get(pk=company.east.pk).manager_id == company.rep.pk
