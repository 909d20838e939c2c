"""Two service agents swapped between two departments at the same moment, each on their own
admin page. A user's page locks the department it puts them in (``User.clean``) and the one
they leave as its agent (``user_edit_lock``): taken in that order, one page held the department
the other was moving into while waiting for the one it left, which the other held, and
PostgreSQL ended one of them with a deadlock (a server error). Both are now locked in id
order, after their new team (whose row alone is locked: locking its department with it put
that one first again), so one page waits for the other and both are saved. Real concurrency
needs PostgreSQL (SQLite has one writer at a time)."""

import pytest
from django.urls import reverse

from guanxi.accounts import models as accounts_models
from guanxi.accounts import services as accounts_services
from guanxi.accounts.models import Department, Team, User
from guanxi.accounts.roles import Role
from guanxi.core.testing.admin_forms import change_form_data, signed_in_administrators
from guanxi.core.testing.factories import UserFactory
from guanxi.core.testing.merging import CONCURRENT
from guanxi.core.testing.threads import (
    hold_after_first,
    hold_before,
    in_thread,
    wait_until,
    waiting_for_a_lock,
)

pytestmark = CONCURRENT


def _moving(client, user, department, team):
    """``client``'s post of ``user``'s admin page putting them in ``department`` and ``team``
    (or none), read now."""
    url = reverse("admin:accounts_user_change", args=[user.pk])
    data = change_form_data(client.get(url), department=department.pk, team=team.pk if team else "")
    return lambda: client.post(url, data)


def _second_while_first_held(first, second, hold) -> dict:
    """Run ``first`` (named xiao) until it reaches ``hold``, then ``second`` (yang) until it
    waits for a lock or ends, then let ``first`` go on; both outcomes once both have ended."""
    results: dict = {}
    threads = [in_thread(first, results, "xiao")]
    try:
        assert hold.reached.wait(30), "xiao's page did not get as far as where it is held"
        threads.append(in_thread(second, results, "yang"))
        wait_until(lambda: "yang" in results or waiting_for_a_lock())
    finally:
        hold.go.set()
        for thread in threads:
            thread.join(30)
    return results


@pytest.mark.parametrize("in_teams", [False, True], ids=["no team", "with their teams"])
def test_two_agents_swapped_between_two_departments_are_both_moved(db, monkeypatch, in_teams):
    north = Department.objects.create(name="North Service")
    south = Department.objects.create(name="South Service")
    assert north.pk < south.pk
    north_team = Team.objects.create(name="N", department=north) if in_teams else None
    south_team = Team.objects.create(name="S", department=south) if in_teams else None
    xiao = UserFactory(username="xiao", role=Role.SERVICE_AGENT, department=north, team=north_team)
    yang = UserFactory(username="yang", role=Role.SERVICE_AGENT, department=south, team=south_team)
    ann, bob = signed_in_administrators("ann", "bob")
    # Xiao's page, moving them from the older department to the newer, is held once it has
    # locked their new team, or without one once checked, before they are saved; Yang's,
    # moving the other way, is then sent.
    if in_teams:
        hold = hold_after_first(monkeypatch, accounts_models, "_lock_team", thread="xiao")
    else:
        hold = hold_before(monkeypatch, accounts_services, "user_edit_lock", thread="xiao")
    results = _second_while_first_held(
        _moving(ann, xiao, south, south_team), _moving(bob, yang, north, north_team), hold
    )
    for name in ("xiao", "yang"):
        assert results[name][0] == "ok", results[name][-1]
        assert results[name][1].status_code == 302
    assert User.objects.get(pk=xiao.pk).department_id == south.pk
    assert User.objects.get(pk=yang.pk).department_id == north.pk
