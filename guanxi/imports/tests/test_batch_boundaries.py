"""Where the batches of a file end changes nothing: a row with the external id of an earlier
rejected row is treated the same whether that row was in its batch or an earlier one, and a
resumed import does what an uninterrupted one would. (Rows before were told as if first, and
one following a rejected row made the customer, once a batch boundary fell between them.)"""

import pytest

from guanxi.customers.models import Customer
from guanxi.customers.services import customer_create
from guanxi.imports.models import ImportJob, ImportRememberedId
from guanxi.imports.services import import_job_create, import_job_run

pytestmark = pytest.mark.django_db

FILE = (
    "external_id,name,phone,email,owner\n"
    "E1,韩梅梅,13812340001,,rep\n"  # its owner has left: rejected
    "E1,韩梅梅,13812340002,,\n"  # follows the rejected row: rejected too, with its reason
    "E2,赵敏,13812340003,bad-email,\n"  # a bad email
    "E2,赵敏,13812340004,also-bad,rep\n"  # not the first with E2: told of its email only
    "E3,周杰,13812340005,,\n"  # made
    "E3,周杰,13812340006,,\n"  # updates it
)


class Stop(BaseException):
    """Stands for Ctrl-C: the import is interrupted between batches."""


def leave(user):
    user.is_active = False
    user.save(update_fields=["is_active"])


def outcome(job: ImportJob) -> tuple:
    job.refresh_from_db()
    counts = (job.rows_read, job.created, job.updated, job.merged, job.rejected, job.unchanged)
    reasons = {error.row_number: error.reason_text for error in job.errors.order_by("row_number")}
    customers = sorted(
        (customer.external_id, sorted(customer.phones.values_list("number", flat=True)))
        for customer in Customer.objects.filter(external_id__startswith="E")
    )
    return counts, reasons, customers


def imported(actor, path, batch_size=None) -> tuple:
    job = import_job_create(actor=actor, path=path, filename=path.name, kind="customers")
    job = import_job_run(job=job, batch_size=batch_size)
    assert job.status == ImportJob.Status.FINISHED, job.message
    return outcome(job)


def undo():
    Customer.objects.filter(external_id__startswith="E").delete()


@pytest.fixture
def path(company, tmp_path):
    leave(company.rep)
    path = tmp_path / "people.csv"
    path.write_text(FILE, encoding="utf-8")
    return path


def test_one_batch_and_a_row_a_batch_end_alike(company, path):
    whole = imported(company.manager, path)
    undo()
    one_by_one = imported(company.manager, path, batch_size=1)
    assert one_by_one == whole
    counts, reasons, customers = whole
    assert counts == (6, 1, 1, 0, 4, 0)
    assert sorted(reasons) == [2, 3, 4, 5]
    assert reasons[3] == reasons[2] and "owner" in reasons[2]
    assert "email" in reasons[5] and "owner" not in reasons[5]
    assert [external_id for external_id, _phones in customers] == ["E3"]


def test_a_resumed_import_ends_as_an_uninterrupted_one(company, path):
    whole = imported(company.manager, path)
    undo()
    for stop_after in (1, 3):
        batches = []

        def interrupt(count, stop_after=stop_after, batches=batches):
            batches.append(count)
            if len(batches) > stop_after:
                raise Stop

        job = import_job_create(
            actor=company.manager, path=path, filename=path.name, kind="customers"
        )
        with pytest.raises(Stop):
            import_job_run(job=job, batch_size=1, progress=interrupt)
        job.refresh_from_db()
        assert job.status == ImportJob.Status.INTERRUPTED
        assert job.rows_read == stop_after
        job = import_job_run(job=job, batch_size=1)
        assert job.status == ImportJob.Status.FINISHED, job.message
        assert outcome(job) == whole
        # Kept only for a resume: a finished import leaves none behind.
        assert not ImportRememberedId.objects.filter(job=job).exists()
        undo()


def test_a_row_after_one_merged_into_a_customer_with_another_id_is_not_told_as_first(
    company, tmp_path
):
    """The merged row's id is nobody's, yet the rejected row after it would follow it: it is
    not told what binds a new customer, whichever batch the merged row was in."""
    customer_create(
        actor=company.admin,
        data={
            "name": "张伟",
            "external_id": "K1",
            "phones": ["13812345678"],
            "emails": ["zw@example.com"],
        },
    )
    leave(company.analyst)  # owns no customer: with --dedup auto, surely no owner to be given
    path = tmp_path / "merged.csv"
    path.write_text(
        "external_id,name,phone,email,owner\n"
        "M1,張偉,+86 138 1234 5678,ZW@example.com,\n"  # merged into K1, which keeps its id
        "M1,李雷,12345,,analyst\n",  # a bad phone
        encoding="utf-8",
    )
    outcomes = []
    for batch_size in (None, 1):
        job = import_job_create(
            actor=company.admin, path=path, filename=path.name, kind="customers", dedup="auto"
        )
        job = import_job_run(job=job, batch_size=batch_size)
        outcomes.append(outcome(job))
    assert outcomes[1] == outcomes[0]
    counts, reasons, _customers = outcomes[0]
    assert counts == (2, 0, 0, 1, 1, 1)
    assert "phone" in reasons[3] and "owner" not in reasons[3]
