"""Two organisation rows of a file merged into the same organisation, which has no external id
(a stored one, or one the file's first row makes): the first is refused as it is written (here:
past the tag limit), so the organisation takes the second one's external id, and the people
naming that id are linked to it whichever batch they are in, and whether the import was
resumed. (In the rows' batch, the second row was not taken for the organisation's, as the first
was expected to give it its id, and the people were rejected as naming no organisation; in a
later batch they were linked.)"""

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

HEADER = "external_id,name,party_type,phone,email,tags,organization_external_id\n"


def test_people_naming_the_organisation_row_that_gave_its_id_are_linked_to_it(company, tmp_path):
    organisation = customer_create(
        actor=company.admin,
        data={
            "name": "华瑞科技有限公司",
            "party_type": "organization",
            "phones": ["021-62345678"],
            "emails": ["info@huarui.example.com"],
            "tags": [f"tag {i}" for i in range(MAX_TAGS)],
        },
    )
    person = customer_create(actor=company.admin, data={"name": "李娜", "external_id": "P2"})
    path = tmp_path / "people.csv"
    path.write_text(
        HEADER
        # merged into the stored organisation, which would take M1, but one tag too many
        + "M1,华瑞科技有限公司,organization,021-62345678,info@huarui.example.com,one more,\n"
        # merged into it too, giving it M2
        "M2,华瑞科技有限公司,organization,021-62345678,info@huarui.example.com,,\n"
        "P1,韩梅梅,person,,,,M2\n"  # a new person of M2
        "P2,李娜,person,,,,M2\n",  # the stored person, given M2
        encoding="utf-8",
    )

    def outcome(job: ImportJob) -> tuple:
        assert job.status == ImportJob.Status.FINISHED, job.message
        counts = job_counts(job)
        assert sum(counts[1:5]) == counts[0]  # one outcome a row
        reasons = {error.row_number: error.reason_text for error in job.errors.all()}
        people = sorted(
            Customer.objects.filter(organization=organisation).values_list("name", "external_id")
        )
        return counts, reasons, people, Customer.objects.get(pk=organisation.pk).external_id

    found = {}
    for batch_size in (None, 1, 2):
        with transaction.atomic():
            job = import_job_run(
                job=new_job(company.admin, path, dedup="auto"), batch_size=batch_size
            )
            found[batch_size] = outcome(job)
            transaction.set_rollback(True)
    for batch_size in (1, 2):
        with transaction.atomic():
            job = interrupted_after_first_batch(company.admin, path, batch_size)
            job = import_job_run(job=job, batch_size=batch_size)
            found[f"resumed {batch_size}"] = outcome(job)
            transaction.set_rollback(True)
    whole = found[None]
    counts, reasons, people, external_id = whole
    assert counts == (4, 1, 1, 1, 1, 0, 0)
    assert sorted(reasons) == [2]  # the header is row 1
    assert f"would have {MAX_TAGS + 1} tags" in reasons[2]
    assert people == [("李娜", "P2"), ("韩梅梅", "P1")]
    assert external_id == "M2"
    assert {key: outcome for key, outcome in found.items() if outcome != whole} == {}
    assert Customer.objects.get(pk=person.pk).organization_id is None  # all undone


