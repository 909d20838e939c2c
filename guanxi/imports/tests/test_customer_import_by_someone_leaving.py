"""A customer import started by someone who is deactivated while it runs. They are the default
owner of every new customer without an owner cell; the import locked only the owners the rows
named, so it gave the new customers to someone who had just left, after their hand-over had
emptied their book. Real concurrency needs PostgreSQL."""

from django.core.exceptions import PermissionDenied

from guanxi.accounts.roles import Role
from guanxi.accounts.services import POOL, user_deactivate
from guanxi.core.testing.factories import UserFactory
from guanxi.core.testing.merging import CONCURRENT
from guanxi.core.testing.threads import hold_before, second_waits_for_first
from guanxi.customers import services as customer_services
from guanxi.customers.models import Customer
from guanxi.customers.services import customer_create
from guanxi.imports.models import ImportJob
from guanxi.imports.services import import_job_create, import_job_run

pytestmark = CONCURRENT


def test_an_import_by_someone_deactivated_meanwhile_stops_with_nothing_written(
    company, tmp_path, monkeypatch
):
    leaver = UserFactory(username="manager_east_2", role=Role.MANAGER, department=company.east)
    customer_create(actor=company.admin, data={"name": "西湖茶庄", "owner_id": leaver.pk})
    path = tmp_path / "customers.csv"
    path.write_text("external_id,name,phone\nN1,周杰,13912345678\n", encoding="utf-8")
    job = import_job_create(actor=leaver, path=path, filename=path.name, kind="customers")
    # Held once the leaver is locked, before the customers they own are.
    hold = hold_before(monkeypatch, customer_services, "customers_reassign", thread="deactivate")

    results = second_waits_for_first(
        lambda: user_deactivate(actor=company.admin, user_id=leaver.pk, hand_over_to=POOL),
        lambda: import_job_run(job=ImportJob.objects.get(pk=job.pk)),
        hold,
        names=("deactivate", "import"),
        seconds=10,
    )

    assert results["deactivate"][0] == "ok", results["deactivate"][-1]
    outcome = results["import"]
    assert outcome[0] == "error" and isinstance(outcome[1], PermissionDenied), outcome[-1]
    assert not Customer.objects.filter(external_id="N1").exists()
    assert not Customer.objects.filter(owner=leaver).exists()
    job.refresh_from_db()
    assert job.status == ImportJob.Status.FAILED
    assert job.message == (
        "manager_east_2, who started this import, has been deactivated: the import stopped."
    )
