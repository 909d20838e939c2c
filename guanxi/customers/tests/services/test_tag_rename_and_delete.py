"""Renaming or deleting a tag changes every customer wearing it: each of them gets an audit row
with its tags before and after, a new version and search text that finds the new name."""

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from guanxi.audit.models import AuditEvent
from guanxi.core.testing.admin_forms import delete_confirmation_data
from guanxi.core.testing.factories import UserFactory
from guanxi.customers.models import Customer, Tag
from guanxi.customers.services import customer_create, tag_rename, tags_delete


@pytest.fixture
def tagged(company):
    return [
        customer_create(actor=company.rep, data={"name": "李娜", "tags": ["展会2026", "VIP"]}),
        customer_create(actor=company.rep, data={"name": "王芳", "tags": ["展会2026"]}),
    ]


def _tag_events(customer) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(customer_id=customer.pk, action=AuditEvent.Action.UPDATE))


def test_renaming_a_tag_is_audited_on_every_customer_wearing_it(company, tagged):
    first, second = tagged
    tag = Tag.objects.get(name="展会2026")
    assert tag_rename(actor=company.admin, tag_id=tag.pk, name="Expo 2026") == 2
    [event] = _tag_events(first)
    assert event.actor == company.admin
    assert event.changes == {"tags": {"before": ["VIP", "展会2026"], "after": ["Expo 2026", "VIP"]}}
    [event] = _tag_events(second)
    assert event.changes["tags"] == {"before": ["展会2026"], "after": ["Expo 2026"]}
    second.refresh_from_db()
    assert second.version == 2
    assert "expo" in second.search_text.split()


def test_deleting_a_tag_is_audited_on_every_customer_wearing_it(company, tagged):
    first, second = tagged
    tags_delete(actor=company.admin, tag_ids=[Tag.objects.get(name="展会2026").pk])
    [event] = _tag_events(first)
    assert event.changes["tags"] == {"before": ["VIP", "展会2026"], "after": ["VIP"]}
    [event] = _tag_events(second)
    assert event.changes["tags"] == {"before": ["展会2026"], "after": []}


def test_only_administrators_rename_tags(company, tagged):
    with pytest.raises(PermissionDenied):
        tag_rename(actor=company.manager, tag_id=Tag.objects.get(name="VIP").pk, name="V")
    assert Tag.objects.filter(name="VIP").exists()
    assert not _tag_events(tagged[0])


def _signed_in_superuser(client):
    superuser = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(superuser)
    return superuser


def test_the_admin_site_renames_and_deletes_tags_through_the_services(client, company, tagged):
    first, _second = tagged
    superuser = _signed_in_superuser(client)
    tag = Tag.objects.get(name="VIP")
    response = client.post(
        reverse("admin:customers_tag_change", args=[tag.pk]),
        {"name": "Key account", "version_read": tag.version},
    )
    assert response.status_code == 302
    [event] = _tag_events(first)
    assert event.actor == superuser
    assert event.changes["tags"]["after"] == ["Key account", "展会2026"]
    delete = reverse("admin:customers_tag_delete", args=[tag.pk])
    response = client.post(delete, delete_confirmation_data(client.get(delete)))
    assert response.status_code == 302
    assert not Tag.objects.filter(pk=tag.pk).exists()
    latest = AuditEvent.objects.filter(customer_id=first.pk).latest("id")
    assert latest.changes["tags"] == {"before": ["Key account", "展会2026"], "after": ["展会2026"]}
    assert Customer.objects.get(pk=first.pk).version == 3


def test_a_tag_cannot_take_the_name_of_another(company, tagged):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        tag_rename(actor=company.admin, tag_id=Tag.objects.get(name="VIP").pk, name="展会2026")
    assert not _tag_events(tagged[0])


def test_saving_a_tag_under_its_own_name_changes_no_customer(client, company, tagged):
    first, second = tagged
    _signed_in_superuser(client)
    tag = Tag.objects.get(name="展会2026")
    response = client.post(
        reverse("admin:customers_tag_change", args=[tag.pk]),
        {"name": "展会2026", "version_read": tag.version},
    )
    assert response.status_code == 302
    assert tag_rename(actor=company.admin, tag_id=tag.pk, name=" 展会2026 ") == 0
    assert Tag.objects.get(pk=tag.pk).name == "展会2026"
    assert [Customer.objects.get(pk=c.pk).version for c in tagged] == [1, 1]
    assert not _tag_events(first) and not _tag_events(second)


@pytest.mark.parametrize("chunk_size", [2, 5000])
def test_a_tag_on_many_customers_is_changed_a_chunk_at_a_time_with_the_same_outcome(
    company, monkeypatch, chunk_size
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from guanxi.customers import services

    monkeypatch.setattr(services, "CUSTOMERS_PER_STATEMENT", chunk_size)
    wearing = [
        customer_create(actor=company.rep, data={"name": f"客户{n}", "tags": ["展会2026"]})
        for n in range(5)
    ]
    binned = wearing[2]
    Customer.objects.filter(pk=binned.pk).update(deleted_at=timezone.now())
    tag = Tag.objects.get(name="展会2026")
    with CaptureQueriesContext(connection) as queries:
        assert tag_rename(actor=company.admin, tag_id=tag.pk, name="Expo 2026") == 5
    for customer in wearing:
        customer.refresh_from_db()
        assert customer.version == 2
        [event] = _tag_events(customer)
        assert event.changes["tags"] == {"before": ["展会2026"], "after": ["Expo 2026"]}
        assert event.summary == customer.name
        if customer.pk != binned.pk:
            assert "expo" in customer.search_text.split()
    # No statement names more customers than a chunk holds.
    ids = [str(c.pk) for c in wearing]
    lists = 0
    for query in queries.captured_queries:
        for values in query["sql"].split(" IN (")[1:]:
            listed = values.split(")")[0].replace(" ", "").split(",")
            if set(listed) <= set(ids):
                assert len(listed) <= chunk_size, query["sql"]
                lists += 1
    assert lists
    tags_delete(actor=company.admin, tag_ids=[tag.pk])
    assert all(Customer.objects.get(pk=c.pk).version == 3 for c in wearing)
    assert AuditEvent.objects.filter(action=AuditEvent.Action.UPDATE).count() == 10
