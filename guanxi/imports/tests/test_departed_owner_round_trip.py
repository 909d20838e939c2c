"""An export of customers whose account manager has left (their user inactive, the customers not
handed over yet) imports back: a row naming a customer's owner as it is assigns nothing, so it
is not refused for who that owner is. A row that would give a customer to that user — a new one,
or one owned by someone else — still is, naming the owner column."""

import csv
import io

import pytest
from django.utils import translation

from guanxi.customers.exports import customers_export_csv
from guanxi.customers.models import Customer
from guanxi.customers.services import customer_create
from guanxi.imports.services import import_job_create, import_job_run

pytestmark = pytest.mark.django_db


def run(actor, path, **options):
    job = import_job_run(
        job=import_job_create(
            actor=actor, path=path, filename=path.name, kind="customers", **options
        )
    )
    # Every row read is created, updated, merged or rejected; "changed nothing" counts those
    # updated or merged that left their customer as it was.
    assert job.created + job.updated + job.merged + job.rejected == job.rows_read
    assert job.unchanged <= job.updated + job.merged
    return job


def leave(user):
    # As a user switched off before their customers were handed over.
    user.is_active = False
    user.save(update_fields=["is_active"])


def test_an_export_of_a_departed_reps_customers_imports_back(company, tmp_path):
    for name, city in (("王芳", "杭州"), ("李雷", "苏州")):
        customer_create(
            actor=company.rep,
            data={"name": name, "addresses": [{"street": "人民路 1 号", "city": city}]},
        )
    leave(company.rep)
    theirs = set(Customer.objects.filter(owner=company.rep).values_list("pk", flat=True))
    assert len(theirs) == 3  # the fixture's customer and the two above
    with translation.override("en"):
        content = customers_export_csv(actor=company.manager)
    rows = list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))
    assert {int(row["id"]) for row in rows if row["owner"] == "rep"} == theirs
    # The manager puts one company right and imports the file back as it is otherwise.
    for row in rows:
        if row["name"] == "李雷":
            row["company"] = "无锡电机"
    path = tmp_path / "customers.csv"
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)

    job = run(company.manager, path)

    assert list(job.errors.values_list("reason", flat=True)) == []
    assert (job.rows_read, job.rejected, job.created) == (len(rows), 0, 0)
    assert (job.updated, job.unchanged) == (len(rows), len(rows) - 1)
    assert set(Customer.objects.filter(owner=company.rep).values_list("pk", flat=True)) == theirs
    assert Customer.objects.get(name="李雷").company == "无锡电机"


def test_a_new_customer_for_a_departed_rep_is_refused_naming_the_owner(company, tmp_path):
    leave(company.rep)
    path = tmp_path / "new.csv"
    path.write_text("name,owner,city\n赵敏,rep,上海\n周杰,teammate,上海\n", encoding="utf-8")
    job = run(company.manager, path)
    assert (job.rows_read, job.created, job.rejected) == (2, 1, 1)
    [error] = job.errors.all()
    assert error.row_number == 2
    assert error.reason.startswith("owner") and "no active user" in error.reason
    assert not Customer.objects.filter(name="赵敏").exists()


def test_giving_a_customer_to_a_departed_rep_is_refused(company, tmp_path):
    customer = customer_create(
        actor=company.teammate, data={"name": "韩梅梅", "external_id": "ERP-5"}
    )
    leave(company.rep)
    path = tmp_path / "update.csv"
    path.write_text("external_id,name,owner,city\nERP-5,韩梅梅,rep,南京\n", encoding="utf-8")
    job = run(company.manager, path)
    assert (job.rows_read, job.updated, job.rejected) == (1, 0, 1)
    [error] = job.errors.all()
    assert error.reason.startswith("owner") and "no active user" in error.reason
    customer.refresh_from_db()
    assert customer.owner_id == company.teammate.pk
    assert not customer.addresses.exists()


def test_a_later_row_of_a_new_customer_cannot_give_it_to_a_departed_rep(company, tmp_path):
    leave(company.rep)
    path = tmp_path / "two.csv"
    path.write_text("external_id,name,owner\nN-1,赵敏,teammate\nN-1,赵敏,rep\n", encoding="utf-8")
    job = run(company.manager, path)
    assert (job.rows_read, job.created, job.updated, job.rejected) == (2, 1, 0, 1)
    [error] = job.errors.all()
    assert error.row_number == 3 and error.reason.startswith("owner")
    assert Customer.objects.get(external_id="N-1").owner_id == company.teammate.pk


def test_a_row_merged_into_a_departed_reps_customer_keeps_them_as_its_owner(company, tmp_path):
    # A sure duplicate merged in (--dedup auto) updates that customer: naming the owner it has,
    # or none, assigns nothing, as an update by external id does.
    customer = customer_create(
        actor=company.rep,
        data={"name": "王芳", "phones": ["13812345678"], "emails": ["wang.fang@example.com"]},
    )
    leave(company.rep)
    path = tmp_path / "merge.csv"
    path.write_text(
        "name,phone,email,owner,city\n"
        "王芳,13812345678,wang.fang@example.com,rep,杭州\n"
        "王芳,138 1234 5678,WANG.FANG@example.com,,\n",
        encoding="utf-8",
    )
    job = run(company.manager, path)  # the import's default: --dedup auto
    assert list(job.errors.values_list("reason", flat=True)) == []
    assert (job.rows_read, job.merged, job.created, job.rejected) == (2, 2, 0, 0)
    customer.refresh_from_db()
    assert customer.owner_id == company.rep.pk
    assert [a.city for a in customer.addresses.all()] == ["杭州"]


def test_a_row_merged_into_a_departed_reps_customer_cannot_name_another_departed_owner(
    company, tmp_path
):
    customer = customer_create(
        actor=company.rep,
        data={"name": "王芳", "phones": ["13812345678"], "emails": ["wang.fang@example.com"]},
    )
    leave(company.rep)
    leave(company.rep_b)
    path = tmp_path / "merge.csv"
    path.write_text(
        "name,phone,email,owner,city\n王芳,13812345678,wang.fang@example.com,rep_b,杭州\n",
        encoding="utf-8",
    )
    job = run(company.manager, path, dedup="auto")
    assert (job.rows_read, job.merged, job.created, job.rejected) == (1, 0, 0, 1)
    [error] = job.errors.all()
    assert error.reason.startswith("owner") and "no active user “rep_b”" in error.reason
    customer.refresh_from_db()
    assert customer.owner_id == company.rep.pk
    assert not customer.addresses.exists()
