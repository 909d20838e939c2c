"""The migration that gives people stored before it their organisation's name as marks instead
of tokens of their own, as a person saved now has it, so that the search no longer finds them
by it for whoever may not see the organisation."""

import importlib

import pytest

from guanxi.core.testing import MigrationEditor, models_at
from guanxi.customers.models import Customer
from guanxi.customers.search import build_search_text
from guanxi.customers.selectors import customer_list_for_user
from guanxi.customers.services import customer_create

migration = importlib.import_module("guanxi.customers.migrations.0014_organisation_name_marks")

pytestmark = pytest.mark.django_db


def _models():
    return models_at("customers", "0014_organisation_name_marks")


def _as_stored_before(customer: Customer) -> str:
    """The search text as the rule before the marks made it: the organisation's name as the
    person's company."""
    return build_search_text(
        name=customer.name,
        company=customer.company_label or "",
        phones=[(p.number, p.display) for p in customer.phones.all()],
        emails=[e.address for e in customer.emails.all()],
        tags=[t.name for t in customer.tags.all()],
        external_id=customer.external_id,
        person=customer.party_type == Customer.PartyType.PERSON,
    )


def _texts() -> dict[int, str]:
    return dict(Customer.objects.values_list("pk", "search_text"))


def _found(user, query: str) -> set[str]:
    found = customer_list_for_user(user, filters={"q": query})
    return set(found.values_list("name", flat=True))


def test_people_stored_before_get_the_organisations_name_as_marks(company):
    organisation = customer_create(
        actor=company.rep_west,
        data={"name": "华瑞贸易 Zephyrine 有限公司", "party_type": "organization"},
    )

    def person(**data):
        return customer_create(
            actor=company.admin, data={"owner_id": company.rep.pk, "party_type": "person", **data}
        )

    person(
        name="李雷",
        organization_id=organisation.pk,
        company="Plainview",
        phones=["13912345678", "+86 21 6234 5678"],
        emails=["li.lei@plainview.cn"],
        tags=["VIP", "重点客户"],
        external_id="ERP-2024-0001",
    )
    person(name="韩梅", organization_id=organisation.pk)
    person(name="Zephyrine Partners Ltd")  # the word is her own name, no organisation's
    saved_now = _texts()
    for customer in Customer.objects.prefetch_related("phones", "emails", "tags"):
        Customer.objects.filter(pk=customer.pk).update(search_text=_as_stored_before(customer))
    stored_before = _texts()
    assert stored_before != saved_now
    assert _found(company.rep, "Zephyrine") == {"李雷", "韩梅", "Zephyrine Partners Ltd"}

    migration.organisation_names_as_marks(_models(), MigrationEditor())

    assert _texts() == saved_now  # order included: as a person saved now
    assert _found(company.rep, "Zephyrine") == {"Zephyrine Partners Ltd"}
    assert _found(company.rep, "华瑞") == set()
    assert _found(company.admin, "华瑞") == {"华瑞贸易 Zephyrine 有限公司", "李雷", "韩梅"}
    migration.organisation_names_as_marks(_models(), MigrationEditor())
    assert _texts() == saved_now  # a second run changes nothing

    migration.organisation_names_as_companies(_models(), MigrationEditor())
    assert _texts() == stored_before
