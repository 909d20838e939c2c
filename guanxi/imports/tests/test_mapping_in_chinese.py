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
