"""A row merged into a customer but rejected as it is written (it would take the customer past a
list limit, names an owner who cannot be given customers, or the customer was deleted or given
to someone else after the batch was matched) takes the rows with its external id with it: they
are rejected with its reason, whichever batch they are in and whether or not the import was
interrupted between them, and give that customer nothing. (Those of its batch, or of a later
one, went into the customer as updates, although the merged row never reached it.)"""

import pytest
from django.db import transaction

from guanxi.customers.models import Customer
from guanxi.customers.services import customer_create, customer_delete
from guanxi.customers.validation import MAX_ADDRESSES, MAX_EMAILS, MAX_PHONES, MAX_TAGS
from guanxi.imports.customer_import import CustomerImporter
from guanxi.imports.models import ImportJob
from guanxi.imports.services import import_job_run
from guanxi.imports.tests.test_batch_boundaries import leave
from guanxi.imports.tests.test_merged_row_followed_across_batches import (
    interrupted_after_first_batch,
    job_counts,
    new_job,
)

pytestmark = pytest.mark.django_db

HEADER = "external_id,name,phone,email,job_title,city,tags,owner\n"


def file_led_by(phone="+86 138 1234 5678", email="WF@example.com", city="", tags="", owner=""):
    """The file: its first row is merged into K1 (which keeps its id) and ends rejected; the
    third follows it, changing only the job title, which K1 lacks."""
    return HEADER + (
        f"M1,王芳,{phone},{email},经理,{city},{tags},{owner}\n"
        "N1,李雷,13700000001,,,,,\n"
        "M1,王芳,,,总监,,,\n"
        "N2,韩梅梅,13700000002,,,,,\n"
    )


# What K1 holds besides its phone and email the first row matches it on, the cells of a first
# row taking it one past a list, and what that row is told.
FULL_LISTS = {
    "phones": (
        {"phones": ["13812345678", *(f"136{i:08d}" for i in range(MAX_PHONES - 1))]},
        {"phone": "+86 138 1234 5678;13999999999"},
        f"would have {MAX_PHONES + 1} phone numbers",
    ),
    "emails": (
        {"emails": ["wf@example.com", *(f"p{i}@example.cn" for i in range(MAX_EMAILS - 1))]},
        {"email": "WF@example.com;one.more@example.cn"},
        f"would have {MAX_EMAILS + 1} email addresses",
    ),
    "addresses": (
        {"addresses": [{"city": f"City {i}"} for i in range(MAX_ADDRESSES)]},
        {"city": "杭州"},
        f"would have {MAX_ADDRESSES + 1} addresses",
    ),
    "tags": (
        {"tags": [f"tag {i}" for i in range(MAX_TAGS)]},
        {"tags": "one more"},
        f"would have {MAX_TAGS + 1} tags",
    ),
}


def stored_k1(owner, **extra) -> Customer:
    data = {"name": "王芳", "external_id": "K1", "phones": ["13812345678"]}
    data["emails"] = ["wf@example.com"]
    return customer_create(actor=owner, data={**data, **extra})


def as_it_is(k1: Customer) -> tuple:
    k1 = Customer.objects.get(pk=k1.pk)
    return (
        k1.version,
        k1.job_title,
        k1.owner_id,
        k1.phones.count(),
        k1.emails.count(),
        k1.addresses.count(),
        k1.tags.count(),
    )


def _outcome(job: ImportJob, k1: Customer) -> tuple:
    assert job.status == ImportJob.Status.FINISHED, job.message
    counts = job_counts(job)
    assert sum(counts[1:5]) == counts[0]  # one outcome a row
    assert job.errors.count() == counts[4]
    reasons = {error.row_number: error.reason_text for error in job.errors.all()}
    return counts, reasons, as_it_is(k1), Customer.objects.filter(external_id="M1").count()


def outcomes(actor, path, k1) -> dict:
    """The outcome of the import at each batch size, and interrupted after its first batch and
    resumed, each undone afterwards."""
    found = {}
    for batch_size in (None, 1, 2, 3):
        with transaction.atomic():
            job = import_job_run(job=new_job(actor, path, dedup="auto"), batch_size=batch_size)
            found[batch_size] = _outcome(job, k1)
            transaction.set_rollback(True)
    for batch_size in (1, 2):
        with transaction.atomic():
            job = interrupted_after_first_batch(actor, path, batch_size)
            job = import_job_run(job=job, batch_size=batch_size)
            found[f"resumed {batch_size}"] = _outcome(job, k1)
            transaction.set_rollback(True)
    return found


