"""A group's admin page saves its name and every permission it shows, so a save from a page
opened before another administrator's would give back a permission just taken away (seeing ID
and phone numbers in full, say) or take away one just given. The page carries what it read, and
such a save is refused, nothing written."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.urls import reverse

from guanxi.accounts import admin as accounts_admin
from guanxi.core.testing.admin_forms import (
    change_form_data,
    refused_as_stale,
    signed_in_administrators,
)
from guanxi.core.testing.threads import hold_before, second_waits_for_first

pytestmark = pytest.mark.django_db


def _refused(response) -> bool:
    return refused_as_stale(response, "group")


@pytest.fixture
def sensitive():
    return Permission.objects.get(
        content_type__app_label="accounts", codename="view_sensitive_data"
    )


@pytest.fixture
def group(sensitive):
    group = Group.objects.create(name="Back office")
    group.permissions.set([sensitive])
    return group


def test_a_permission_taken_away_since_the_page_was_opened_is_not_given_back(group, sensitive):
    url = reverse("admin:auth_group_change", args=[group.pk])
    ann, bob = signed_in_administrators("ann", "bob")
    page_ann, page_bob = ann.get(url), bob.get(url)
    assert ann.post(url, change_form_data(page_ann, permissions=[])).status_code == 302

    assert _refused(bob.post(url, change_form_data(page_bob, name="Back office (Shanghai)")))
    group.refresh_from_db()
    assert (group.name, list(group.permissions.all())) == ("Back office", [])
    # Opened again, the page shows the change and saves.
    assert (
        bob.post(url, change_form_data(bob.get(url), name="Back office (Shanghai)")).status_code
        == 302
    )
    group.refresh_from_db()
    assert (group.name, list(group.permissions.all())) == ("Back office (Shanghai)", [])


def test_a_permission_given_since_the_page_was_opened_is_not_taken_away(group, sensitive):
    view_groups = Permission.objects.get(content_type__app_label="auth", codename="view_group")
    url = reverse("admin:auth_group_change", args=[group.pk])
    ann, bob = signed_in_administrators("ann", "bob")
    page_ann, page_bob = ann.get(url), bob.get(url)
    granted = [sensitive.pk, view_groups.pk]
    assert ann.post(url, change_form_data(page_ann, permissions=granted)).status_code == 302

    assert _refused(bob.post(url, change_form_data(page_bob, permissions=[])))
    assert set(group.permissions.all()) == {sensitive, view_groups}


def test_a_save_that_does_not_say_what_it_read_is_refused(group, sensitive):
    url = reverse("admin:auth_group_change", args=[group.pk])
    (bob,) = signed_in_administrators("bob")
    data = change_form_data(bob.get(url), permissions=[])
    data.pop("read_as", None)
    assert _refused(bob.post(url, data))
    assert list(group.permissions.all()) == [sensitive]


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent writers need PostgreSQL")
def test_a_save_while_another_is_under_way_waits_and_is_then_refused(group, monkeypatch):
    url = reverse("admin:auth_group_change", args=[group.pk])
    ann, bob = signed_in_administrators("ann", "bob")
    data_ann = change_form_data(ann.get(url), permissions=[])
    data_bob = change_form_data(bob.get(url), name="Back office (Shanghai)")
    # Ann's save stops once it holds the group's lock, before it compares what it read.
    hold = hold_before(monkeypatch, accounts_admin, "_group_as_stored", thread="ann")

    results = second_waits_for_first(
        lambda: ann.post(url, data_ann),
        lambda: bob.post(url, data_bob),
        hold,
        names=("ann", "bob"),
    )
    assert results["ann"][0] == "ok" and results["ann"][1].status_code == 302, results["ann"]
    assert results["bob"][0] == "ok", results["bob"]
    assert _refused(results["bob"][1])
    group.refresh_from_db()
    assert (group.name, list(group.permissions.all())) == ("Back office", [])


def test_what_the_page_read_is_labelled_in_the_readers_language(group):
    # Hidden, but the admin still prints its label in the hidden row, as it does the version of
    # a user's or a setting's page.
    (bob,) = signed_in_administrators("bob")
    bob.cookies["django_language"] = "zh-hans"
    page = bob.get(reverse("admin:auth_group_change", args=[group.pk])).content.decode()
    assert '<label for="id_read_as">版本:</label>' in page
