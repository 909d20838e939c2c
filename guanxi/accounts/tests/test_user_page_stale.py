"""A user's admin page saves every field it shows, so a save from a page opened before someone
else's change would put the old values back: the role or team another administrator just
gave them, the language they chose in the top bar, or the active flag of someone deactivated
and handed over meanwhile (who could then sign in again). The page carries the version it was
read at, and such a save is refused, nothing written."""

import pytest
from django.contrib.auth.models import update_last_login
from django.db import connection, transaction
from django.urls import reverse

from guanxi.accounts.models import User
from guanxi.accounts.services import POOL, user_deactivate, user_set_language
from guanxi.core.testing.admin_forms import (
    audit_events,
    change_form_data,
    refused_as_stale,
    signed_in_administrators,
)
from guanxi.core.testing.threads import Hold, second_waits_for_first

pytestmark = pytest.mark.django_db


def _refused(response) -> bool:
    return refused_as_stale(response, "user")


def test_a_save_from_a_page_opened_before_another_administrators_is_refused(company):
    url = reverse("admin:accounts_user_change", args=[company.rep.pk])
    ann, bob = signed_in_administrators("ann", "bob")
    page_ann, page_bob = ann.get(url), bob.get(url)
    assert ann.post(url, change_form_data(page_ann, role="analyst")).status_code == 302

    assert _refused(bob.post(url, change_form_data(page_bob, display_name="Rep One")))
    rep = User.objects.get(pk=company.rep.pk)
    assert (rep.role, rep.display_name) == ("analyst", "")
    [event] = audit_events("user", rep.pk)
    assert event.changes == {"role": {"before": "sales_rep", "after": "analyst"}}
    # Opened again, the page shows the change and saves.
    page_bob = bob.get(url)
    assert bob.post(url, change_form_data(page_bob, display_name="Rep One")).status_code == 302
    rep.refresh_from_db()
    assert (rep.role, rep.display_name) == ("analyst", "Rep One")


def test_someone_deactivated_since_the_page_was_opened_is_not_made_active_again(company):
    url = reverse("admin:accounts_user_change", args=[company.analyst.pk])
    (bob,) = signed_in_administrators("bob")
    page = bob.get(url)
    user_deactivate(actor=company.admin, user_id=company.analyst.pk, hand_over_to=POOL)

    assert _refused(bob.post(url, change_form_data(page, display_name="Analyst")))
    assert not User.objects.get(pk=company.analyst.pk).is_active


def test_the_language_the_user_chose_since_is_not_put_back(company):
    url = reverse("admin:accounts_user_change", args=[company.rep.pk])
    (bob,) = signed_in_administrators("bob")
    page = bob.get(url)
    user_set_language(actor=company.rep, language="zh-hans")

    assert _refused(bob.post(url, change_form_data(page, display_name="Rep One")))
    rep = User.objects.get(pk=company.rep.pk)
    assert (rep.language, rep.display_name) == ("zh-hans", "")


def test_a_save_that_does_not_say_which_version_it_read_is_refused(company):
    url = reverse("admin:accounts_user_change", args=[company.rep.pk])
    (bob,) = signed_in_administrators("bob")
    data = change_form_data(bob.get(url), role="analyst")
    data.pop("version_read", None)
    assert _refused(bob.post(url, data))
    assert User.objects.get(pk=company.rep.pk).role == "sales_rep"


def test_a_sign_in_since_the_page_was_opened_is_not_put_back(company):
    # Signing in is no change of what the page edits (it does not move the version on): the
    # moment of the last sign-in is shown, not saved back.
    url = reverse("admin:accounts_user_change", args=[company.rep.pk])
    (bob,) = signed_in_administrators("bob")
    page = bob.get(url)
    update_last_login(None, User.objects.get(pk=company.rep.pk))
    signed_in_at = User.objects.get(pk=company.rep.pk).last_login
    assert signed_in_at is not None

    assert bob.post(url, change_form_data(page, display_name="Rep One")).status_code == 302
    rep = User.objects.get(pk=company.rep.pk)
    assert (rep.last_login, rep.display_name) == (signed_in_at, "Rep One")


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent writers need PostgreSQL")
def test_a_save_while_they_are_being_deactivated_waits_and_is_then_refused(company):
    url = reverse("admin:accounts_user_change", args=[company.analyst.pk])
    (bob,) = signed_in_administrators("bob")
    data = change_form_data(bob.get(url), display_name="Analyst")
    deactivated = Hold()

    def ann_deactivates_and_holds():
        with transaction.atomic():
            user_deactivate(actor=company.admin, user_id=company.analyst.pk, hand_over_to=POOL)
            deactivated.here()

    # Bob's save waits for the deactivation to end…
    results = second_waits_for_first(
        ann_deactivates_and_holds, lambda: bob.post(url, data), deactivated, names=("ann", "bob")
    )
    assert results["ann"][0] == "ok", results["ann"]
    assert results["bob"][0] == "ok", results["bob"]
    assert _refused(results["bob"][1])  # …and is refused once it sees it
    analyst = User.objects.get(pk=company.analyst.pk)
    assert (analyst.is_active, analyst.display_name) == (False, "")
