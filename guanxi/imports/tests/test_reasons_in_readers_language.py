"""A rejected row's reasons read in the reader's language, whoever imported the file: an
administrator reading a colleague's import gets the reasons on the job's page and in the error
file in their own language, not the importer's. Rows kept before the reasons were stored
untranslated show the text they were kept with."""

import csv
import io

import pytest
from django.utils import translation

from guanxi.imports.models import ImportJob, ImportRowError
from guanxi.imports.services import import_job_create, import_job_run

pytestmark = pytest.mark.django_db

CONTENT = (
    "姓名,手机,邮箱,生日,负责人\n"
    ",13812340001,,,\n"  # no name
    "李四,12345,,,\n"  # not a phone
    "王芳,,wang@@example,,\n"  # not an email
    "赵敏,,,1985-13-45,\n"  # not a date
    "孙丽,,,,nobody\n"  # no such owner
)
MAPPING = {
    "姓名": "name",
    "手机": "phone",
    "邮箱": "email",
    "生日": "birth_date",
    "负责人": "owner",
}

ENGLISH = [
    "姓名 (name): a name is required",
    "手机 (phone): “12345” is not a valid phone number.",
    "邮箱 (email): “wang@@example” is not a valid email address.",
    "生日 (birth_date): “1985-13-45” is not a date",
    "负责人 (owner): no active user “nobody”",
]
CHINESE = [
    "姓名 (name)：名称为必填项",
    "手机 (phone)：“12345”不是有效的电话号码。",
    "邮箱 (email)：“wang@@example”不是有效的邮箱地址。",
    "生日 (birth_date)：“1985-13-45”不是有效的日期",
    "负责人 (owner)：用户“nobody”不存在或已停用",
]


def _imported_in(language: str, tmp_path, actor) -> ImportJob:
    """The file imported as the command line imports it, in the importer's language."""
    path = tmp_path / "客户.csv"
    path.write_text(CONTENT)
    with translation.override(language):
        job = import_job_create(
            actor=actor, path=path, filename="客户.csv", kind="customers", mapping=MAPPING
        )
        return import_job_run(job=job)


def _read_in(client, reader, job: ImportJob, language: str) -> tuple[str, list[str]]:
    """The job's page and the reasons of its error file, as ``reader`` gets them."""
    client.force_login(reader)
    client.cookies["django_language"] = language
    page = client.get(f"/imports/{job.pk}/").content.decode()
    response = client.get(f"/imports/{job.pk}/errors.csv")
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    return page, [row["import_error"] for row in rows]


def _on_page(reason: str) -> str:
    return reason.replace("“", "&ldquo;").replace("”", "&rdquo;")


@pytest.mark.parametrize(
    ("imported_in", "read_in", "expected"),
    [("zh-hans", "en", ENGLISH), ("en", "zh-hans", CHINESE)],
)
def test_a_colleague_reads_the_reasons_in_their_own_language(
    client, company, tmp_path, back_to_english, imported_in, read_in, expected
):
    job = _imported_in(imported_in, tmp_path, company.rep)
    assert job.rejected == 5
    # The text kept beside the reasons is the importer's, as before.
    written = ENGLISH if imported_in == "en" else CHINESE
    stored = list(ImportRowError.objects.filter(job=job).values_list("reason", flat=True))
    assert stored == written

    page, in_file = _read_in(client, company.admin, job, read_in)
    assert in_file == expected
    for reason, theirs in zip(expected, written, strict=True):
        assert reason in page or _on_page(reason) in page
        assert theirs not in page and _on_page(theirs) not in page

    # The importer reading their own job still reads their own language.
    _page, own = _read_in(client, company.rep, job, imported_in)
    assert own == written


def test_rows_kept_before_show_their_text_as_it_was_kept(client, company, tmp_path):
    job = _imported_in("en", tmp_path, company.rep)
    # As a row written before the reasons were kept untranslated has it: the text alone.
    ImportRowError.objects.filter(job=job).delete()
    ImportRowError.objects.create(
        job=job, row_number=2, cells=["", "13812340001"], reason="姓名 (name): 名称为必填项"
    )
    for language in ("en", "zh-hans"):
        page, in_file = _read_in(client, company.admin, job, language)
        assert in_file == ["姓名 (name): 名称为必填项"]
        assert "姓名 (name): 名称为必填项" in page


