"""A person rejected because the organisation row of the file they name reached no customer
with its external id (it was refused as it was written, or merged into a customer keeping
another id) leads the later rows with the person's external id into the error file, with the
person's reason, wherever the batches end and whether the import was resumed in between. (In the
organisation row's batch they were; with the person in a later batch, the person was rejected
as naming an unknown organisation, which leads no row, and the follower made a customer.)"""

import pytest
from django.db import transaction

from guanxi.customers.models import Customer
from guanxi.customers.services import customer_create
from guanxi.customers.validation import MAX_TAGS
from guanxi.imports.models import ImportJob
from guanxi.imports.services import import_job_run
from guanxi.imports.tests.test_merged_row_followed_across_batches import (
    interrupted_after_first_batch,
    job_counts,
    new_job,
)

pytestmark = pytest.mark.django_db

HEADER = "external_id,name,party_type,phone,email,job_title,tags,organization_external_id\n"
NO_ORGANISATION = "organization_external_id: no organisation “O1” that you can see"


def file_with(organisation_tags: str = "") -> str:
    """An organisation row merged into the stored organisation, another person, a new person
    naming the organisation, and a later row with that person's external id, naming none (in
    batches of two rows, the person and the row following them are in a later batch than the
    organisation row)."""
    return HEADER + (
        f"O1,华瑞科技有限公司,organization,021-62345678,info@huarui.example.com,,"
        f"{organisation_tags},\n"
        "N1,李雷,person,13700000002,,,,\n"
        "P1,韩梅梅,person,13700000001,,,,O1\n"
        "P1,韩梅梅,person,13700000001,,经理,,\n"
    )


def outcomes(actor, path) -> dict:
    """The job's counts, its rejected rows' reasons and the people made, for the file imported
    whole, in batches of one and two rows, and resumed after its first batch of one and of
    two rows, each undone afterwards."""

    def outcome(job: ImportJob) -> tuple:
        assert job.status == ImportJob.Status.FINISHED, job.message
        counts = job_counts(job)
        assert sum(counts[1:5]) == counts[0]  # one outcome a row
        reasons = {error.row_number: error.reason_text for error in job.errors.all()}
        people = sorted(
            Customer.objects.filter(name__in=["韩梅梅", "李雷"]).values_list(
                "name", "external_id", "organization_id"
            )
        )
        return counts, reasons, people

    found = {}
    for batch_size in (None, 1, 2):
        with transaction.atomic():
            job = import_job_run(job=new_job(actor, path, dedup="auto"), batch_size=batch_size)
            found[batch_size] = outcome(job)
            transaction.set_rollback(True)
    for batch_size in (1, 2):
        with transaction.atomic():
            job = interrupted_after_first_batch(actor, path, batch_size)
            job = import_job_run(job=job, batch_size=batch_size)
            found[f"resumed {batch_size}"] = outcome(job)
            transaction.set_rollback(True)
    return found


def assert_led_into_rejection(found: dict, told: str) -> None:
    whole = found[None]
    counts, reasons, people = whole
    assert counts == (4, 1, 0, 0, 3, 0, 0)
    assert sorted(reasons) == [2, 4, 5]  # the header is row 1
    assert told in reasons[2]
    assert reasons[4] == reasons[5] == NO_ORGANISATION
    assert people == [("李雷", "N1", None)]
    assert {key: outcome for key, outcome in found.items() if outcome != whole} == {}


def stored_organisation(actor, **extra) -> Customer:
    return customer_create(
        actor=actor,
        data={
            "name": "华瑞科技有限公司",
            "party_type": "organization",
            "phones": ["021-62345678"],
            "emails": ["info@huarui.example.com"],
            **extra,
        },
    )


def test_a_person_of_an_organisation_row_refused_as_it_was_written_leads_the_later_rows(
    company, tmp_path
):
    stored_organisation(company.admin, tags=[f"tag {i}" for i in range(MAX_TAGS)])
    path = tmp_path / "people.csv"
    path.write_text(file_with(organisation_tags="one more"), encoding="utf-8")
    found = outcomes(company.admin, path)
    assert_led_into_rejection(found, f"would have {MAX_TAGS + 1} tags")


def test_a_person_of_an_organisation_row_merged_into_a_customer_keeping_its_id_leads_the_later_rows(
    company, tmp_path
):
    stored_organisation(company.admin, external_id="K9")
    path = tmp_path / "people.csv"
    path.write_text(file_with(), encoding="utf-8")
    found = outcomes(company.admin, path)
    whole = found[None]
    counts, reasons, people = whole
    assert counts == (4, 1, 0, 1, 2, 1, 0)  # the organisation row merged, changing nothing
    assert sorted(reasons) == [4, 5]
    assert reasons[4] == reasons[5] == NO_ORGANISATION
    assert people == [("李雷", "N1", None)]
    assert {key: outcome for key, outcome in found.items() if outcome != whole} == {}