def assert_followed_into_rejection(found: dict, before: tuple, told: str) -> None:
    """Every arrangement ends alike: the first and third rows rejected with the same reason,
    K1 as it was, and no customer with M1."""
    whole = found[None]
    counts, reasons, k1, made = whole
    assert counts == (4, 2, 0, 0, 2, 0, 0)
    assert sorted(reasons) == [2, 4]  # the header is row 1
    assert reasons[4] == reasons[2] and told in reasons[2]
    assert (k1, made) == (before, 0)
    assert {key: outcome for key, outcome in found.items() if outcome != whole} == {}


def write(tmp_path, content: str):
    path = tmp_path / "merged.csv"
    path.write_text(content, encoding="utf-8")
    return path


@pytest.mark.parametrize("full", list(FULL_LISTS))
def test_rows_following_a_row_merged_past_a_list_limit_are_rejected_with_it(
    company, tmp_path, full
):
    items, cells, told = FULL_LISTS[full]
    k1 = stored_k1(company.admin, **items)
    path = write(tmp_path, file_led_by(**cells))
    found = outcomes(company.admin, path, k1)
    assert_followed_into_rejection(found, as_it_is(k1), told)


def test_rows_following_a_merged_row_naming_an_owner_who_left_are_rejected_with_it(
    company, tmp_path
):
    k1 = stored_k1(company.admin)
    leave(company.rep)  # may stay the owner of their customers, and be given no other
    path = write(tmp_path, file_led_by(owner="rep"))
    found = outcomes(company.admin, path, k1)
    assert_followed_into_rejection(found, as_it_is(k1), "owner")


def _meanwhile(monkeypatch, change) -> None:
    """Have ``change`` made once the batch of the first row is matched, before it locks the
    customers it writes into, as a change committed at that moment would be (once a run: a
    resumed import finds it made)."""
    original = CustomerImporter._locked_customers

    def change_first(self, organisations, changes):
        if self.job.rows_read == 0:
            change()
        return original(self, organisations, changes)

    monkeypatch.setattr(CustomerImporter, "_locked_customers", change_first)


def changed_by(change, k1: Customer) -> tuple:
    """K1 as ``change`` leaves it (and nothing else does)."""
    with transaction.atomic():
        change()
        state = as_it_is(k1)
        transaction.set_rollback(True)
    return state


def test_rows_following_a_row_merged_into_a_customer_deleted_meanwhile_are_rejected_with_it(
    company, tmp_path, monkeypatch
):
    k1 = stored_k1(company.admin)

    def delete():
        customer_delete(actor=company.admin, customer_id=k1.pk)

    _meanwhile(monkeypatch, delete)
    path = write(tmp_path, file_led_by())
    found = outcomes(company.admin, path, k1)
    told = "deleted, merged or given to someone else"
    assert_followed_into_rejection(found, changed_by(delete, k1), told)


def test_rows_following_a_row_merged_into_a_customer_given_away_meanwhile_are_rejected_with_it(
    company, tmp_path, monkeypatch
):
    k1 = stored_k1(company.rep)

    def give_away():
        Customer.objects.filter(pk=k1.pk).update(owner=company.rep_b)

    _meanwhile(monkeypatch, give_away)
    path = write(tmp_path, file_led_by())
    found = outcomes(company.rep, path, k1)
    told = "deleted, merged or given to someone else"
    assert_followed_into_rejection(found, changed_by(give_away, k1), told)


def test_rows_following_a_row_merged_into_a_new_customer_past_a_limit_are_rejected_with_it(
    company, tmp_path
):
    """The customer the merged row would go into is made by the first row of the file: in
    its batch, or stored by an earlier one."""
    tags = ";".join(f"tag {i}" for i in range(MAX_TAGS))
    path = write(
        tmp_path,
        HEADER
        + (
            f",王芳,13812345678,wf@example.com,,,{tags},\n"  # made, with every tag it may have
            "M1,王芳,+86 138 1234 5678,WF@example.com,经理,,one more,\n"  # merged: rejected
            "M1,王芳,,,总监,,,\n"  # follows it
        ),
    )
    found = {}
    for batch_size in (None, 1, 2):
        with transaction.atomic():
            job = import_job_run(
                job=new_job(company.admin, path, dedup="auto"), batch_size=batch_size
            )
            assert job.status == ImportJob.Status.FINISHED, job.message
            counts = job_counts(job)
            reasons = {error.row_number: error.reason_text for error in job.errors.all()}
            made = Customer.objects.get(name="王芳")
            found[batch_size] = (counts, reasons, made.job_title, made.version)
            transaction.set_rollback(True)
    counts, reasons, job_title, version = found[None]
    assert counts == (3, 1, 0, 0, 2, 0, 0)
    assert sorted(reasons) == [3, 4]
    assert reasons[4] == reasons[3] and f"would have {MAX_TAGS + 1} tags" in reasons[3]
    assert (job_title, version) == ("", 1)
    assert found[1] == found[2] == found[None]
