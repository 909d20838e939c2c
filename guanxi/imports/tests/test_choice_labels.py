"""Interaction and order imports take a choice cell as its code or as its label, in English or
Chinese, as a customer import does, and a refused one is answered with the labels and codes."""

import pytest
from django.utils import translation

from guanxi.customers.models import Customer
from guanxi.customers.services import customer_create
from guanxi.imports.models import ImportRowError
from guanxi.imports.services import import_job_create, import_job_run
from guanxi.interactions.models import Interaction
from guanxi.orders.models import Order

pytestmark = pytest.mark.django_db

CONTACTS = "external_id,customer_external_id,channel,direction,subject\n"
ORDERS = "external_id,customer_external_id,ordered_on,amount,channel,status\n"


def run(tmp_path, text, actor, kind):
    path = tmp_path / f"{kind}.csv"
    path.write_text(text, encoding="utf-8")
    job = import_job_create(actor=actor, path=path, filename=path.name, kind=kind)
    return import_job_run(job=job)


@pytest.fixture
def customer(company):
    return customer_create(actor=company.rep, data={"name": "张伟", "external_id": "K1"})


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_interaction_choices_by_label(company, customer, tmp_path, back_to_english, language):
    translation.activate(language)
    job = run(
        tmp_path,
        CONTACTS
        + "I1,K1,电话,客户发起,来电\n"
        + "I2,K1,Chat / WeChat,OUTBOUND,聊天\n"
        + "I3,K1,Visit,Inbound,拜访\n"
        + "I4,K1,fax,,传真\n"
        + "I5,K1,飞鸽,,鸽子\n"
        + "I6,K1,,sideways,侧面\n",
        company.rep,
        "interactions",
    )
    assert (job.rows_read, job.created, job.rejected) == (6, 4, 2)
    got = dict(Interaction.objects.filter(customer=customer).values_list("external_id", "channel"))
    assert got == {"I1": "phone", "I2": "chat", "I3": "visit", "I4": "fax"}
    directions = dict(
        Interaction.objects.filter(customer=customer).values_list("external_id", "direction")
    )
    assert (directions["I1"], directions["I2"], directions["I3"]) == (
        "inbound",
        "outbound",
        "inbound",
    )
    reasons = dict(ImportRowError.objects.filter(job=job).values_list("row_number", "reason"))
    if language == "en":
        assert reasons[6].startswith("channel: “飞鸽” is not one of Web form (web_form),")
        assert "Chat / WeChat (chat)" in reasons[6] and "Phone," in reasons[6]
        assert reasons[7] == "direction: “sideways” is not one of Inbound, Outbound"
    else:
        assert reasons[6].startswith("channel：“飞鸽”不是")
        assert "电话 (phone)" in reasons[6] and "聊天 / 微信 (chat)" in reasons[6]
        assert reasons[7].startswith("direction：“sideways”不是")
        assert "客户发起 (inbound)" in reasons[7] and "我方发起 (outbound)" in reasons[7]


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_order_choices_by_label(company, tmp_path, back_to_english, language):
    Customer.objects.filter(pk=company.rep_customer.pk).update(external_id="K1")
    translation.activate(language)
    job = run(
        tmp_path,
        ORDERS
        + "O1,K1,2026-03-02,10,网店,已付款\n"
        + "O2,K1,2026-03-02,10,Sales visit,SHIPPED\n"
        + "O3,K1,2026-03-02,10,store,Completed\n"
        + "O4,K1,2026-03-02,10,,\n"
        + "O5,K1,2026-03-02,10,信鸽,\n"
        + "O6,K1,2026-03-02,10,,丢了\n",
        company.rep,
        "orders",
    )
    assert (job.rows_read, job.created, job.rejected) == (6, 4, 2)
    got = {o.external_id: (o.channel, o.status) for o in Order.objects.all()}
    assert got == {
        "O1": ("web", "paid"),
        "O2": ("sales_visit", "shipped"),
        "O3": ("store", "completed"),
        "O4": ("other", "placed"),
    }
    reasons = dict(ImportRowError.objects.filter(job=job).values_list("row_number", "reason"))
    if language == "en":
        assert reasons[6].startswith("channel: “信鸽” is not one of Web shop (web), Store,")
        assert reasons[7].startswith("status: “丢了” is not one of Placed, Paid,")
    else:
        assert reasons[6].startswith("channel")
        assert "网店 (web)" in reasons[6] and "电话 (phone)" in reasons[6]
        assert reasons[7].startswith("status")
        assert "已下单 (placed)" in reasons[7] and "已付款 (paid)" in reasons[7]
