"""The mapping page says what each of Guanxi's fields holds in the reader's language, beside the
field's name (which stays as it is: it is what a file's header is matched against)."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from guanxi.imports.models import ImportJob

pytestmark = pytest.mark.django_db

CONTENT = "姓名,手机\n张三,138 1234 0001\n".encode()


def _mapping_page(client, company, language: str) -> str:
    client.force_login(company.rep)
    client.cookies["django_language"] = language
    client.post(
        "/imports/new/",
        {"file": SimpleUploadedFile("客户.csv", CONTENT), "kind": "customers", "dedup": "auto"},
    )
    job = ImportJob.objects.get()
    return client.get(f"/imports/{job.pk}/mapping/").content.decode()


def test_the_fields_are_described_in_chinese(client, company):
    page = _mapping_page(client, company, "zh-hans")
    assert 'title="客户名称（必填）"' in page
    assert ">name · 客户名称（必填）</option>" in page
    assert ">phone · 电话号码</option>" in page
    assert ">city · 城市</option>" in page
    assert "phone numbers" not in page and "the customer&#x27;s name" not in page


def test_in_english_a_field_named_as_it_is_described_is_not_described_twice(client, company):
    page = _mapping_page(client, company, "en")
    assert ">phone · phone numbers</option>" in page
    assert ">city</option>" in page


def _kind_mapping_page(client, company, language: str, kind: str) -> str:
    client.force_login(company.admin)
    client.cookies["django_language"] = language
    client.post(
        "/imports/new/",
        {"file": SimpleUploadedFile("rows.csv", b"subject\nx\n"), "kind": kind, "dedup": "auto"},
    )
    job = ImportJob.objects.get()
    return client.get(f"/imports/{job.pk}/mapping/").content.decode()


def test_a_choice_field_lists_its_labels_with_their_codes_in_chinese(client, company):
    # As a refused cell's reason lists them: the importer takes the label as well as the code.
    page = _mapping_page(client, company, "zh-hans")
    assert ">kind · 潜在客户 (potential), 意向客户 (intent), 准客户 (prospect)," in page
    assert "战略联盟 (strategic_alliance)</option>" in page
    assert "首次购买 (first_purchase)" in page and "官网 (web)" in page
    assert "potential, intent, prospect" not in page


def test_a_choice_field_lists_its_labels_with_their_codes_in_english(client, company):
    page = _mapping_page(client, company, "en")
    assert ">kind · Potential, Intent, Prospect, Signed, Internal, Partner</option>" in page
    assert "Strategic alliance (strategic_alliance)</option>" in page
    assert "Website (web)" in page


@pytest.mark.parametrize(
    ("kind", "language", "hints"),
    [
        ("interactions", "zh-hans", ["电话 (phone)", "客户发起 (inbound), 我方发起 (outbound)"]),
        ("interactions", "en", ["Inbound, Outbound</option>"]),
        ("orders", "zh-hans", ["已付款 (paid)", "已取消 (cancelled)</option>"]),
        ("orders", "en", ["Placed, Paid, Shipped, Completed, Refunded, Cancelled</option>"]),
    ],
)
def test_interaction_and_order_choices_list_their_labels_with_codes(
    client, company, kind, language, hints
):
    page = _kind_mapping_page(client, company, language, kind)
    for hint in hints:
        assert hint in page
