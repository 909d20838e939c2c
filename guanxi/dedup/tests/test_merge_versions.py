"""A merge of two customers fills the kept one's empty fields from the other, so a merge made
with an old reading of either could overwrite a change made since: people merge only with the
versions of both, in the API and on the pair page."""

import pytest

from guanxi.api.tests.conftest import api_as  # noqa: F401  (the API's fixtures)
from guanxi.customers.models import Customer
from guanxi.customers.services import StaleVersionError, customer_create, customer_update
from guanxi.dedup.models import CustomerMerge, DuplicatePair
from guanxi.dedup.services import customers_merge

pytestmark = pytest.mark.django_db


@pytest.fixture
def twins(company):
    kept = customer_create(actor=company.rep, data={"name": "张伟", "phones": ["13812345678"]})
    other = customer_create(
        actor=company.rep,
        data={"name": "張偉", "phones": ["13812345678"], "industry": "制造业"},
    )
    pair = DuplicatePair.objects.create(left_id=kept.pk, right_id=other.pk, score=0.99)
    return kept, other, pair


def _fill_industry(actor, customer: Customer) -> None:
    """Someone else's change, made between the caller's reading and the merge."""
    customer_update(
        actor=actor,
        customer_id=customer.pk,
        expected_version=customer.version,
        data={"industry": "零售"},
    )


def _fields(response) -> list[str]:
    return sorted(e["field"] for e in response.json()["errors"])


def test_the_service_names_the_customer_that_changed(company, twins):
    kept, other, _pair = twins
    _fill_industry(company.manager, other)
    with pytest.raises(StaleVersionError) as refused:
        customers_merge(
            actor=company.rep,
            survivor_id=kept.pk,
            merged_id=other.pk,
            survivor_version=kept.version,
            merged_version=other.version,
        )
    assert refused.value.field == "merged_version"
    assert not CustomerMerge.objects.exists()


def test_the_api_merges_only_with_the_versions_of_both(api_as, company, twins):  # noqa: F811
    kept, other, _pair = twins
    client = api_as("rep")
    path = f"/customers/{kept.pk}/merge"
    missing = client.post(path, {"merged_id": other.pk})
    assert missing.status_code == 422, missing.json()
    assert _fields(missing) == ["merged_version", "version"]
    assert "read the record again" in missing.json()["errors"][0]["message"]

    # The kept customer's industry is filled in after the client read both: the merge would
    # otherwise be decided on a customer that no longer is as the client saw it.
    _fill_industry(company.manager, kept)
    body = {"merged_id": other.pk, "version": kept.version, "merged_version": other.version}
    stale = client.post(path, body)
    assert stale.status_code == 409, stale.json()
    assert _fields(stale) == ["version"]
    assert not CustomerMerge.objects.exists()

    fresh = client.post(path, {**body, "version": kept.version + 1})
    assert fresh.status_code == 200, fresh.json()
    assert Customer.objects.get(pk=kept.pk).industry == "零售"


def test_the_api_names_the_other_customer_when_it_changed(api_as, company, twins):  # noqa: F811
    kept, other, _pair = twins
    _fill_industry(company.manager, other)
    stale = api_as("rep").post(
        f"/customers/{kept.pk}/merge",
        {"merged_id": other.pk, "version": kept.version, "merged_version": other.version},
    )
    assert stale.status_code == 409, stale.json()
    assert _fields(stale) == ["merged_version"]
    assert "other customer" in stale.json()["detail"]
    assert Customer.objects.get(pk=other.pk).deleted_at is None


def test_the_pair_page_does_not_merge_without_the_versions(client, company, twins):
    kept, _other, pair = twins
    client.force_login(company.rep)
    response = client.post(f"/duplicates/{pair.pk}/merge/", {"keep": str(kept.pk)}, follow=True)
    assert "did not say which versions of the two customers" in response.content.decode()
    assert not CustomerMerge.objects.exists()
    assert Customer.objects.get(pk=kept.pk).industry == ""
