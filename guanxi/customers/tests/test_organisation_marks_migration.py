"""The migration that gives people stored before it their organisation's name as marks instead
of tokens of their own, as a person saved now has it, so that the search no longer finds them
by it for whoever may not see the organisation."""

import importlib
from contextlib import contextmanager

import pytest
from django.db import connection

from guanxi.core.testing import MigrationEditor, models_at
from guanxi.customers.models import Customer
from guanxi.customers.organisation_owner import SQLITE_TRIGGERS
from guanxi.customers.search import build_search_text
from guanxi.customers.selectors import customer_list_for_user
from guanxi.customers.services import customer_create

migration = importlib.import_module("guanxi.customers.migrations.0016_organisation_name_marks")

pytestmark = pytest.mark.django_db


def _models():
    return models_at("customers", "0016_organisation_name_marks")


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


@contextmanager
def _organisation_owner_not_kept():
    """The triggers that keep people's ``organization_owner`` set aside, as before migration
    0014 made them (PostgreSQL: this session fires no trigger of the application's)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = replica")
        else:
            for name in SQLITE_TRIGGERS:
                cursor.execute(f"DROP TRIGGER {name}")
        yield
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = origin")
        else:
            for sql in SQLITE_TRIGGERS.values():
                cursor.execute(sql)


def test_people_stored_before_get_their_organisations_owner(company):
    # The organisation is the East rep's teammate's, whose team shares its customers: the rep
    # sees it and finds its people by its name once their rows carry its owner.
    organisation = customer_create(
        actor=company.teammate, data={"name": "Zephyrine Trading", "party_type": "organization"}
    )
    people = [
        customer_create(
            actor=company.admin,
            data={"name": name, "owner_id": company.rep.pk, "organization_id": organisation.pk},
        )
        for name in ("李雷", "韩梅")
    ]
    li = Customer.objects.prefetch_related("phones", "emails", "tags").get(pk=people[0].pk)
    with _organisation_owner_not_kept():
        # 李雷 as stored before the marks, 韩梅 with her text as it is now: the owner is all
        # she lacks.
        Customer.objects.filter(pk=li.pk).update(search_text=_as_stored_before(li))
        Customer.objects.filter(pk__in=[p.pk for p in people]).update(organization_owner_id=None)

    def carried():
        people_now = Customer.objects.filter(pk__in=[p.pk for p in people])
        return set(people_now.values_list("organization_owner_id", flat=True))

    assert carried() == {None}
    # 李雷 by the name held as his own company, 韩梅 not: her row says no one owns it.
    assert _found(company.rep, "Zephyrine") == {"Zephyrine Trading", "李雷"}

    migration.organisation_names_as_marks(_models(), MigrationEditor())

    assert carried() == {company.teammate.pk}
    assert _found(company.rep, "Zephyrine") == {"Zephyrine Trading", "李雷", "韩梅"}


def test_people_whose_search_text_is_rewritten_as_it_runs_still_get_their_organisations_owner(
    company, monkeypatch
):
    # The search text alone is written when an organisation is renamed (its people's, by
    # ``refresh_people_of``), a tag renamed or a phone added: the triggers do not fire for
    # that, and the migration, which leaves such a person's text alone, must fill the owner.
    organisation = customer_create(
        actor=company.teammate, data={"name": "Zephyrine Trading", "party_type": "organization"}
    )
    li = customer_create(
        actor=company.admin,
        data={"name": "李雷", "owner_id": company.rep.pk, "organization_id": organisation.pk},
    )
    li = Customer.objects.prefetch_related("phones", "emails", "tags").get(pk=li.pk)
    with _organisation_owner_not_kept():
        Customer.objects.filter(pk=li.pk).update(
            search_text=_as_stored_before(li), organization_owner_id=None
        )

    from guanxi.customers import search
    from guanxi.customers.services import refresh_people_of, refresh_search_data

    build = search.build_search_text
    renamed = []

    def renamed_as_the_batch_is_made(**values):
        if not renamed:  # the organisation renamed between the batch's reading and writing
            renamed.append(True)
            Customer.objects.filter(pk=organisation.pk).update(name="Zephyrine Group")
            refresh_search_data(Customer.objects.get(pk=organisation.pk))
            refresh_people_of([organisation.pk])
        return build(**values)

    monkeypatch.setattr(search, "build_search_text", renamed_as_the_batch_is_made)

    migration.organisation_names_as_marks(_models(), MigrationEditor())

    assert renamed
    assert Customer.objects.get(pk=li.pk).organization_owner_id == company.teammate.pk
    assert _found(company.rep, "Zephyrine Group") == {"Zephyrine Group", "李雷"}
