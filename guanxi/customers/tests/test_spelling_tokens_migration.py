"""The migration that gives customers stored before them the tokens of apostrophes, other
spellings, email and domain tails and run-together external ids."""

import importlib

import pytest

from guanxi.core.testing import MigrationEditor, models_at
from guanxi.customers.models import Customer
from guanxi.customers.search import build_search_text
from guanxi.customers.selectors import customer_list_for_user
from guanxi.customers.services import customer_create, customer_update

migration = importlib.import_module(
    "guanxi.customers.migrations.0005_spelling_and_separator_tokens"
)
rebuild = importlib.import_module("guanxi.customers.migrations.0002_search_index")

pytestmark = pytest.mark.django_db


def _models_of_the_migration():
    return models_at("customers", "0005_spelling_and_separator_tokens")


def _before_the_marks(text: str) -> str:
    """A search text as this migration's rules make it: without the marks a later migration
    (0013) adds."""
    return " ".join(token for token in text.split() if not token.startswith(("#", "~")))


def _as_made_before_organisation_marks(customer: Customer) -> str:
    """A customer's search text as the rules up to migration 0016 made it: with their
    organisation's name as their company (0016 makes it marks)."""
    return build_search_text(
        name=customer.name,
        company=customer.company_label or "",
        phones=[(p.number, p.display) for p in customer.phones.all()],
        emails=[e.address for e in customer.emails.all()],
        tags=[t.name for t in customer.tags.all()],
        external_id=customer.external_id,
        person=customer.party_type == Customer.PartyType.PERSON,
    )


def _text(pk: int) -> str:
    return Customer.objects.get(pk=pk).search_text


def test_customers_stored_before_get_the_tokens_and_are_found(company):
    def create(**data):
        return customer_create(actor=company.admin, data={"party_type": "organization", **data})

    pacific = create(name="Müller & O'Brien GmbH", emails=["sales@pacific-rim.com"])
    people = [
        pacific,
        create(name="Li Wei", emails=["li.wei_88@example.com"], external_id="ERP-2024-0001"),
        create(name="Søren Aalborg", tags=["Ærø"]),
        create(name="Sean", organization_id=pacific.pk, party_type="person"),
    ]
    plain = create(name="张伟明", phones=["13812345678"])
    expected = {
        c.pk: _before_the_marks(_as_made_before_organisation_marks(c))
        for c in Customer.objects.filter(pk__in=[c.pk for c in [*people, plain]])
    }
    # As stored before: what migration 0002 built.
    for customer in Customer.objects.filter(pk__in=expected):
        old = rebuild.search_text(
            name=customer.name,
            company=customer.company_label or "",
            phones=[p.number for p in customer.phones.all()],
            emails=[e.address for e in customer.emails.all()],
            tags=[t.name for t in customer.tags.all()],
            external_id=customer.external_id,
        )
        Customer.objects.filter(pk=customer.pk).update(search_text=old)
    for query in ("obrien", "mueller", "wei_88", "rim.com", "ERP 2024 0001", "soeren", "aero"):
        assert not customer_list_for_user(company.admin, filters={"q": query}).exists(), query
    unchanged = _text(plain.pk)

    migration.add_tokens(_models_of_the_migration(), MigrationEditor())

    for pk, text in expected.items():
        assert set(_text(pk).split()) == set(text.split())
    assert _text(plain.pk) == unchanged  # nothing to add: not written
    found = {
        query: set(
            customer_list_for_user(company.admin, filters={"q": query}).values_list(
                "name", flat=True
            )
        )
        for query in ("obrien", "mueller", "wei_88", "rim.com", "ERP 2024 0001", "soeren", "aero")
    }
    assert found == {
        "obrien": {"Müller & O'Brien GmbH", "Sean"},  # Sean by his company's name
        "mueller": {"Müller & O'Brien GmbH", "Sean"},
        "wei_88": {"Li Wei"},
        "rim.com": {"Müller & O'Brien GmbH"},
        "ERP 2024 0001": {"Li Wei"},
        "soeren": {"Søren Aalborg"},
        "aero": {"Søren Aalborg"},
    }
    # Running it again changes nothing.
    after = {pk: _text(pk) for pk in expected}
    migration.add_tokens(_models_of_the_migration(), MigrationEditor())
    assert {pk: _text(pk) for pk in expected} == after


def test_an_address_saved_as_a_name_tag_or_id_gets_its_tails_as_a_customer_saved_now_does(
    company,
):
    # Addresses are tokenised wherever they are written: a customer named by their address
    # (as mail clients often give it), a tag or an external id holding one.
    def create(**data):
        return customer_create(actor=company.admin, data={"party_type": "person", **data})

    customers = [
        create(name="li.wei_88@example.com"),
        create(name="Wang", tags=["via sales@pacific-rim.com"]),
        create(name="Zhou", external_id="crm:zhou.min_7@partner.cn"),
    ]
    expected = {c.pk: _before_the_marks(_text(c.pk)) for c in customers}
    for customer in Customer.objects.filter(pk__in=expected):
        old = rebuild.search_text(
            name=customer.name,
            company=customer.company_label or "",
            phones=[],
            emails=[],
            tags=[t.name for t in customer.tags.all()],
            external_id=customer.external_id,
        )
        Customer.objects.filter(pk=customer.pk).update(search_text=old)

    migration.add_tokens(_models_of_the_migration(), MigrationEditor())

    for pk, text in expected.items():
        assert set(_text(pk).split()) == set(text.split())
    for query, name in (
        ("wei_88", "li.wei_88@example.com"),
        ("rim.com", "Wang"),
        ("min_7", "Zhou"),
    ):
        found = customer_list_for_user(company.admin, filters={"q": query})
        assert list(found.values_list("name", flat=True)) == [name], query


def test_a_customer_changed_while_the_migration_runs_keeps_the_change(company, monkeypatch):
    customer = customer_create(
        actor=company.admin, data={"party_type": "organization", "name": "Müller GmbH"}
    )
    old = rebuild.search_text(
        name=customer.name, company="", phones=[], emails=[], tags=[], external_id=None
    )
    Customer.objects.filter(pk=customer.pk).update(search_text=old)
    customer.refresh_from_db()
    compute = migration.new_tokens

    def renamed_meanwhile(**fields):
        # Someone renames the customer after the migration read its batch, before it writes.
        if fields["name"] == "Müller GmbH":
            customer_update(
                actor=company.admin,
                customer_id=customer.pk,
                expected_version=customer.version,
                data={"name": "Schmidt GmbH"},
            )
        return compute(**fields)

    monkeypatch.setattr(migration, "new_tokens", renamed_meanwhile)
    migration.add_tokens(_models_of_the_migration(), MigrationEditor())

    stored = Customer.objects.get(pk=customer.pk)
    assert stored.name == "Schmidt GmbH"
    assert "schmidt" in stored.search_text.split() and "mueller" not in stored.search_text
    assert list(
        customer_list_for_user(company.admin, filters={"q": "schmidt"}).values_list("pk", flat=True)
    ) == [customer.pk]
