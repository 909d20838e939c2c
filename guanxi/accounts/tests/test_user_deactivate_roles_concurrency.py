"""Naming someone team lead while they are being deactivated, and the other way round: one of
the two waits for the other and sees its change, so nobody ends up leading a team after they
have left. Real concurrency needs PostgreSQL (SQLite has one writer at a time, which
serialises them by itself)."""

import threading

import pytest
from django.db import connection, transaction
from django.forms import modelform_factory

from guanxi.accounts.admin import TeamForm
from guanxi.accounts.models import Team, User
from guanxi.accounts.services import POOL, user_deactivate
from guanxi.core.testing.threads import in_thread, wait_until, waiting_for_a_lock

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="concurrent writers need PostgreSQL"
    ),
]

TeamFormForTests = modelform_factory(
    Team, form=TeamForm, fields=["name", "department", "customer_sharing", "lead"]
)


def _name_lead(team: Team, lead: User):
    """What the admin site does with the team's change form: check it and save it, in one
    transaction."""
    form = TeamFormForTests(
        {
            "name": team.name,
            "department": team.department_id,
            "customer_sharing": team.customer_sharing,
            "lead": lead.pk,
            "version_read": team.version,
        },
        instance=Team.objects.get(pk=team.pk),
    )
    if not form.is_valid():
        return form.errors
    form.save()
    return None


def test_naming_a_lead_who_is_being_deactivated_is_refused(company):
    leaving = company.analyst  # holds nothing, so only the roles matter
    deactivated, release = threading.Event(), threading.Event()

    def leave_and_hold():
        with transaction.atomic():
            user_deactivate(actor=company.admin, user_id=leaving.pk, hand_over_to=POOL)
            deactivated.set()
            release.wait(60)

    results: dict = {}
    holder = in_thread(leave_and_hold, results, "leaving")
    assert deactivated.wait(30)

    def name_lead():
        with transaction.atomic():
            return _name_lead(company.team_b, leaving)

    naming = in_thread(name_lead, results, "naming")
    waited = wait_until(waiting_for_a_lock, seconds=5)
    release.set()
    holder.join(60)
    naming.join(60)
    assert results["leaving"][0] == "ok", results["leaving"]
    assert waited  # the form waits for the deactivation to end
    outcome = results["naming"]
    assert outcome[0] == "ok" and "lead" in outcome[1], outcome
    assert Team.objects.get(pk=company.team_b.pk).lead is None


def test_deactivating_someone_being_named_lead_meanwhile_is_refused(company):
    leaving = company.analyst
    named, release = threading.Event(), threading.Event()

    def name_and_hold():
        with transaction.atomic():
            errors = _name_lead(company.team_b, leaving)
            named.set()
            release.wait(60)
            return errors

    results: dict = {}
    holder = in_thread(name_and_hold, results, "naming")
    assert named.wait(30)
    leaving_thread = in_thread(
        lambda: user_deactivate(actor=company.admin, user_id=leaving.pk, hand_over_to=POOL),
        results,
        "leaving",
    )
    waited = wait_until(waiting_for_a_lock, seconds=5)
    release.set()
    holder.join(60)
    leaving_thread.join(60)
    assert results["naming"] == ("ok", None), results["naming"]
    assert waited  # the deactivation waits for the team to be saved
    outcome = results["leaving"]
    assert outcome[0] == "error" and "roles" in outcome[1].message_dict, outcome
    assert User.objects.get(pk=leaving.pk).is_active
