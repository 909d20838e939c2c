import threading

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection

from guanxi.audit.models import AuditEvent
from guanxi.customers.models import Customer
from guanxi.customers.services import StaleVersionError, customer_create, customer_update


@pytest.fixture
def customer(company):
    return customer_create(
        actor=company.rep,
        data={"name": "李娜", "phones": ["13900001111"], "tags": ["A"], "industry": "Retail"},
    )


def test_update_records_field_level_changes(company, customer):
    updated = customer_update(
        actor=company.rep,
        customer_id=customer.pk,
        expected_version=customer.version,
        data={"industry": "Finance", "tags": ["A", "B"], "phones": ["13900002222"]},
    )
    assert updated.version == customer.version + 1
    event = AuditEvent.objects.filter(customer_id=customer.pk, action="update").get()
    assert event.changes["industry"] == {"before": "Retail", "after": "Finance"}
    assert event.changes["tags"] == {"before": ["A"], "after": ["A", "B"]}
    assert set(event.changes) == {"industry", "tags", "phones"}
    assert "search_text" not in event.changes


def test_stale_version_is_refused_and_nothing_changes(company, customer):
    customer_update(
        actor=company.rep, customer_id=customer.pk, expected_version=1, data={"industry": "Finance"}
    )
    with pytest.raises(StaleVersionError) as caught:
        customer_update(
            actor=company.rep,
            customer_id=customer.pk,
            expected_version=1,
            data={"industry": "Energy"},
        )
    assert caught.value.current_version == 2
    customer.refresh_from_db()
    assert customer.industry == "Finance"
    assert AuditEvent.objects.filter(customer_id=customer.pk, action="update").count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_updates_from_the_same_version_cannot_both_win(company):
    customer = customer_create(actor=company.rep, data={"name": "Race"})
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def edit(industry: str) -> None:
        barrier.wait()
        try:
            customer_update(
                actor=company.rep,
                customer_id=customer.pk,
                expected_version=1,
                data={"industry": industry},
            )
            outcomes.append("saved")
        except StaleVersionError:
            outcomes.append("stale")
        except Exception as exc:  # SQLite may report the lock instead of waiting
            outcomes.append(type(exc).__name__)
        finally:
            connection.close()

    threads = [threading.Thread(target=edit, args=(name,)) for name in ("One", "Two")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("saved") == 1, outcomes
    customer.refresh_from_db()
    assert customer.version == 2


def test_invisible_customer_looks_missing_and_read_only_visible_one_is_forbidden(company):
    with pytest.raises(Customer.DoesNotExist):
        customer_update(
            actor=company.rep,
            customer_id=company.west_customer.pk,
            expected_version=1,
            data={"name": "Mine now"},
        )
    with pytest.raises(PermissionDenied):  # the rep sees a teammate's customer but cannot edit
        customer_update(
            actor=company.rep,
            customer_id=company.teammate_customer.pk,
            expected_version=1,
            data={"name": "Mine now"},
        )
    with pytest.raises(PermissionDenied):
        customer_update(
            actor=company.analyst,
            customer_id=company.rep_customer.pk,
            expected_version=1,
            data={"name": "Mine now"},
        )
    assert not Customer.objects.filter(name="Mine now").exists()
    assert not AuditEvent.objects.exists()


def test_invalid_update_leaves_the_record_untouched(company, customer):
    with pytest.raises(ValidationError):
        customer_update(
            actor=company.rep,
            customer_id=customer.pk,
            expected_version=1,
            data={"industry": "Finance", "emails": ["broken@"]},
        )
    customer.refresh_from_db()
    assert (customer.industry, customer.version) == ("Retail", 1)


def test_rep_cannot_give_their_customer_away(company, customer):
    with pytest.raises(ValidationError) as caught:
        customer_update(
            actor=company.rep,
            customer_id=customer.pk,
            expected_version=1,
            data={"owner_id": company.rep_west.pk},
        )
    assert "owner_id" in caught.value.message_dict


def test_consent_update_keeps_the_when_and_how(company, customer):
    customer_update(
        actor=company.rep,
        customer_id=customer.pk,
        expected_version=1,
        data={
            "consents": [
                {
                    "channel": "sms",
                    "granted": False,
                    "method": "verbal",
                    "evidence": "Call on 3 May",
                    "recorded_at": "2026-05-03T10:00:00+08:00",
                }
            ]
        },
    )
    consent = customer.consents.get(channel="sms")
    assert consent.granted is False and consent.method == "verbal"
    assert consent.recorded_at.isoformat().startswith("2026-05-03T02:00")


def test_renaming_an_organisation_refreshes_how_its_people_are_found(company):
    from guanxi.customers.selectors import customer_list_for_user
    from guanxi.customers.services import customer_create, customer_update
    from guanxi.dedup.models import MatchProfile

    org = customer_create(
        actor=company.rep, data={"name": "华瑞科技", "party_type": "organization"}
    )
    person = customer_create(actor=company.rep, data={"name": "李娜", "organization_id": org.pk})
    customer_update(
        actor=company.rep, customer_id=org.pk, expected_version=1, data={"name": "鑫源物流"}
    )
    found = customer_list_for_user(company.rep, filters={"q": "鑫源"})
    assert person.pk in set(found.values_list("pk", flat=True))
    assert "鑫源物流" in MatchProfile.objects.get(customer_id=person.pk).profile


def test_an_organisation_with_people_does_not_become_a_person(company):
    org = customer_create(
        actor=company.rep, data={"name": "华瑞科技", "party_type": "organization"}
    )
    person = customer_create(actor=company.rep, data={"name": "李娜", "organization_id": org.pk})
    with pytest.raises(ValidationError) as raised:
        customer_update(
            actor=company.rep, customer_id=org.pk, expected_version=1, data={"party_type": "person"}
        )
    assert "party_type" in raised.value.message_dict
    assert Customer.objects.get(pk=org.pk).party_type == "organization"
    # Once its people are elsewhere, it may.
    customer_update(
        actor=company.rep,
        customer_id=person.pk,
        expected_version=person.version,
        data={"organization_id": None},
    )
    customer_update(
        actor=company.rep, customer_id=org.pk, expected_version=1, data={"party_type": "person"}
    )
    assert Customer.objects.get(pk=org.pk).party_type == "person"
