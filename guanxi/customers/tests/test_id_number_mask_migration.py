"""The migration that masks again the ID numbers stored masked the earlier way (the first four and
last four characters of a resident ID number), from their masked form alone."""

import importlib

import pytest

from guanxi.core.masking import mask_id_number, mask_middle
from guanxi.core.testing import MigrationEditor, models_at
from guanxi.customers.models import Customer
from guanxi.customers.services import customer_create

migration = importlib.import_module(
    "guanxi.customers.migrations.0009_id_numbers_masked_to_their_ends"
)

pytestmark = pytest.mark.django_db

NUMBERS = [
    "11010519491231002X",  # resident ID
    "440305198807150031",
    "110105491231002",  # resident ID of before 1999
    "E12345678",  # passport
    "G1234567",
    "C1234567890123456",  # a travel document of 17 characters
    "AB12345",
]


def _earlier_mask(value: str) -> str:
    """As ``mask_id_number`` masked before this migration."""
    return mask_middle(value, 6 if len(value) >= 15 else 2, 4 if len(value) >= 15 else 2)


def test_id_numbers_masked_the_earlier_way_are_masked_as_now(company, monkeypatch):
    customers = {
        number: customer_create(actor=company.admin, data={"name": "刘洋", "id_number": number})
        for number in NUMBERS
    }
    without = customer_create(actor=company.admin, data={"name": "王芳"})
    # As stored before: the earlier masked form beside the same encrypted number and hash.
    for number, customer in customers.items():
        Customer.objects.filter(pk=customer.pk).update(id_number_masked=_earlier_mask(number))
    stored = {
        pk: (masked, hashed, encrypted, version)
        for pk, masked, hashed, encrypted, version in Customer.objects.values_list(
            "pk", "id_number_masked", "id_number_hash", "id_number_encrypted", "version"
        )
    }
    assert stored[customers["11010519491231002X"].pk][0] == "1101**********002X"

    monkeypatch.setattr(migration, "BATCH", 2)  # several batches
    migration.mask_again(
        models_at("customers", migration.__name__.split(".")[-1]), MigrationEditor()
    )

    for number, customer in customers.items():
        customer.refresh_from_db()
        assert customer.id_number_masked == mask_id_number(number), number
        # Nothing else changes: the number, its hash and the customer's version stay.
        _masked, hashed, encrypted, version = stored[customer.pk]
        assert (customer.id_number_hash, customer.id_number_encrypted, customer.version) == (
            hashed,
            encrypted,
            version,
        )
    assert customers["11010519491231002X"].id_number_masked == "1****************X"
    without.refresh_from_db()
    assert without.id_number_masked == ""

    # Running it again changes nothing.
    after = dict(Customer.objects.values_list("pk", "id_number_masked"))
    migration.mask_again(
        models_at("customers", migration.__name__.split(".")[-1]), MigrationEditor()
    )
    assert dict(Customer.objects.values_list("pk", "id_number_masked")) == after


@pytest.mark.parametrize("number", [*NUMBERS, "A1", "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"])
def test_the_migrations_rule_is_the_masking_of_now(number):
    """The rule the migration copies gives what ``mask_id_number`` gives, from the number as
    from either masked form of it."""
    assert migration.masked_again(number) == mask_id_number(number)
    assert migration.masked_again(_earlier_mask(number)) == mask_id_number(number)
    assert migration.masked_again(mask_id_number(number)) == mask_id_number(number)