def test_people_naming_the_organisation_row_that_gave_a_new_customer_its_id_are_linked_to_it(
    company, tmp_path
):
    tags = ";".join(f"tag {i}" for i in range(MAX_TAGS))
    path = tmp_path / "people.csv"
    path.write_text(
        HEADER
        # made, with every tag it may have, and no external id
        + f",华瑞科技有限公司,organization,021-62345678,info@huarui.example.com,{tags},\n"
        # merged into it, which would take M1, but one tag too many
        "M1,华瑞科技有限公司,organization,021-62345678,info@huarui.example.com,one more,\n"
        # merged into it too, giving it M2
        "M2,华瑞科技有限公司,organization,021-62345678,info@huarui.example.com,,\n"
        "P1,韩梅梅,person,,,,M2\n",  # a new person of M2
        encoding="utf-8",
    )

    def outcome(job: ImportJob) -> tuple:
        assert job.status == ImportJob.Status.FINISHED, job.message
        counts = job_counts(job)
        assert sum(counts[1:5]) == counts[0]  # one outcome a row
        reasons = {error.row_number: error.reason_text for error in job.errors.all()}
        made = Customer.objects.get(name="华瑞科技有限公司")
        people = sorted(
            Customer.objects.filter(organization=made).values_list("name", "external_id")
        )
        return counts, reasons, people, made.external_id

    found = {}
    for batch_size in (None, 1, 2):
        with transaction.atomic():
            job = import_job_run(
                job=new_job(company.admin, path, dedup="auto"), batch_size=batch_size
            )
            found[batch_size] = outcome(job)
            transaction.set_rollback(True)
    for batch_size in (1, 2):
        with transaction.atomic():
            job = interrupted_after_first_batch(company.admin, path, batch_size)
            job = import_job_run(job=job, batch_size=batch_size)
            found[f"resumed {batch_size}"] = outcome(job)
            transaction.set_rollback(True)
    whole = found[None]
    counts, reasons, people, external_id = whole
    assert counts[:5] == (4, 2, 0, 1, 1)
    assert sorted(reasons) == [3]  # the header is row 1
    assert f"would have {MAX_TAGS + 1} tags" in reasons[3]
    assert people == [("韩梅梅", "P1")]
    assert external_id == "M2"
    assert {key: outcome for key, outcome in found.items() if outcome != whole} == {}


def _arrangements(company, path, outcome) -> dict:
    found = {}
    for batch_size in (None, 1, 2, 3):
        with transaction.atomic():
            job = import_job_run(
                job=new_job(company.admin, path, dedup="auto"), batch_size=batch_size
            )
            found[batch_size] = outcome(job)
            transaction.set_rollback(True)
    for batch_size in (1, 2, 3):
        with transaction.atomic():
            job = interrupted_after_first_batch(company.admin, path, batch_size)
            job = import_job_run(job=job, batch_size=batch_size)
            found[f"resumed {batch_size}"] = outcome(job)
            transaction.set_rollback(True)
    return found


@pytest.mark.parametrize("first_refused", [False, True])
def test_an_organisation_is_kept_from_becoming_a_person_only_for_people_it_has(
    company, tmp_path, first_refused
):
    # The organisation has people through M2 only where M1 was refused and it took M2. Where M1
    # reached it, the people naming M2 are rejected, and a later row may make it a person, as
    # in a later batch; the whole file refused that row, counting the rejected person as its.
    organisation = customer_create(
        actor=company.admin,
        data={
            "name": "华瑞科技有限公司",
            "party_type": "organization",
            "phones": ["021-62345678"],
            "emails": ["info@huarui.example.com"],
            "tags": [f"tag {i}" for i in range(MAX_TAGS if first_refused else 0)],
        },
    )
    path = tmp_path / "people.csv"
    path.write_text(
        HEADER + "M1,华瑞科技有限公司,organization,021-62345678,info@huarui.example.com,one more,\n"
        "M2,华瑞科技有限公司,organization,021-62345678,info@huarui.example.com,,\n"
        "P1,韩梅梅,person,,,,M2\n"
        # the organisation, by the id it took, made a person
        f"{'M2' if first_refused else 'M1'},华瑞科技有限公司,person,,,,\n",
        encoding="utf-8",
    )

    def outcome(job: ImportJob) -> tuple:
        assert job.status == ImportJob.Status.FINISHED, job.message
        reasons = {error.row_number: error.reason_text for error in job.errors.all()}
        people = list(Customer.objects.filter(name="韩梅梅").values_list("organization_id"))
        party_type = Customer.objects.get(pk=organisation.pk).party_type
        return job_counts(job)[4], reasons, people, party_type

    found = _arrangements(company, path, outcome)
    whole = found[None]
    rejected, reasons, people, party_type = whole
    if first_refused:
        assert rejected == 2
        assert f"would have {MAX_TAGS + 1} tags" in reasons[2]
        assert "cannot become a person" in reasons[5]
        assert (people, party_type) == ([(organisation.pk,)], "organization")
    else:
        assert (rejected, sorted(reasons)) == (1, [4])
        assert "no organisation “M2”" in reasons[4]
        assert (people, party_type) == ([], "person")
    assert {key: outcome for key, outcome in found.items() if outcome != whole} == {}
