"""A customer export imported again goes back into the customers it came from by their Guanxi id
(its ``id`` column), customers without an external id (everyone made on the form) included,
instead of being matched as duplicates and coming back as new customers; and the odd rows
(an id that is no number, names no customer the importer may see, a customer in the recycle
bin, merged, someone else's, or an external id that is another customer's) are refused saying
so, naming the column."""

import csv
import io
from io import StringIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from guanxi.audit.models import AuditEvent
from guanxi.customers.exports import _header_note, customers_export_csv, customers_export_xlsx
from guanxi.customers.models import Customer
from guanxi.customers.services import customer_create, customer_delete
from guanxi.dedup.services import customers_merge
from guanxi.imports.mapping import build_mapping, suggest_mapping
from guanxi.imports.models import ImportJob
from guanxi.imports.services import import_job_create, import_job_run

pytestmark = pytest.mark.django_db


def _form_customers(actor, count=8) -> list[Customer]:
    """Customers made as the new-customer form makes them: no external id."""
    return [
        customer_create(
            actor=actor,
            data={
                "name": f"客户{i}",
                "kind": "signed" if i % 2 else "potential",
                "phones": [f"1381234{i:04d}"],
                "emails": [f"c{i}@example.cn"],
                "tags": ["VIP"] if i % 3 == 0 else [],
                "id_number": "11010519491231002X" if i == 0 else "",
            },
        )
        for i in range(count)
    ]


def _export(actor, file_format="csv", **filters) -> bytes:
    if file_format == "xlsx":
        file = customers_export_xlsx(actor=actor, filters=filters or None)
        content = file.read()
        file.close()
        return content
    return customers_export_csv(actor=actor, filters=filters or None)


def _import(
    tmp_path, content, actor, *, name="customers.csv", language="en", batch_size=None, **options
):
    path = tmp_path / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    with translation.override(language):
        job = import_job_create(actor=actor, path=path, filename=name, kind="customers", **options)
    return import_job_run(job=job, batch_size=batch_size)


def _reasons(job) -> list[str]:
    return list(job.errors.order_by("row_number").values_list("reason", flat=True))


def _rows(content: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))


