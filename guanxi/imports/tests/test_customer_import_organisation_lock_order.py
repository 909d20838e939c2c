"""A customer import and a hand-over or a merge of organisations at the same moment. The import
changes one organisation and links a new person to another; the hand-over moves both, the merge
merges the second into the first. Each locks the organisations in ascending id order, but the
import used to pass over them twice: first the organisations it links people to (FOR KEY SHARE),
then those it changes (FOR UPDATE). Holding the higher one it links to, it waited for the lower
one it changes, which the hand-over held while it waited for the higher one (as did the merge):
the database broke one of them off as a deadlock. Now the import locks every organisation of the
batch in one ascending pass, each as strongly as it needs, so one waits for the other. Real
concurrency needs PostgreSQL."""

import threading

from django.db import connection

from guanxi.core.testing.merging import CONCURRENT
from guanxi.core.testing.threads import Hold, second_waits_for_first
from guanxi.customers.models import Customer
from guanxi.customers.services import customer_create, customers_reassign
from guanxi.dedup.services import customers_merge
from guanxi.imports.models import ImportJob
from guanxi.imports.services import import_job_create, import_job_run

pytestmark = CONCURRENT


def _organisation(actor, name: str, external_id: str) -> Customer:
    return customer_create(
        actor=actor, data={"name": name, "party_type": "organization", "external_id": external_id}
    )


def _held_at_first_customer_lock(hold: Hold, work):
    """``work`` on its thread, stopped once the first statement it runs that locks customers has
    returned, holding those it locked."""

    def held(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        locks = " FOR UPDATE" in sql or " FOR KEY SHARE" in sql
        if locks and 'FROM "customers_customer"' in sql and not hold.reached.is_set():
            hold.here()
        return result

    def run():
        assert threading.current_thread().name == "import"
        with connection.execute_wrapper(held):
            return work()

    return run


def _import_beside(company, tmp_path, writer, other):
    """Import a file renaming the lower organisation and linking a new person to the higher one,
    held once it has locked its first customers, while ``other(lower, higher)`` runs."""
    lower = _organisation(company.rep, "东方贸易", "ORG-A")
    higher = _organisation(company.rep, "西部物流", "ORG-B")
    assert lower.pk < higher.pk
    path = tmp_path / "customers.csv"
    path.write_text(
        "external_id,name,party_type,organization_external_id\n"
        "ORG-A,东方贸易有限公司,organization,\n"
        "P1,李雷,person,ORG-B\n",
        encoding="utf-8",
    )
    job = import_job_create(
        actor=company.admin, path=path, filename=path.name, kind="customers", dedup="off"
    )
    hold = Hold()
    results = second_waits_for_first(
        _held_at_first_customer_lock(hold, lambda: import_job_run(job=job)),
        lambda: other(lower, higher),
        hold,
        names=("import", writer),
    )
    assert results["import"][0] == "ok", results["import"][-1]
    assert results[writer][0] == "ok", results[writer][-1]
    job = ImportJob.objects.get(pk=job.pk)
    assert (job.created, job.updated, job.rejected) == (1, 1, 0), job.message
    assert Customer.objects.get(pk=lower.pk).name == "东方贸易有限公司"
    return lower, higher, Customer.objects.get(external_id="P1")


def test_an_import_and_a_hand_over_of_two_organisations_wait_for_each_other(company, tmp_path):
    def hand_over(lower, higher):
        return customers_reassign(
            actor=company.admin,
            from_owner_id=company.rep.pk,
            to_owner_id=company.teammate.pk,
            customer_ids=[lower.pk, higher.pk],
        )

    _lower, higher, person = _import_beside(company, tmp_path, "hand-over", hand_over)
    # The hand-over waited for the import, and then moved the person's organisation with them.
    assert (person.organization_id, person.organization_owner_id) == (
        higher.pk,
        company.teammate.pk,
    )
    assert Customer.objects.get(pk=higher.pk).owner_id == company.teammate.pk


def test_an_import_and_a_merge_of_two_organisations_wait_for_each_other(company, tmp_path):
    def merge(lower, higher):
        return customers_merge(actor=company.admin, survivor_id=lower.pk, merged_id=higher.pk)

    lower, _higher, person = _import_beside(company, tmp_path, "merge", merge)
    # The merge waited for the import, and then moved the new person into the organisation kept.
    assert person.organization_id == lower.pk
