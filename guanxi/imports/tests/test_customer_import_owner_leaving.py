"""A customer import naming an owner who is deactivated while it runs. The owner was looked up,
active, when the rows were checked; the import then wrote the new customers without locking
them, so it gave customers to someone who had just left (or, had they been deleted, failed as
it committed). Real concurrency needs PostgreSQL."""

from guanxi.accounts.models import User
from guanxi.accounts.services import POOL, user_deactivate
from guanxi.core.testing.merging import CONCURRENT
from guanxi.core.testing.threads import hold_before, second_waits_for_first
from guanxi.customers import services as customer_services
from guanxi.customers.models import Customer
from guanxi.imports.models import ImportJob
from guanxi.imports.services import import_job_create, import_job_run

pytestmark = CONCURRENT


def test_rows_naming_an_owner_deactivated_meanwhile_are_refused_for_the_owner(
    company, tmp_path, monkeypatch
):
    path = tmp_path / "customers.csv"
    path.write_text(
        "external_id,name,phone,owner\nN1,周杰,13912345678,teammate\nN2,吴磊,13912345679,rep\n",
        encoding="utf-8",
    )
    job = import_job_create(actor=company.admin, path=path, filename=path.name, kind="customers")
    # Held once the leaver is locked, before the customers they own are.
    hold = hold_before(monkeypatch, customer_services, "customers_reassign", thread="deactivate")

    results = second_waits_for_first(
        lambda: user_deactivate(
            actor=company.admin, user_id=company.teammate.pk, hand_over_to=POOL
        ),
        lambda: import_job_run(job=ImportJob.objects.get(pk=job.pk)),
        hold,
        names=("deactivate", "import"),
    )

    assert results["deactivate"][0] == "ok", results["deactivate"][-1]
    assert results["import"][0] == "ok", results["import"][-1]
    assert not User.objects.get(pk=company.teammate.pk).is_active
    assert not Customer.objects.filter(owner=company.teammate).exists()
    assert Customer.objects.get(external_id="N2").owner_id == company.rep.pk
    job.refresh_from_db()
    assert (job.created, job.rejected) == (1, 1)
    (error,) = job.errors.all()
    assert error.row_number == 2
    assert error.reason.startswith("owner") and "no active user" in error.reason
