"""A customer export read while its customers change: whichever moment a change lands, every row
the export holds is a whole customer, with all the phones, emails, address and tags it has, and
never a customer the exporter may not see."""

import pytest
from django.db import connection

from guanxi.core.testing.factories import CustomerFactory
from guanxi.customers.models import Address, Customer, Email, Phone, Tag

from .test_exports import FORMATS, export_values

pytestmark = pytest.mark.django_db


def customer_with_everything(owner) -> Customer:
    customer = CustomerFactory(name="有电话的客户", owner=owner)
    Phone.objects.create(customer=customer, number="+8613900000001", display="+86 139 0000 0001")
    Email.objects.create(customer=customer, address="kehu@example.cn")
    Address.objects.create(customer=customer, street="南京西路 1 号", city="上海")
    customer.tags.add(Tag.objects.create(name="VIP"))
    return customer


def changed_before_query(number: int, change):
    """An execute wrapper that makes ``change`` before the ``number``-th read (from 0) the code
    under it sends, as another user's request could between two of its queries."""
    reads = 0

    def wrapper(execute, sql, params, many, context):
        nonlocal reads
        if reads is not None and sql.lstrip().upper().startswith("SELECT"):
            if reads == number:
                reads = None
                change()
            else:
                reads += 1
        return execute(sql, params, many, context)

    return connection.execute_wrapper(wrapper)


def assert_whole_or_absent(rows, name: str):
    mine = [row for row in rows if row["name"] == name]
    assert len(mine) <= 1
    for row in mine:
        assert "0001" in row["phones"]
        assert row["emails"] == "kehu@example.cn"
        assert (row["address"], row["city"]) == ("南京西路 1 号", "上海")
        assert row["tags"] == "VIP"


@pytest.mark.parametrize("export_format", FORMATS)
@pytest.mark.parametrize("read", range(9))
def test_a_customer_handed_to_the_exporter_midway_is_exported_whole_or_not_at_all(
    company, export_format, read
):
    customer = customer_with_everything(owner=company.rep_b)  # not shared with the rep's team

    def hand_over():
        Customer.objects.filter(pk=customer.pk).update(owner=company.rep)

    with changed_before_query(read, hand_over):
        rows = export_values(export_format, actor=company.rep)
    assert_whole_or_absent(rows, customer.name)


@pytest.mark.parametrize("export_format", FORMATS)
@pytest.mark.parametrize("read", range(9))
def test_a_customer_taken_from_the_exporter_midway_is_exported_whole_or_not_at_all(
    company, export_format, read
):
    customer = customer_with_everything(owner=company.rep)

    def take_away():
        Customer.objects.filter(pk=customer.pk).update(owner=company.rep_b)

    with changed_before_query(read, take_away):
        rows = export_values(export_format, actor=company.rep)
    assert_whole_or_absent(rows, customer.name)
    assert all(row["name"] != company.rep_b_customer.name for row in rows)