def test_an_order_imports_reasons_read_in_the_readers_language(
    client, company, tmp_path, back_to_english
):
    path = tmp_path / "订单.csv"
    path.write_text("客户编号,下单日期,金额\nNOBODY,2026-13-01,100\n")
    mapping = {"客户编号": "customer_external_id", "下单日期": "ordered_on", "金额": "amount"}
    with translation.override("zh-hans"):
        job = import_job_create(
            actor=company.rep, path=path, filename="订单.csv", kind="orders", mapping=mapping
        )
        job = import_job_run(job=job)
    (stored,) = ImportRowError.objects.filter(job=job).values_list("reason", flat=True)
    assert stored == (
        "客户编号 (customer_external_id)：客户 NOBODY 不存在；下单日期 (ordered_on)：不是有效的日期"
    )
    _page, in_file = _read_in(client, company.admin, job, "en")
    assert in_file == [
        "客户编号 (customer_external_id): no customer NOBODY; 下单日期 (ordered_on): not a date"
    ]


# A refused choice lists what the cell may say: the labels, in the reader's language too, not
# the importer's ("潜在客户 (potential), …" read by an English reader).


@pytest.mark.parametrize(
    ("imported_in", "read_in", "expected", "theirs"),
    [
        (
            "zh-hans",
            "en",
            "kind: “maybe” is not one of Potential, Intent, Prospect, Signed, Internal, Partner",
            "潜在客户",
        ),
        ("en", "zh-hans", "kind：“maybe”不是以下值之一：潜在客户 (potential), ", "Potential,"),
    ],
)
def test_a_refused_choice_lists_the_labels_in_the_readers_language(
    client, company, tmp_path, back_to_english, imported_in, read_in, expected, theirs
):
    path = tmp_path / "客户.csv"
    path.write_text("name,kind\n张伟,maybe\n")
    with translation.override(imported_in):
        job = import_job_create(actor=company.rep, path=path, filename=path.name, kind="customers")
        job = import_job_run(job=job)
    assert job.rejected == 1
    page, (in_file,) = _read_in(client, company.admin, job, read_in)
    assert in_file.startswith(expected)
    assert theirs not in in_file
    assert expected in page or _on_page(expected) in page


@pytest.mark.parametrize(
    ("kind", "content", "english", "chinese"),
    [
        (
            "orders",
            "external_id,customer_external_id,ordered_on,amount,status\nO1,K1,2026-03-02,10,丢了\n",
            "status: “丢了” is not one of Placed, Paid,",
            "已下单 (placed), 已付款 (paid)",
        ),
        (
            "interactions",
            "external_id,customer_external_id,direction,subject\nI1,K1,sideways,来电\n",
            "direction: “sideways” is not one of Inbound, Outbound",
            "客户发起 (inbound), 我方发起 (outbound)",
        ),
    ],
)
def test_a_refused_choice_of_an_order_or_interaction_reads_in_the_readers_language(
    client, company, tmp_path, back_to_english, kind, content, english, chinese
):
    from guanxi.customers.models import Customer

    Customer.objects.filter(pk=company.rep_customer.pk).update(external_id="K1")
    path = tmp_path / f"{kind}.csv"
    path.write_text(content)
    jobs = {}
    for language in ("en", "zh-hans"):
        with translation.override(language):
            job = import_job_create(actor=company.rep, path=path, filename=path.name, kind=kind)
            jobs[language] = import_job_run(job=job)
    _page, (in_english,) = _read_in(client, company.admin, jobs["zh-hans"], "en")
    assert english in in_english and "已" not in in_english and "客户发起" not in in_english
    _page, (in_chinese,) = _read_in(client, company.admin, jobs["en"], "zh-hans")
    assert chinese in in_chinese and "Placed" not in in_chinese and "Inbound" not in in_chinese


def test_a_refused_choice_lists_a_label_of_its_own_context_as_the_field_names_it(
    client, company, tmp_path, back_to_english
):
    # A partnership (伙伴关系), not a partner customer (合作伙伴), though both are "Partner".
    path = tmp_path / "客户.csv"
    path.write_text("name,relationship_level\n张伟,maybe\n")
    job = import_job_create(actor=company.rep, path=path, filename=path.name, kind="customers")
    job = import_job_run(job=job)
    assert job.rejected == 1
    _page, (in_chinese,) = _read_in(client, company.admin, job, "zh-hans")
    assert "优先供应商 (preferred_supplier), 伙伴关系 (partner), " in in_chinese
    assert "合作伙伴" not in in_chinese
    _page, (in_english,) = _read_in(client, company.admin, job, "en")
    assert "Preferred supplier (preferred_supplier), Partner, Strategic" in in_english
