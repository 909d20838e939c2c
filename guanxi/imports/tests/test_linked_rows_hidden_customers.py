"""An order or interaction import never tells which customers exist: a row naming a customer
the importer may not see (by Guanxi id or external id), or one in the recycle bin, is rejected
with the reason a row naming no customer at all gets. Only a customer in sight that the
importer may not act on is refused as such."""

import pytest
from django.db.models import Max
from django.utils import timezone

from guanxi.customers.models import Customer
from guanxi.imports.models import ImportRowError
from guanxi.imports.services import import_job_create, import_job_run

pytestmark = pytest.mark.django_db

ROWS = {
    "orders": ("customer_id,ordered_on,amount\n", "{ref},2026-03-01,10\n"),
    "interactions": ("customer_id,channel,subject\n", "{ref},phone,Call\n"),
}
BY_EXTERNAL_ID = {
    "orders": ("customer_external_id,ordered_on,amount\n", "{ref},2026-03-01,10\n"),
    "interactions": ("customer_external_id,channel,subject\n", "{ref},phone,Call\n"),
}


def _reasons(tmp_path, actor, kind: str, rows: tuple[str, str], refs: list) -> list[str]:
    header, line = rows
    path = tmp_path / f"{kind}.csv"
    path.write_text(header + "".join(line.format(ref=ref) for ref in refs))
    job = import_job_create(actor=actor, path=path, filename=path.name, kind=kind)
    import_job_run(job=job)
    errors = ImportRowError.objects.filter(job=job).order_by("row_number")
    return list(errors.values_list("reason", flat=True))


@pytest.mark.parametrize("kind", sorted(ROWS))
def test_a_customer_out_of_sight_is_no_customer_by_guanxi_id(company, tmp_path, kind):
    hidden = company.west_customer
    binned = company.rep_customer
    Customer.objects.filter(pk=binned.pk).update(deleted_at=timezone.now())
    nobody = Customer.objects.aggregate(top=Max("pk"))["top"] + 1000
    reasons = _reasons(tmp_path, company.rep, kind, ROWS[kind], [hidden.pk, binned.pk, nobody])
    assert reasons == [
        f"customer_id: no customer {hidden.pk}",
        f"customer_id: no customer {binned.pk}",
        f"customer_id: no customer {nobody}",
    ]


@pytest.mark.parametrize("kind", sorted(ROWS))
def test_a_customer_out_of_sight_is_no_customer_by_external_id(company, tmp_path, kind):
    Customer.objects.filter(pk=company.west_customer.pk).update(external_id="W1")
    reasons = _reasons(tmp_path, company.rep, kind, BY_EXTERNAL_ID[kind], ["W1", "W2"])
    assert reasons == [
        "customer_external_id: no customer W1",
        "customer_external_id: no customer W2",
    ]


def test_a_customer_in_sight_but_not_to_change_is_refused_as_such(company, tmp_path):
    # The rep sees their teammate's customers (the team shares for viewing) but may not book
    # orders for them: that is said, since the rep knows the customer is there.
    shared = company.teammate_customer
    reasons = _reasons(tmp_path, company.rep, "orders", ROWS["orders"], [shared.pk])
    assert reasons == [f"customer_id: no customer {shared.pk} that you may change"]
