"""A row rejected for its cells (a phone that is no phone, say) is also told of what would
refuse it once those are put right, where that is certain already: a row that can only make a
new customer — no Guanxi id, and no external id that names a customer or an earlier row of the
file — needs the required custom fields and an owner who may be given customers. Otherwise the
user fixes the file, imports it again, and only then learns the second problem.

Where the row could have gone into an existing customer (by its external id, its Guanxi id, or,
with ``--dedup auto``, as a sure duplicate), those checks may not apply, and it is not told of
them; with ``--dedup auto`` an owner who has no customer the importer may change is still
certain to be refused, since the row cannot merge into a customer of theirs."""

import csv
import io

import pytest

from guanxi.customers.models import Customer, CustomFieldDefinition
from guanxi.customers.services import customer_create
from guanxi.imports.models import ImportJob
from guanxi.imports.reasons import reason_field, render_stored_reasons
from guanxi.imports.services import import_job_create, import_job_run, write_error_rows

pytestmark = pytest.mark.django_db


def run(actor, path, **options):
    job = import_job_run(
        job=import_job_create(
            actor=actor, path=path, filename=path.name, kind="customers", **options
        )
    )
    assert job.created + job.updated + job.merged + job.rejected == job.rows_read
    assert job.errors.count() == job.rejected
    return job


@pytest.fixture
def contract_no(db):
    return CustomFieldDefinition.objects.create(
        key="contract_no", label="Contract number", field_type="text", required=True
    )


def leave(user):
    user.is_active = False
    user.save(update_fields=["is_active"])


def fields_of(error) -> list[str]:
    """The fields a rejected row's reasons are about, in order."""
    return [reason_field(render_stored_reasons([item], fallback="")) for item in error.reasons]


def reasons_by_row(job: ImportJob) -> dict[int, list[str]]:
    return {error.row_number: fields_of(error) for error in job.errors.order_by("row_number")}


@pytest.mark.parametrize("dedup", ["review", "off"])
def test_a_row_that_can_only_be_new_is_told_every_reason_at_once(
    company, contract_no, tmp_path, dedup
):
    leave(company.rep)
    path = tmp_path / "new.csv"
    path.write_text(
        "external_id,name,phone,owner,contract_no\n"
        ",韩梅梅,12345,rep,\n"  # no external id
        "N-1,赵敏,12345,rep,\n"  # an external id nothing has
        "N-2,周杰,12345,teammate,\n"  # an active owner: only the custom field
        "N-3,李雷,12345,rep,C-3\n",  # the custom field filled: only the owner
        encoding="utf-8",
    )
    job = run(company.manager, path, dedup=dedup)
    assert (job.rows_read, job.rejected) == (4, 4)
    assert reasons_by_row(job) == {
        2: ["phone", "owner", "contract_no"],
        3: ["phone", "owner", "contract_no"],
        4: ["phone", "contract_no"],
        5: ["phone", "owner"],
    }
    [error] = job.errors.filter(row_number=2)
    assert "no active user" in error.reason and "this custom field is required" in error.reason
    # The error file keeps its columns: the reasons share the one cell, as several always have.
    handle = io.StringIO()
    write_error_rows(job, handle)
    lines = list(csv.reader(io.StringIO(handle.getvalue())))
    assert lines[0] == [
        "external_id",
        "name",
        "phone",
        "owner",
        "contract_no",
        *lines[0][5:],
    ]
    assert len(lines[0]) == 7 and all(len(line) == 7 for line in lines)
    assert lines[1][5] == "2" and lines[1][6] == error.reason_text
    assert not Customer.objects.filter(name__in=["韩梅梅", "赵敏", "周杰", "李雷"]).exists()


def test_a_row_that_may_update_a_customer_is_not_told_what_binds_new_ones(
    company, contract_no, tmp_path
):
    stored = customer_create(
        actor=company.rep,
        data={"name": "王芳", "external_id": "ERP-1", "custom_fields": {"contract_no": "C-1"}},
    )
    leave(company.rep)
    path = tmp_path / "update.csv"
    path.write_text(
        "external_id,name,phone,owner\n"
        "ERP-1,王芳,12345,rep\n"  # updates the departed rep's own customer: they stay its owner
        "N-5,孙丽,13700001111,teammate\n"
        "N-5,孙丽,12345,rep\n",  # would follow the row above into the customer it makes
        encoding="utf-8",
    )
    job = run(company.manager, path, dedup="review")
    assert (job.rows_read, job.created, job.rejected) == (3, 0, 3)
    # The second row is refused for its own missing custom field; the third is told only of its
    # phone, as an update of what the second would make.
    assert reasons_by_row(job) == {2: ["phone"], 3: ["contract_no"], 4: ["phone"]}
    stored.refresh_from_db()
    assert stored.owner_id == company.rep.pk


def test_a_row_by_guanxi_id_is_not_told_what_binds_new_ones(company, contract_no, tmp_path):
    stored = customer_create(
        actor=company.rep, data={"name": "王芳", "custom_fields": {"contract_no": "C-1"}}
    )
    leave(company.rep)
    path = tmp_path / "by_id.csv"
    path.write_text(f"guanxi_id,name,phone,owner\n{stored.pk},王芳,12345,rep\n", encoding="utf-8")
    job = run(company.manager, path, dedup="review")
    assert reasons_by_row(job) == {2: ["phone"]}


def test_a_later_row_of_the_same_new_customer_may_still_fill_the_field(
    company, contract_no, tmp_path
):
    path = tmp_path / "two.csv"
    path.write_text(
        "external_id,name,phone,contract_no\nN-7,周杰,12345,\nN-7,周杰,13700001111,C-7\n",
        encoding="utf-8",
    )
    job = run(company.manager, path, dedup="review")
    assert (job.rows_read, job.created, job.rejected) == (2, 1, 1)
    # Put right, the first row makes the customer and the second fills its field.
    assert reasons_by_row(job) == {2: ["phone"]}


def test_with_dedup_auto_only_an_owner_with_nothing_to_merge_into_is_certain(
    company, contract_no, tmp_path
):
    # The departed rep still owns customers the manager may change: a row naming them might
    # have merged into one of those, and kept them. So might it have into a customer that
    # has the custom field filled. The west rep's customers are not the manager's to change,
    # so a row naming the west rep could only be created, or merged into a customer with
    # another owner: refused either way.
    leave(company.rep)
    path = tmp_path / "auto.csv"
    path.write_text(
        "name,phone,owner,contract_no\n韩梅梅,12345,rep,\n赵敏,12345,rep_west,\n",
        encoding="utf-8",
    )
    job = run(company.manager, path, dedup="auto")
    assert reasons_by_row(job) == {2: ["phone"], 3: ["phone", "owner"]}


def test_a_dry_run_tells_the_same(company, contract_no, tmp_path):
    leave(company.rep)
    path = tmp_path / "check.csv"
    path.write_text("name,phone,owner\n韩梅梅,12345,rep\n", encoding="utf-8")
    job = run(company.manager, path, dedup="review", dry_run=True)
    assert (job.rows_read, job.rejected) == (1, 1)
    assert reasons_by_row(job) == {2: ["phone", "owner", "contract_no"]}
