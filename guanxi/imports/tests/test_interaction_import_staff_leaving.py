"""An interaction import naming, as the staff of its contacts, someone who is deactivated while
it runs. The staff were looked up, active, once for the whole import; the batch then wrote the
contacts without locking them (the database locked them only as it committed, after the
deactivation had), so it made a contact of someone who had just left. Real concurrency needs
PostgreSQL."""

from guanxi.accounts.models import User
from guanxi.accounts.services import POOL, user_deactivate
from guanxi.core.testing.merging import CONCURRENT
from guanxi.core.testing.threads import hold_before, second_waits_for_first
from guanxi.customers import services as customer_services
from guanxi.customers.services import customer_create
from guanxi.imports.models import ImportJob
from guanxi.imports.services import import_job_create, import_job_run
from guanxi.interactions.models import Interaction

pytestmark = CONCURRENT


def test_rows_naming_staff_deactivated_meanwhile_are_refused_for_the_staff(
    company, tmp_path, monkeypatch
):
    customer_create(actor=company.rep, data={"name": "张伟", "external_id": "K1"})
    path = tmp_path / "contacts.csv"
    path.write_text(
        "external_id,customer_external_id,subject,occurred_at,staff\n"
        "I1,K1,来电询价,2026-03-02 10:30,teammate\n"
        "I2,K1,回访,2026-03-03 10:30,rep\n",
        encoding="utf-8",
    )
    job = import_job_create(actor=company.admin, path=path, filename=path.name, kind="interactions")
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
    assert not Interaction.objects.filter(staff=company.teammate).exists()
    assert Interaction.objects.get(external_id="I2").staff_id == company.rep.pk
    job.refresh_from_db()
    assert (job.created, job.rejected) == (1, 1)
    (error,) = job.errors.all()
    assert error.row_number == 2
    assert error.reason == "staff: no active user “teammate”"
