"""An order import started by someone who is deactivated while it runs, with a customer of
theirs in the batch. The import locks the batch's customers; the database locked the importing
user, whom the new orders name, only as the batch committed. The deactivation, holding the user
and waiting for their customers to hand them over, and the import, holding a customer and
waiting for the user, each waited for the other: a deadlock. Real concurrency needs
PostgreSQL."""

from guanxi.accounts.models import User
from guanxi.accounts.roles import Role
from guanxi.accounts.services import POOL, user_deactivate
from guanxi.core.testing.factories import UserFactory
from guanxi.core.testing.merging import CONCURRENT
from guanxi.core.testing.threads import hold_after_first, second_waits_for_first
from guanxi.customers.models import Customer
from guanxi.customers.services import customer_create
from guanxi.imports.linked_rows import LinkedRowImporter
from guanxi.imports.models import ImportJob
from guanxi.imports.services import import_job_create, import_job_run
from guanxi.orders.models import Order

pytestmark = CONCURRENT


def test_an_order_import_and_the_deactivation_of_who_started_it_do_not_deadlock(
    company, tmp_path, monkeypatch
):
    leaver = UserFactory(username="manager_east_2", role=Role.MANAGER, department=company.east)
    theirs = customer_create(
        actor=company.admin, data={"name": "西湖茶庄", "owner_id": leaver.pk, "external_id": "K1"}
    )
    path = tmp_path / "orders.csv"
    path.write_text(
        "external_id,customer_external_id,ordered_on,amount\nO1,K1,2026-03-02,100\n",
        encoding="utf-8",
    )
    job = import_job_create(actor=leaver, path=path, filename=path.name, kind="orders")
    # Held once the batch's customers are locked, before anything is written.
    hold = hold_after_first(monkeypatch, LinkedRowImporter, "_locked", thread="import")

    results = second_waits_for_first(
        lambda: import_job_run(job=ImportJob.objects.get(pk=job.pk)),
        lambda: user_deactivate(actor=company.admin, user_id=leaver.pk, hand_over_to=POOL),
        hold,
        names=("import", "deactivate"),
    )

    assert results["import"][0] == "ok", results["import"][-1]
    assert results["deactivate"][0] == "ok", results["deactivate"][-1]
    assert not User.objects.get(pk=leaver.pk).is_active
    assert Order.objects.get(external_id="O1").customer_id == theirs.pk
    assert Customer.objects.get(pk=theirs.pk).owner_id is None
