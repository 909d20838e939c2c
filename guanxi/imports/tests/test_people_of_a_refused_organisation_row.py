"""People naming the external id of an organisation row that dedup merged into a customer, and
that was then refused as it was written (here: past the tag limit), are not linked to that
customer: the organisation row never reached it, so the id names no organisation, and they are
rejected as a person naming an unknown organisation is, whichever batch they are in. (In the
organisation row's batch they were linked to the customer all the same; in a later batch they
were rejected.)"""

import pytest
from django.db import transaction

from guanxi.customers.models import Customer
from guanxi.customers.services import customer_create
from guanxi.customers.validation import MAX_TAGS
from guanxi.imports.models import ImportJob
from guanxi.imports.services import import_job_create, import_job_run

pytestmark = pytest.mark.django_db

HEADER = "external_id,name,party_type,phone,email,tags,organization_external_id\n"
FULL_TAGS = [f"tag {i}" for i in range(MAX_TAGS)]
NO_ORGANISATION = "organization_external_id: no organisation “O1” that you can see"
TOO_MANY_TAGS = f"would have {MAX_TAGS + 1} tags"


def outcomes(actor, tmp_path, content: str, state) -> dict:
    """The job's counts, its rejected rows' reasons and ``state()`` after importing the file
    whole and in batches of one and two rows, each undone afterwards."""
    path = tmp_path / "people.csv"
    path.write_text(content, encoding="utf-8")
    found = {}
    for batch_size in (None, 1, 2):
        with transaction.atomic():
            job = import_job_create(
                actor=actor, path=path, filename="people.csv", kind="customers", dedup="auto"
            )
            job = import_job_run(job=job, batch_size=batch_size)
            assert job.status == ImportJob.Status.FINISHED, job.message
            counts = (job.rows_read, job.created, job.updated, job.merged, job.rejected)
            reasons = {error.row_number: error.reason_text for error in job.errors.all()}
            found[batch_size] = (counts, reasons, state())
            transaction.set_rollback(True)
    return found


def test_people_naming_an_organisation_row_refused_by_a_stored_customer_are_not_linked_to_it(
    company, tmp_path
):
    organisation = customer_create(
        actor=company.admin,
        data={
            "name": "华瑞科技有限公司",
            "party_type": "organization",
            "phones": ["021-62345678"],
            "emails": ["info@huarui.example.com"],
            "tags": FULL_TAGS,
        },
    )
    person = customer_create(actor=company.admin, data={"name": "李娜", "external_id": "P2"})

    def state():
        return (
            Customer.objects.filter(organization=organisation).count(),
            Customer.objects.filter(name="韩梅梅").exists(),
            Customer.objects.get(pk=person.pk).version,
            Customer.objects.get(pk=organisation.pk).external_id,
        )

    found = outcomes(
        company.admin,
        tmp_path,
        HEADER
        # merged into the stored organisation, which would take O1, but one tag too many
        + "O1,华瑞科技有限公司,organization,021-62345678,info@huarui.example.com,one more,\n"
        "P1,韩梅梅,person,,,,O1\n"  # a new person of O1
        "P2,李娜,person,,,,O1\n",  # the stored person, given O1
        state,
    )
    counts, reasons, _state = found[None]
    assert counts == (3, 0, 0, 0, 3)
    assert TOO_MANY_TAGS in reasons[2]
    assert (reasons[3], reasons[4]) == (NO_ORGANISATION, NO_ORGANISATION)
    assert found[None][2] == (0, False, 1, None)
    assert found[1] == found[2] == found[None]


def test_people_naming_an_organisation_row_refused_by_a_new_customer_are_not_linked_to_it(
    company, tmp_path
):
    def state():
        made = Customer.objects.get(name="华瑞科技有限公司")
        return (
            Customer.objects.filter(organization=made).count(),
            Customer.objects.filter(name="韩梅梅").exists(),
            made.external_id,
        )

    found = outcomes(
        company.admin,
        tmp_path,
        HEADER
        # made, with every tag it may have, and no external id
        + f",华瑞科技有限公司,organization,021-62345678,info@huarui.example.com,"
        f"{';'.join(FULL_TAGS)},\n"
        # merged into it, which would take O1, but one tag too many
        "O1,华瑞科技有限公司,organization,021-62345678,info@huarui.example.com,one more,\n"
        "P1,韩梅梅,person,,,,O1\n",  # a new person of O1
        state,
    )
    counts, reasons, _state = found[None]
    assert counts == (3, 1, 0, 0, 2)
    assert TOO_MANY_TAGS in reasons[3]
    assert reasons[4] == NO_ORGANISATION
    assert found[None][2] == (0, False, None)
    assert found[1] == found[2] == found[None]
