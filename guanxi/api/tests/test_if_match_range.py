"""An If-Match that names a version no customer can have — 0, or a number past the largest a
version column holds (2147483647) — is refused as a malformed one is: 422 naming ``If-Match``,
nothing changed, on every operation that takes it. Versions start at 1, and ``version`` sent in
the body or the query is held to the same range; the header was taken as any number of up to
ten digits, so such a change was answered 409 as if someone had saved the customer since."""

import pytest

from guanxi.customers.models import Customer
from guanxi.customers.services import customer_delete

pytestmark = pytest.mark.django_db

LARGEST = 2**31 - 1
IMPOSSIBLE = ['"0"', 'W/"0"', '"00"', f'"{LARGEST + 1}"', '"9999999999"']
MALFORMED = [{"field": "If-Match", "message": 'Send the ETag you read, such as "3".'}]


def _send(api, company, operation: str, if_match: str):
    customer = company.rep_customer
    headers = {"If-Match": if_match}
    if operation == "update":
        return api.patch(f"/customers/{customer.pk}", {"industry": "X"}, headers=headers)
    if operation == "delete":
        return api.delete(f"/customers/{customer.pk}", headers=headers)
    if operation == "restore":
        return api.post(f"/customers/{customer.pk}/restore", {}, headers=headers)
    assert operation == "blacklist_remove"
    return api.delete(f"/customers/{customer.pk}/blacklist", headers=headers)


def _prepare(api, company, operation: str) -> None:
    if operation == "restore":
        customer_delete(actor=company.admin, customer_id=company.rep_customer.pk)
    if operation == "blacklist_remove":
        added = api.post(f"/customers/{company.rep_customer.pk}/blacklist", {"reason": "fraud"})
        assert added.status_code == 201, added.json()


OPERATIONS = ["update", "delete", "restore", "blacklist_remove"]


@pytest.mark.parametrize("if_match", IMPOSSIBLE)
@pytest.mark.parametrize("operation", OPERATIONS)
def test_an_if_match_no_version_can_have_is_refused_as_malformed(
    api_as, company, operation, if_match
):
    api = api_as("admin")
    _prepare(api, company, operation)
    before = Customer.objects.get(pk=company.rep_customer.pk)
    answer = _send(api, company, operation, if_match)
    assert answer.status_code == 422, answer.json()
    assert answer.json()["errors"] == MALFORMED
    after = Customer.objects.get(pk=company.rep_customer.pk)
    assert (after.version, after.deleted_at, after.industry) == (
        before.version,
        before.deleted_at,
        before.industry,
    )


@pytest.mark.parametrize("operation", OPERATIONS)
def test_the_largest_version_passes_the_check_and_is_only_stale(api_as, company, operation):
    api = api_as("admin")
    _prepare(api, company, operation)
    answer = _send(api, company, operation, f'"{LARGEST}"')
    assert answer.status_code == 409, answer.json()
    assert (
        answer.json()["current_version"] == Customer.objects.get(pk=company.rep_customer.pk).version
    )