def _csv(rows: list[dict[str, str]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


# --- the round trip ----------------------------------------------------------------------------


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_an_export_of_customers_without_external_ids_imports_again_unchanged(
    company, tmp_path, file_format
):
    made = _form_customers(company.admin)
    assert not any(customer.external_id for customer in made)
    customers = Customer.objects.count()
    versions = dict(Customer.objects.values_list("pk", "version"))
    # Without full numbers, as most exports are: masked phones and ID numbers stay as they are.
    content = _export(company.admin, file_format)
    for _round in range(2):
        job = _import(tmp_path, content, company.admin, name=f"export.{file_format}")
        assert (job.created, job.merged, job.rejected) == (0, 0, 0), _reasons(job)
        assert job.rows_read == job.updated == job.unchanged == customers
        assert Customer.objects.count() == customers
        assert dict(Customer.objects.values_list("pk", "version")) == versions
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.UPDATE).exists()


def test_an_edited_cell_changes_that_customer_only_and_once(company, tmp_path):
    made = _form_customers(company.admin)
    rows = _rows(_export(company.admin))
    edited = made[3]
    for row in rows:
        if row["id"] == str(edited.pk):
            row["name"] = "王芳"
            row["kind"] = "partner"
    content = _csv(rows)
    job = _import(tmp_path, content, company.admin)
    assert (job.created, job.rejected, job.updated) == (0, 0, len(rows))
    assert job.unchanged == len(rows) - 1
    edited.refresh_from_db()
    assert (edited.name, edited.kind, edited.version) == ("王芳", "partner", 2)
    event = AuditEvent.objects.get(action=AuditEvent.Action.UPDATE)
    assert event.object_id == edited.pk and event.changes["name"]["after"] == "王芳"
    # Imported again, it changes nothing.
    again = _import(tmp_path, content, company.admin)
    assert again.unchanged == again.rows_read == len(rows)
    assert AuditEvent.objects.filter(action=AuditEvent.Action.UPDATE).count() == 1


def test_a_rep_imports_their_export_again_and_is_refused_a_colleagues_customer(company, tmp_path):
    rep = company.rep
    mine = customer_create(actor=rep, data={"name": "张伟", "phones": ["13812340001"]})
    # Team A shares viewing: the rep's export holds the teammate's customer as well.
    content = _export(rep)
    rows = _rows(content)
    ids = {row["id"] for row in rows}
    teammates = company.teammate_customer
    assert {str(mine.pk), str(teammates.pk)} <= ids
    for row in rows:
        row["name"] += "（改）"
    job = _import(tmp_path, _csv(rows), rep)
    assert job.created == 0 and job.rejected == 1
    assert _reasons(job) == [
        f"id (guanxi_id): the customer {teammates.pk} exists, and it is not yours to change"
    ]
    teammates.refresh_from_db()
    assert teammates.name == "Teammate Customer"
    mine.refresh_from_db()
    assert mine.name == "张伟（改）"


def test_a_colleagues_customer_is_refused_as_not_theirs_whatever_else_the_row_says(
    company, tmp_path
):
    # The owner cell names the teammate, whom a rep may not assign: that is not why.
    teammates = company.teammate_customer
    job = _import(
        tmp_path,
        f"id,external_id,name,owner\n{teammates.pk},,Teammate Customer,teammate\n",
        company.rep,
    )
    assert _reasons(job) == [
        f"id (guanxi_id): the customer {teammates.pk} exists, and it is not yours to change"
    ]


# --- odd rows ----------------------------------------------------------------------------------

REASONS = {
    "en": {
        "number": "id (guanxi_id): “{value}” is not a Guanxi id, which is a whole number",
        "unseen": "id (guanxi_id): no customer {id} that you can see",
        "bin": "id (guanxi_id): the customer {id} is in the recycle bin; restore it first",
        "other": (
            "id (guanxi_id): external_id “{external_id}” is another customer's than the "
            "customer {id}; correct one of the two columns"
        ),
        "replaced": (
            "id (guanxi_id): the customer {id} has the external id “{own}”, not external_id "
            "“{external_id}”; an import does not replace an external id"
        ),
    },
    "zh-hans": {
        "number": "id (guanxi_id)：“{value}”不是 Guanxi 编号（应为整数）",
        "unseen": "id (guanxi_id)：客户 {id} 不存在或您无权查看",
        "bin": "id (guanxi_id)：客户 {id} 在回收站中，请先将其恢复",
        "other": (
            "id (guanxi_id)：external_id“{external_id}”属于另一个客户，而不是客户 {id}；"
            "请更正这两列中的一列"
        ),
        "replaced": (
            "id (guanxi_id)：客户 {id} 的外部编号是“{own}”，而不是 external_id"
            "“{external_id}”；导入不会替换已有的外部编号"
        ),
    },
}
LANGUAGES = pytest.mark.parametrize("language", ["en", "zh-hans"])


@LANGUAGES
def test_an_id_that_is_no_number_is_refused(company, tmp_path, language):
    job = _import(
        tmp_path, "id,external_id,name\nA17,,张伟\n0,,张伟\n", company.admin, language=language
    )
    assert job.rejected == 2 and job.created == 0
    reason = REASONS[language]["number"]
    assert _reasons(job) == [reason.format(value="A17"), reason.format(value="0")]


@LANGUAGES
def test_an_id_of_no_customer_and_of_one_not_visible_get_the_same_reason(
    company, tmp_path, language
):
    hidden = company.west_customer  # another department's: the rep cannot see it
    missing = Customer.objects.order_by("-pk").first().pk + 1000
    job = _import(
        tmp_path,
        f"id,external_id,name\n{hidden.pk},,张伟\n{missing},,张伟\n",
        company.rep,
        language=language,
    )
    assert job.rejected == 2 and job.created == 0
    reason = REASONS[language]["unseen"]
    assert _reasons(job) == [reason.format(id=hidden.pk), reason.format(id=missing)]
    hidden.refresh_from_db()
    assert hidden.name == "West Customer"


@LANGUAGES
def test_a_customer_in_the_recycle_bin_is_refused_saying_so_to_who_may_see_it(
    company, tmp_path, language
):
    mine = company.rep_customer
    hidden = company.west_customer
    customer_delete(actor=company.admin, customer_id=mine.pk)
    customer_delete(actor=company.admin, customer_id=hidden.pk)
    job = _import(
        tmp_path,
        f"id,external_id,name\n{mine.pk},,张伟\n{hidden.pk},,张伟\n",
        company.rep,
        language=language,
    )
    assert job.rejected == 2 and job.created == 0
    reasons = REASONS[language]
    assert _reasons(job) == [
        reasons["bin"].format(id=mine.pk),
        reasons["unseen"].format(id=hidden.pk),
    ]


@LANGUAGES
def test_an_external_id_of_another_customer_is_refused_naming_both_columns(
    company, tmp_path, language
):
    first, second = _form_customers(company.admin, count=2)
    Customer.objects.filter(pk=second.pk).update(external_id="E2")
    Customer.objects.filter(pk=first.pk).update(external_id="E1")
    job = _import(
        tmp_path,
        f"id,external_id,name\n{first.pk},E2,改名\n{second.pk},E9,改名\n",
        company.admin,
        language=language,
    )
    assert job.rejected == 2 and job.updated == 0
    reasons = REASONS[language]
    assert _reasons(job) == [
        reasons["other"].format(id=first.pk, external_id="E2"),
        reasons["replaced"].format(id=second.pk, own="E2", external_id="E9"),
    ]
    assert set(
        Customer.objects.filter(pk__in=[first.pk, second.pk]).values_list("name", flat=True)
    ) == {
        "客户0",
        "客户1",
    }


def test_an_external_id_a_row_gives_is_another_customers_for_later_rows(company, tmp_path):
    first, second, third = _form_customers(company.admin, count=3)
    # Renamed: each row with an id has its customer's phone, which says it is theirs.
    job = _import(
        tmp_path,
        "id,external_id,name,phones\n"
        f"{first.pk},N1,甲,13812340000\n"  # given to the first, who had none
        f"{second.pk},N1,乙,13812340001\n"  # so not the second's
        f",N1,丙,\n"  # a row with it alone goes into the first too
        f"{third.pk},N2,丁,13812340002\n"
        f",N2,戊,\n",
        company.admin,
    )
    assert (job.created, job.updated, job.rejected) == (0, 4, 1), _reasons(job)
    assert _reasons(job)[0].startswith("id (guanxi_id): external_id “N1” is another customer's")
    first.refresh_from_db()
    third.refresh_from_db()
    assert (first.external_id, first.name) == ("N1", "丙")
    assert (third.external_id, third.name) == ("N2", "戊")


def test_an_external_id_of_a_new_customer_of_the_file_is_another_customers(company, tmp_path):
    (customer,) = _form_customers(company.admin, count=1)
    job = _import(
        tmp_path, f"id,external_id,name\n,N1,新客户\n{customer.pk},N1,改名\n", company.admin
    )
    assert (job.created, job.rejected) == (1, 1)
    assert _reasons(job)[0].startswith("id (guanxi_id): external_id “N1” is another customer's")


def test_an_empty_external_id_keeps_the_customers(company, tmp_path):
    (customer,) = _form_customers(company.admin, count=1)
    Customer.objects.filter(pk=customer.pk).update(external_id="E1")
    job = _import(
        tmp_path,
        f"id,external_id,name\n{customer.pk},,客户0\n{customer.pk},E1,改名\n",
        company.admin,
    )
    assert (job.updated, job.unchanged, job.rejected) == (2, 0, 0), _reasons(job)
    customer.refresh_from_db()
    assert (customer.external_id, customer.name) == ("E1", "改名")


def test_two_rows_of_one_id_update_that_customer_one_after_the_other(company, tmp_path):
    (customer,) = _form_customers(company.admin, count=1)
    content = (
        f"id,external_id,name,phones\n{customer.pk},,张伟,13812340000;13900000001\n"
        f"{customer.pk},,张伟伟,13812340000;13900000002\n"
    )
    for batch_size in (None, 1):
        Customer.objects.filter(pk=customer.pk).update(name="客户0")
        job = _import(tmp_path, content, company.admin, batch_size=batch_size)
        assert (job.created, job.updated, job.rejected) == (0, 2, 0), _reasons(job)
        customer.refresh_from_db()
        assert customer.name == "张伟伟"
        assert set(customer.phones.values_list("number", flat=True)) == {
            "+8613812340000",
            "+8613900000001",
            "+8613900000002",
        }


def test_a_merged_customer_is_the_one_it_was_merged_into(company, tmp_path):
    survivor, merged = _form_customers(company.admin, count=2)
    customers_merge(actor=company.admin, survivor_id=survivor.pk, merged_id=merged.pk)
    # Renamed, with the merged customer's phone, which the survivor took.
    job = _import(
        tmp_path, f"id,external_id,name,phones\n{merged.pk},,合并后,13812340001\n", company.admin
    )
    assert (job.created, job.updated, job.rejected) == (0, 1, 0), _reasons(job)
    survivor.refresh_from_db()
    assert survivor.name == "合并后"
    merged.refresh_from_db()
    assert merged.deleted_at is not None and merged.name == "客户1"


def test_a_customer_given_away_during_the_import_is_refused_naming_the_id(company, tmp_path):
    # What the importer may change is asked again as the batch locks its customers.
    from guanxi.imports.customer_import import _gone_reason
    from guanxi.imports.customer_rows import CustomerRow

    row = CustomerRow(
        number=2, scalars={"name": "x"}, phones=[], emails=[], addresses=[], tags=[],
        custom_fields={}, id_number="", external_id="E1", organization_external_id=None,
        guanxi_id=7,
    )  # fmt: skip
    assert (
        _gone_reason(row, by_external_id=True).render().startswith("guanxi_id: the customer 7 was")
    )


# --- the ways in -------------------------------------------------------------------------------


def test_the_command_line_reads_the_exports_id_and_writes_refused_rows_to_the_error_file(
    company, tmp_path
):
    made = _form_customers(company.admin, count=3)
    rows = _rows(_export(company.admin, q="客户"))
    assert {row["id"] for row in rows} == {str(c.pk) for c in made}
    rows[0]["id"] = "x1"
    path = tmp_path / "export.csv"
    path.write_text(_csv(rows), encoding="utf-8")
    errors = tmp_path / "rejected.csv"
    out = StringIO()
    call_command(
        "import", "customers", str(path), "--user", "admin", "--errors", str(errors),
        stdout=out, stderr=StringIO(),
    )  # fmt: skip
    assert "3 rows read — 0 created, 2 updated, 0 merged, 1 rejected." in out.getvalue()
    with errors.open(encoding="utf-8-sig") as handle:
        (rejected,) = list(csv.DictReader(handle))
    assert rejected["import_error"] == REASONS["en"]["number"].format(value="x1")
    assert Customer.objects.count() == 6 + 3


def test_a_dry_run_counts_the_updates_and_writes_nothing(company, tmp_path):
    made = _form_customers(company.admin, count=3)
    rows = _rows(_export(company.admin, q="客户"))
    for row in rows:
        row["name"] += "!"
    job = _import(tmp_path, _csv(rows), company.admin, dry_run=True)
    assert (job.created, job.updated, job.unchanged, job.rejected) == (0, 3, 0, 0)
    assert {c.name for c in Customer.objects.filter(pk__in=[c.pk for c in made])} == {
        "客户0",
        "客户1",
        "客户2",
    }


def test_a_resumed_import_carries_on_by_id(company, tmp_path):
    made = _form_customers(company.admin, count=4)
    rows = _rows(_export(company.admin, q="客户"))
    for row in rows:
        row["name"] += "!"
    path = tmp_path / "export.csv"
    path.write_text(_csv(rows), encoding="utf-8")
    job = import_job_create(actor=company.admin, path=path, filename=path.name, kind="customers")
    # As an import stopped after its first two rows (lines 2 and 3) leaves it.
    ImportJob.objects.filter(pk=job.pk).update(last_row=3, rows_read=2)
    job.refresh_from_db()
    job = import_job_run(job=job)
    assert (job.rows_read, job.created, job.updated) == (4, 0, 2)
    names = dict(Customer.objects.filter(pk__in=[c.pk for c in made]).values_list("pk", "name"))
    assert [names[c.pk].endswith("!") for c in made] == [False, False, True, True]


def test_the_mapping_page_maps_the_exports_id_and_says_what_it_does(client, company, tmp_path):
    _form_customers(company.admin, count=2)
    client.force_login(company.admin)
    client.post(
        "/imports/new/",
        {
            "file": SimpleUploadedFile("export.csv", _export(company.admin)),
            "kind": "customers",
            "dedup": "auto",
        },
    )
    job = ImportJob.objects.get()
    assert job.mapping["id"] == "guanxi_id" and job.mapping["external_id"] == "external_id"
    page = client.get(f"/imports/{job.pk}/mapping/").content.decode()
    # Chosen for the id column, with what it does beside it.
    assert (
        '<option value="guanxi_id" title="Guanxi&#x27;s own number of the customer (the '
        'export&#x27;s “id” column); the row updates that customer" selected>'
    ) in page


def test_the_exports_header_note_says_the_import_reads_the_id():
    with translation.override("en"):
        assert _header_note("id") == (
            "Guanxi ID\nthis Guanxi installation's own number; the import updates that "
            "customer by it. A file from another installation: remove this column"
        )
    with translation.override("zh-hans"):
        assert _header_note("id") == (
            "Guanxi 编号\n本 Guanxi 系统自己的编号；导入时按此列更新该客户。"
            "来自另一套系统的文件：请删除此列"
        )


def test_an_id_column_of_another_system_is_not_taken_for_guanxis():
    # Without an external_id column beside it, ``id`` is most often the other system's key.
    assert suggest_mapping(["id", "name"], kind="customers")["id"] == "external_id"
    assert build_mapping(["id", "name"], kind="customers").targets == [None, "name"]
    # The export's header, and the export's names for the column, are Guanxi's.
    assert build_mapping(["id", "external_id", "name"], kind="customers").targets[0] == "guanxi_id"
    assert suggest_mapping(["Guanxi ID", "name"], kind="customers")["Guanxi ID"] == "guanxi_id"
    assert suggest_mapping(["Guanxi 编号", "姓名"], kind="customers")["Guanxi 编号"] == "guanxi_id"


def test_the_ids_of_a_batch_are_looked_up_together(company, tmp_path):
    _form_customers(company.admin, count=30)
    lines = _export(company.admin, q="客户").decode("utf-8-sig").splitlines()

    def customer_queries(rows: int) -> int:
        with CaptureQueriesContext(connection) as captured:
            job = _import(tmp_path, "\n".join(lines[: rows + 1]) + "\n", company.admin)
        assert job.unchanged == rows
        return sum('FROM "customers_customer"' in q["sql"] for q in captured.captured_queries)

    assert customer_queries(30) == customer_queries(3)


def test_the_columns_a_refused_id_names_are_kept_to_read_in_the_readers_language(company, tmp_path):
    # The column's header is the file's, and the way it is named with its field ("外部编号
    # (external_id)") is the reader's: it is kept as a message, not as the importer's text.
    first, second = _form_customers(company.admin, count=2)
    Customer.objects.filter(pk=second.pk).update(external_id="E2")
    job = _import(
        tmp_path,
        f"编号,外部编号,name\n{first.pk},E2,改名\n",
        company.admin,
        language="zh-hans",
        mapping={"编号": "guanxi_id", "外部编号": "external_id", "name": "name"},
    )
    (reasons,) = job.errors.values_list("reasons", flat=True)
    params = reasons[0]["params"]
    assert params["column"] == {
        "message": "%(column)s (%(field)s)",
        "params": {"column": "外部编号", "field": "external_id"},
    }
    with translation.override("en"):
        (error,) = job.errors.all()
        assert error.reason_text.startswith("编号 (guanxi_id): 外部编号 (external_id) “E2”")
