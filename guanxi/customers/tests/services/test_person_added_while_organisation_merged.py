"""A person put in an organisation while that organisation is being merged into another. The
merge moves the organisation's people to the kept one; a person linked meanwhile must not be
left in the organisation the merge puts in the recycle bin. Real concurrency needs
PostgreSQL."""

from django.core.exceptions import ValidationError

from guanxi.core.testing.merging import CONCURRENT, customers_to_merge, write_while_merging
from guanxi.customers.models import Customer
from guanxi.customers.services import StaleVersionError, customer_create, customer_update

pytestmark = CONCURRENT

ORGANISATION = {"name": "华瑞科技有限公司", "party_type": "organization"}


def _while_merging(company, monkeypatch, write, *, person_in_other=False, pause="_settle_pairs"):
    """Merge a second 华瑞科技 into the first and run ``write(kept, other, person)`` while the
    merge holds both organisations, paused at its step ``pause``: by default once it moved
    their people."""
    kept, other = customers_to_merge(company.manager, ORGANISATION)
    person = None
    if person_in_other:
        person = customer_create(
            actor=company.manager, data={"name": "郑华", "organization_id": other.pk}
        )
    results = write_while_merging(
        monkeypatch,
        lambda: write(kept, other, person),
        actor=company.manager,
        kept=kept,
        other=other,
        before=pause,
    )
    return kept, other, person, results


def _refused_as_no_such_organisation(result):
    assert result[0] == "error", result
    assert isinstance(result[1], ValidationError), result[-1]
    assert result[1].message_dict == {"organization_id": ["No such organisation."]}


def test_a_person_created_in_an_organisation_being_merged_away_is_refused(company, monkeypatch):
    def write(kept, other, person):
        return customer_create(
            actor=company.manager, data={"name": "郑华", "organization_id": other.pk}
        )

    _kept, other, _person, results = _while_merging(company, monkeypatch, write)
    _refused_as_no_such_organisation(results["write"])
    assert not Customer.objects.filter(organization_id=other.pk).exists()


def test_a_person_moved_into_an_organisation_being_merged_away_is_refused(company, monkeypatch):
    moving = customer_create(actor=company.manager, data={"name": "冯敏"})

    def write(kept, other, person):
        return customer_update(
            actor=company.manager,
            customer_id=moving.pk,
            expected_version=moving.version,
            data={"organization_id": other.pk},
        )

    _kept, other, _person, results = _while_merging(company, monkeypatch, write)
    _refused_as_no_such_organisation(results["write"])
    assert not Customer.objects.filter(organization_id=other.pk).exists()


def test_a_person_of_the_merged_organisation_moved_meanwhile_does_not_deadlock(
    company, monkeypatch
):
    # The merge locks both organisations, then the people it moves; an edit that locked the
    # person first and then the organisation it names, while the merge had yet to move that
    # person, waited for the merge while the merge waited for it.
    def write(kept, other, person):
        return customer_update(
            actor=company.manager,
            customer_id=person.pk,
            expected_version=person.version,
            data={"organization_id": kept.pk},
        )

    kept, _other, person, results = _while_merging(
        company, monkeypatch, write, person_in_other=True, pause="_copy_contact_details"
    )
    assert results["write"][0] == "ok" or isinstance(results["write"][1], StaleVersionError), (
        results["write"][-1]
    )
    person.refresh_from_db()
    assert person.organization_id == kept.pk
