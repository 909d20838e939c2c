"""Which people of an organisation a customer import locks. The database writes an organisation's
new owner to its people, and the import rebuilds their search text with its new name: for those
it locks them all with the organisation, before the other people of the batch (as a hand-over
does). A row naming the owner and the name the organisation has already changes neither: every
row names an owner, if only the importing user by default, and each used to lock all the
organisation's people, keeping the import waiting for whoever was editing any of them. Whether
a row changes the owner is asked of the organisation as locked: changed by someone else since
the batch was read, the row hands it back over. Real concurrency needs PostgreSQL."""

from guanxi.core.testing.merging import CONCURRENT
from guanxi.core.testing.threads import (
    Hold,
    hold_after_first,
    in_thread,
    locking_in_id_order,
    wait_until,
    waiting_for_a_lock,
)
from guanxi.customers.models import Customer
from guanxi.customers.services import customer_create, customers_reassign
from guanxi.imports.customer_import import CustomerImporter
from guanxi.imports.models import ImportJob
from guanxi.imports.services import import_job_create, import_job_run

pytestmark = CONCURRENT

HEADER = "external_id,name,party_type,industry,owner\n"


def _job(actor, tmp_path, lines: str) -> ImportJob:
    path = tmp_path / "customers.csv"
    path.write_text(HEADER + lines, encoding="utf-8")
    return import_job_create(
        actor=actor, path=path, filename=path.name, kind="customers", dedup="off"
    )


def _organisation_with_a_person(company) -> tuple[Customer, Customer]:
    organisation = customer_create(
        actor=company.admin,
        data={
            "name": "华东精密仪器",
            "party_type": "organization",
            "external_id": "ORG1",
            "owner_id": company.rep.pk,
        },
    )
    person = customer_create(
        actor=company.admin,
        data={"name": "钱伟", "owner_id": company.teammate.pk, "organization_id": organisation.pk},
    )
    return organisation, person


def test_an_organisation_keeping_its_owner_and_name_leaves_its_people_alone(company, tmp_path):
    organisation, person = _organisation_with_a_person(company)
    job = _job(company.admin, tmp_path, "ORG1,华东精密仪器,organization,制造业,rep\n")
    hold = Hold()
    results: dict = {}
    holder = in_thread(locking_in_id_order(Customer, [person.pk], hold), results, "editor")
    assert hold.reached.wait(30)
    try:
        importer = in_thread(lambda: import_job_run(job=job), results, "import")
        finished = wait_until(lambda: "import" in results, 15)
    finally:
        hold.go.set()
        holder.join(30)
        importer.join(60)
    assert finished, "the import waited for someone editing a person of the organisation"
    assert results["import"][0] == "ok", results["import"][-1]
    job.refresh_from_db()
    assert (job.updated, job.rejected) == (1, 0), job.message
    assert Customer.objects.get(pk=organisation.pk).industry == "制造业"


def test_a_row_naming_the_owner_an_organisation_had_hands_it_back_over(
    company, tmp_path, monkeypatch
):
    # The organisation is handed over while the import matches its batch; its row names the
    # owner it had then, and so hands it back over. Its people are locked with it, before the
    # other person the batch changes (of a higher id): left to the database, as it writes the
    # owner, a writer locking both people in ascending order would hold the first while waiting
    # for the second, which the import held.
    organisation, person = _organisation_with_a_person(company)
    other = customer_create(
        actor=company.admin, data={"name": "孙丽", "external_id": "P2", "owner_id": company.rep.pk}
    )
    assert person.pk < other.pk
    job = _job(
        company.admin,
        tmp_path,
        "ORG1,华东精密仪器,organization,,rep\nP2,孙丽,person,零售业,rep\n",
    )
    matched = hold_after_first(monkeypatch, CustomerImporter, "_match", thread="import")
    results: dict = {}
    importer = in_thread(lambda: import_job_run(job=job), results, "import")
    editor = None
    held = Hold()
    try:
        assert matched.reached.wait(30)
        moved = customers_reassign(
            actor=company.admin,
            from_owner_id=company.rep.pk,
            to_owner_id=company.manager.pk,
            customer_ids=[organisation.pk],
        )
        assert moved == 1
        editor = in_thread(
            locking_in_id_order(Customer, [person.pk, other.pk], held), results, "editor"
        )
        assert held.reached.wait(30)
        matched.go.set()
        assert wait_until(waiting_for_a_lock), "the import did not wait for the person"
    finally:
        matched.go.set()
        held.go.set()
        importer.join(60)
        if editor is not None:
            editor.join(60)
    assert results["editor"][0] == "ok", results["editor"][-1]
    assert results["import"][0] == "ok", results["import"][-1]
    job.refresh_from_db()
    assert (job.updated, job.rejected) == (2, 0), job.message
    stored = Customer.objects.get(pk=person.pk)
    assert Customer.objects.get(pk=organisation.pk).owner_id == company.rep.pk
    assert stored.organization_owner_id == company.rep.pk
    assert Customer.objects.get(pk=other.pk).industry == "零售业"
