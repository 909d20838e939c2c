"""Rows linking people to an organisation while that organisation is being merged into another.
The merge locks both organisations, then moves their people to the kept one; the import locks
the organisations its rows name before it locks or creates the people (as ``customer_create``
and ``customer_update`` do, and in that order), so it waits for the merge and then finds the
merged organisation gone, instead of leaving a person in the one the merge puts in the recycle
bin. Real concurrency needs PostgreSQL."""

from guanxi.core.testing.merging import CONCURRENT, customers_to_merge, write_while_merging
from guanxi.customers.models import Customer
from guanxi.customers.services import customer_create
from guanxi.imports.models import ImportJob, ImportRowError
from guanxi.imports.services import import_job_create, import_job_run

pytestmark = CONCURRENT

ORGANISATION = {"name": "华瑞科技有限公司", "party_type": "organization"}


def _import_while_merging(company, monkeypatch, tmp_path, lines: str, *, pause: str, people=()):
    """Merge organisation ORG2 into ORG1 and import ``lines`` while the merge holds both,
    paused at its step ``pause``. ``people`` (name, external id) are in ORG2 beforehand."""
    kept, other = customers_to_merge(
        company.manager,
        {**ORGANISATION, "external_id": "ORG1"},
        {**ORGANISATION, "external_id": "ORG2"},
    )
    for name, external_id in people:
        customer_create(
            actor=company.manager,
            data={"name": name, "external_id": external_id, "organization_id": other.pk},
        )
    path = tmp_path / "people.csv"
    path.write_text("external_id,name,organization_external_id\n" + lines, encoding="utf-8")
    job = import_job_create(
        actor=company.manager, path=path, filename=path.name, kind="customers", dedup="off"
    )
    results = write_while_merging(
        monkeypatch,
        lambda: import_job_run(job=ImportJob.objects.get(pk=job.pk)),
        actor=company.manager,
        kept=kept,
        other=other,
        key="import",
        before=pause,
    )
    assert results["import"][0] == "ok", results["import"][-1]
    return kept, other, results["import"][1]


def test_people_linked_to_an_organisation_being_merged_away_are_rejected(
    company, monkeypatch, tmp_path
):
    moving = customer_create(actor=company.manager, data={"name": "冯敏", "external_id": "P1"})
    _kept, other, job = _import_while_merging(
        company,
        monkeypatch,
        tmp_path,
        "P1,冯敏,ORG2\n"  # an update putting a stored person in it
        "P2,郑华,ORG2\n",  # a new person in it
        pause="_settle_pairs",  # once it moved their people
    )
    assert not Customer.objects.filter(organization_id=other.pk).exists()
    assert (job.created, job.updated, job.rejected) == (0, 0, 2)
    assert all(
        reason.startswith("organization_external_id: the organisation ORG2 was deleted, merged")
        for reason in ImportRowError.objects.filter(job=job).values_list("reason", flat=True)
    )
    moving.refresh_from_db()
    assert moving.organization_id is None


def test_a_person_of_the_merged_organisation_moved_meanwhile_does_not_deadlock(
    company, monkeypatch, tmp_path
):
    # Paused before it moves the people: an import locking the person before the organisation
    # it names would wait for the merge while the merge waited for it to move that person.
    kept, other, job = _import_while_merging(
        company,
        monkeypatch,
        tmp_path,
        "P3,郑华,ORG1\n",
        pause="_copy_contact_details",
        people=[("郑华", "P3")],
    )
    assert (job.updated, job.rejected) == (1, 0)
    person = Customer.objects.get(external_id="P3")
    assert person.organization_id == kept.pk
    assert not Customer.objects.filter(organization_id=other.pk).exists()
