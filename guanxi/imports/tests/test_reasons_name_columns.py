"""A rejected row's reasons name each column as the user's file names it (the header that was
mapped to the field, with the field beside it), on the command line and on the web, in English
and in Chinese; a choice refused lists what the cell may say instead."""

import csv
import io
import json
import re
from io import StringIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.utils import translation

from guanxi.accounts.models import User
from guanxi.customers.services import customer_create
from guanxi.imports.customer_rows import CHOICE_FIELDS, _choice, choices_to_type
from guanxi.imports.mapping import build_mapping
from guanxi.imports.models import ImportJob, ImportRowError
from guanxi.imports.services import import_job_create, import_job_run

pytestmark = pytest.mark.django_db

CUSTOMERS = "姓名,Mobile,类型\n张三,12345,\n李四,13812340002,VIP\n,13812340003,\n"
MAPPING = {"姓名": "name", "Mobile": "phone", "类型": "kind"}


def _command_line_reasons(tmp_path, language: str) -> list[str]:
    path = tmp_path / "people.csv"
    path.write_text(CUSTOMERS)
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps(MAPPING))
    errors = tmp_path / "rejected.csv"
    # The reasons are in the language of the user the command imports as.
    User.objects.filter(username="admin").update(language=language)
    with translation.override(language):
        call_command(
            "import", "customers", str(path), "--mapping", str(mapping), "--user", "admin",
            "--errors", str(errors), stdout=StringIO(), stderr=StringIO(),
        )  # fmt: skip
    with errors.open(encoding="utf-8-sig") as handle:
        return [row["import_error"] for row in csv.DictReader(handle)]


def test_the_command_line_names_the_files_columns_in_english(company, tmp_path):
    phone, kind, name = _command_line_reasons(tmp_path, "en")
    assert phone.startswith("Mobile (phone): ")
    assert kind == (
        "类型 (kind): “VIP” is not one of Potential, Intent, Prospect, Signed, Internal, Partner"
    )
    assert name == "姓名 (name): a name is required"


def test_the_command_line_names_the_files_columns_in_chinese(company, tmp_path):
    phone, kind, name = _command_line_reasons(tmp_path, "zh-hans")
    assert phone.startswith("Mobile (phone)：")
    assert kind == (
        "类型 (kind)：“VIP”不是以下值之一：潜在客户 (potential), 意向客户 (intent), "
        "准客户 (prospect), 签约客户 (signed), 内部 (internal), 合作伙伴 (partner)"
    )
    assert name.startswith("姓名 (name)：") and "name" not in name.removeprefix("姓名 (name)：")


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_every_choice_a_reason_lists_is_one_the_import_takes(language):
    with translation.override(language):
        for field_name in CHOICE_FIELDS:
            listed = choices_to_type(field_name).split(", ")
            assert len(listed) == len(CHOICE_FIELDS[field_name].choices)
            for item in listed:
                label, code = re.fullmatch(r"(.+?)(?: \((\w+)\))?", item).groups()
                assert _choice(field_name, label) is not None, item
                if code:
                    assert _choice(field_name, code) == code


def test_the_web_import_names_the_files_columns_in_chinese(client, company, back_to_english):
    client.force_login(company.rep)
    client.cookies["django_language"] = "zh-hans"
    client.post(
        "/imports/new/",
        {
            "file": SimpleUploadedFile("客户.csv", "姓名,手机\n张三,12345\n".encode()),
            "kind": "customers",
            "dedup": "auto",
        },
    )
    job = ImportJob.objects.get()
    form = {"map_0": "name", "map_1": "phone"}
    report = client.post(f"/imports/{job.pk}/mapping/", {**form, "action": "check"})
    assert "手机 (phone)：" in report.content.decode()
    client.post(f"/imports/{job.pk}/mapping/", {**form, "action": "start"})
    errors = client.get(f"/imports/{job.pk}/errors.csv").content.decode("utf-8-sig")
    (row,) = csv.DictReader(io.StringIO(errors))
    assert row["import_error"].startswith("手机 (phone)：")


def _linked_reasons(company, tmp_path, kind: str, text: str, mapping: dict) -> list[str]:
    customer_create(actor=company.rep, data={"name": "张伟", "external_id": "K1"})
    path = tmp_path / f"{kind}.csv"
    path.write_text(text)
    job = import_job_create(
        actor=company.rep, path=path, filename=path.name, kind=kind, mapping=mapping
    )
    import_job_run(job=job)
    errors = ImportRowError.objects.filter(job=job).order_by("row_number")
    return list(errors.values_list("reason", flat=True))


@pytest.mark.parametrize(
    ("language", "kind", "text", "mapping", "expected"),
    [
        pytest.param(
            "en",
            "interactions",
            "客户编号,主题,方式\nK9,来电,phone\nK1,来电,pigeon\n",
            {"客户编号": "customer_external_id", "主题": "subject", "方式": "channel"},
            [
                "客户编号 (customer_external_id): no customer K9",
                "方式 (channel): “pigeon” is not one of Web form (web_form), Visit, Phone, Fax, "
                "Email, SMS, Chat / WeChat (chat), Other",
            ],
            id="interactions",
        ),
        pytest.param(
            "en",
            "orders",
            "客户编号,下单日期,金额\nK1,2026-03-01,很多\n",
            {"客户编号": "customer_external_id", "下单日期": "ordered_on", "金额": "amount"},
            ["金额 (amount): not an amount"],
            id="orders",
        ),
        pytest.param(
            "zh-hans",
            "interactions",
            "客户编号,主题,时间\nK1,来电,1800-01-01\n",
            {"客户编号": "customer_external_id", "主题": "subject", "时间": "occurred_at"},
            # Some translations of these reasons end the field with a full-width colon.
            ["时间 (occurred_at)：年份必须在 1900 到 9998 之间"],
            id="interactions-in-chinese",
        ),
    ],
)
def test_interaction_and_order_reasons_name_the_files_columns(
    company, tmp_path, language, kind, text, mapping, expected
):
    with translation.override(language):
        reasons = _linked_reasons(company, tmp_path, kind, text, mapping)
    assert reasons == expected


def test_a_field_of_several_columns_names_them_all_and_a_fields_own_header_stays_as_it_is():
    mapping = build_mapping(
        ["name", "电话", "座机", "备注"],
        kind="customers",
        explicit={"电话": "phone", "座机": "phone", "备注": None},
    )
    assert mapping.naming_columns(
        ["name: a name is required", "phone: not a number", "owner: no such user", "row: x"]
    ) == [
        "name: a name is required",
        "电话 / 座机 (phone): not a number",
        "owner: no such user",  # no column fills it: the field is all there is to name
        "row: x",
    ]


def test_a_reason_about_a_column_whose_header_is_another_fields_key_is_left_as_it_is():
    mapping = build_mapping(
        ["name", "姓名"], kind="customers", explicit={"name": "company", "姓名": "name"}
    )
    # "name: …" of the file's reader is about its column "name", which holds the company.
    assert mapping.naming_columns(["name: contains a NUL character"]) == [
        "name: contains a NUL character"
    ]
    assert mapping.naming_columns(["company: too long"]) == ["name (company): too long"]
