"""``guanxi import orders``: every row created, updated or rejected with a reason naming its
column, the counts adding up, rejected rows in the error file, and idempotent re-import."""

import csv
import datetime as dt
import json
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command

from guanxi.audit.models import AuditEvent
from guanxi.customers.models import Customer
from guanxi.imports.models import ImportJob, ImportRowError
from guanxi.imports.order_import import parse_money
from guanxi.imports.services import import_job_create, import_job_run
from guanxi.orders.models import Order

pytestmark = pytest.mark.django_db

HEADER = (
    "external_id,customer_external_id,ordered_on,amount,cost,gross_margin,currency,channel,"
    "status,notes\n"
)


@pytest.fixture
def customers(company):
    Customer.objects.filter(pk=company.rep_customer.pk).update(external_id="K1")
    Customer.objects.filter(pk=company.west_customer.pk).update(external_id="W1")
    return company.rep_customer, company.west_customer


def run(tmp_path, text, actor, name="orders.csv", **options):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    job = import_job_create(actor=actor, path=path, filename=name, kind="orders", **options)
    return import_job_run(job=job, batch_size=3)


GOOD_AND_BAD = (
    HEADER
    + 'O1,K1,2026-03-02,"¥1,200.00",800,,CNY,web,completed,首单\n'
    + "O2,K1,2026/03/05,300,,50,,store,refunded,\n"
    + "O3,W1,2026-03-06,10,,,,,,\n"  # not the rep's customer to change
    + "O4,K9,2026-03-06,10,,,,,,\n"  # no such customer
    + "O5,K1,someday,10,,,,,,\n"  # not a date
    + "O6,K1,2026-03-06,ten,,,,,,\n"  # not an amount
    + "O7,K1,2026-03-06,10,,,,,lost,\n"  # no such status
    + "O8,K1,2026-03-06,10,,,,pigeon,,\n"  # no such channel
    + ",K1,2026-03-07,20,,,,,,\n"  # no external id: created, not idempotent
)


def test_rows_are_created_or_rejected_naming_the_column(company, customers, tmp_path):
    job = run(tmp_path, GOOD_AND_BAD, company.rep)
    assert (job.rows_read, job.created, job.updated, job.rejected) == (9, 3, 0, 6)
    assert job.accounted == job.rows_read
    first = Order.objects.get(external_id="O1")
    assert (first.amount, first.cost, first.gross_margin) == (
        Decimal("1200.00"),
        Decimal("800.00"),
        Decimal("400.00"),
    )
    assert (first.channel, first.status, first.notes) == ("web", "completed", "首单")
    second = Order.objects.get(external_id="O2")
    assert (second.ordered_on, second.gross_margin, second.status) == (
        dt.date(2026, 3, 5),
        Decimal("50.00"),
        "refunded",
    )
    reasons = dict(ImportRowError.objects.filter(job=job).values_list("row_number", "reason"))
    assert reasons[4].startswith("customer_external_id:") and "W1" in reasons[4]
    assert reasons[5].startswith("customer_external_id:") and "K9" in reasons[5]
    assert reasons[6].startswith("ordered_on:")
    assert reasons[7].startswith("amount:")
    assert reasons[8].startswith("status:")
    assert reasons[9].startswith("channel:")
    events = AuditEvent.objects.filter(object_type="order")
    assert events.count() == 3
    assert set(events.values_list("customer_id", flat=True)) == {company.rep_customer.pk}


def test_reimport_is_idempotent_and_corrections_update(company, customers, tmp_path):
    text = HEADER + "O1,K1,2026-03-02,100,,,,,paid,\nO2,K1,2026-03-03,50,,,,,,\n"
    run(tmp_path, text, company.rep)
    again = run(tmp_path, text, company.rep)
    assert (again.created, again.updated, again.unchanged, again.rejected) == (0, 2, 2, 0)
    assert Order.objects.count() == 2
    corrected = run(tmp_path, text.replace(",paid,", ",refunded,"), company.rep)
    assert (corrected.updated, corrected.unchanged) == (2, 1)
    order = Order.objects.get(external_id="O1")
    assert (order.status, order.version) == ("refunded", 2)
    update = AuditEvent.objects.get(object_type="order", action="update")
    assert update.changes == {"status": {"before": "paid", "after": "refunded"}}


def test_an_order_of_a_customer_out_of_reach_is_not_rewritten(company, customers, tmp_path):
    run(tmp_path, HEADER + "O1,W1,2026-03-02,100,,,,,,\n", company.admin)
    job = run(tmp_path, HEADER + "O1,K1,2026-03-02,1,,,,,,\n", company.rep)
    assert (job.created, job.updated, job.rejected) == (0, 0, 1)
    order = Order.objects.get(external_id="O1")
    assert (order.customer_id, order.amount) == (company.west_customer.pk, Decimal("100.00"))
    assert ImportRowError.objects.get(job=job).reason.startswith("external_id:")


def test_dry_run_writes_nothing(company, customers, tmp_path):
    job = run(tmp_path, GOOD_AND_BAD, company.rep, dry_run=True)
    assert (job.created, job.rejected) == (3, 6)
    assert not Order.objects.exists()
    assert not AuditEvent.objects.filter(object_type="order").exists()


def test_the_command_with_a_mapping_and_an_error_file(company, customers, tmp_path):
    path = tmp_path / "订单.csv"
    path.write_text("订单号,客户编号,下单日期,金额,状态\nA1,K1,2026-03-02,99.5,paid\nA2,K1,,1,\n")
    mapping = tmp_path / "mapping.json"
    mapping.write_text(
        json.dumps(
            {
                "订单号": "external_id",
                "客户编号": "customer_external_id",
                "下单日期": "ordered_on",
                "金额": "amount",
                "状态": "status",
            }
        )
    )
    errors = tmp_path / "rejected.csv"
    out = StringIO()
    call_command(
        "import",
        "orders",
        str(path),
        "--mapping",
        str(mapping),
        "--user",
        "rep",
        "--errors",
        str(errors),
        stdout=out,
        stderr=StringIO(),
    )
    assert "2 rows read — 1 created, 0 updated, 0 merged, 1 rejected." in out.getvalue()
    with errors.open(encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["订单号"] for r in rows] == ["A2"]
    assert rows[0]["import_error"].startswith("下单日期 (ordered_on):")
    assert Order.objects.get(external_id="A1").amount == Decimal("99.50")
    assert ImportJob.objects.get().kind == "orders"


def test_money_parsing():
    assert parse_money("¥1,234.5") == Decimal("1234.50")
    assert parse_money("12.3000001") == Decimal("12.30")
    assert parse_money("-3") == Decimal("-3.00")
    for bad in ("ten", "NaN", "Infinity", "1e13", "", "1E+999999999", "-1e999999999"):
        assert parse_money(bad) is None, bad
