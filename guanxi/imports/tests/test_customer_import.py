"""Importing customers: every row accounted for, idempotent re-import, duplicates merged or
queued, batches that survive a crash, and the visibility rule."""

import csv
import io
import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import translation

from guanxi.audit.models import AuditEvent
from guanxi.customers.models import Customer
from guanxi.customers.services import customer_create, customer_delete, customer_update
from guanxi.dedup.models import DuplicatePair, MatchKey
from guanxi.imports import customer_import, preparing
from guanxi.imports.models import ImportJob, ImportRowError
from guanxi.imports.services import import_job_create, import_job_run, write_error_rows

pytestmark = pytest.mark.django_db

HEADER = "external_id,name,company,phone,email,city,region,postcode,birth_date,tags,kind,owner\n"


def run_import(tmp_path, content, actor, *, name="customers.csv", batch_size=None, **options):
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    job = import_job_create(actor=actor, path=path, filename=name, kind="customers", **options)
    return import_job_run(job=job, batch_size=batch_size)


def assert_accounted(job: ImportJob, rows: int) -> None:
    assert job.rows_read == rows
    assert job.created + job.updated + job.merged + job.rejected == rows
    assert ImportRowError.objects.filter(job=job).count() == job.rejected


BAD_FILE = HEADER + (
    "A1,张伟,华瑞科技有限公司,13812345678,zhang.wei@example.com,上海,上海市,200000,"
    "1985-03-02,VIP;展会,signed,\n"
    "A2,,,13900001111,,,,,,,,\n"  # no name
    "A3,李娜,,12345,,,,,,,,\n"  # not a phone
    "A4,王芳,,,wang@@example,,,,,,,\n"  # not an email
    "A5,赵敏,,,,,,,1985-13-45,,,\n"  # not a date
    "A6,钱军,,,,,,,,,customer,\n"  # not a kind
    "A7,孙丽,,,,,,,,,,nobody\n"  # no such owner
    "A1,张伟,华瑞科技有限公司,13812345678,zhang.wei@example.com,上海,上海市,200000,"
    "1985-03-02,VIP;展会,signed,\n"  # the same row again
    ",張偉,,+86 138-1234-5678,ZHANG.WEI@EXAMPLE.COM,,,,,,,\n"  # the same customer typed again
    "A9,周涛,,13700001111,zhou.tao@example.com,杭州,,,,,intent,rep\n"
)


def test_every_row_of_a_file_with_bad_rows_is_accounted_for(company, tmp_path):
    content = BAD_FILE.encode() + "A10,吴刚,,13600001111,,,,,,,,\n".encode("gbk")
    job = run_import(tmp_path, content, company.admin)
    assert job.status == ImportJob.Status.FINISHED
    assert_accounted(job, 11)
    assert (job.created, job.updated, job.merged, job.rejected) == (2, 1, 1, 7)
    reasons = dict(ImportRowError.objects.filter(job=job).values_list("row_number", "reason"))
    assert reasons[3].startswith("name:")
    assert reasons[4].startswith("phone:") and "12345" in reasons[4]
    assert reasons[5].startswith("email:")
    assert reasons[6].startswith("birth_date:")
    assert reasons[7].startswith("kind:")
    assert reasons[8].startswith("owner:") and "nobody" in reasons[8]
    assert "not valid UTF-8" in reasons[12]
    zhang = Customer.objects.get(external_id="A1")
    assert zhang.phones.count() == 1 and zhang.emails.count() == 1
    assert set(zhang.tags.values_list("name", flat=True)) == {"VIP", "展会"}
    assert Customer.objects.get(external_id="A9").owner == company.rep
    # Every customer created has its audit row, its search text and its blocking keys.
    created = Customer.objects.filter(external_id__in=["A1", "A9"])
    for customer in created:
        assert AuditEvent.objects.filter(
            customer_id=customer.pk, action=AuditEvent.Action.CREATE
        ).exists()
        assert MatchKey.objects.filter(customer_id=customer.pk).exists()
    assert "13812345678" in zhang.search_text


def test_rows_prepared_by_a_worker_process_fare_exactly_as_rows_checked_here(
    company, tmp_path, monkeypatch
):
    """Large files are checked ahead in a second process (``imports.preparing``): the same
    outcome row for row, owners looked up here, reasons in the importing user's language."""
    monkeypatch.setattr(preparing, "WORKER_ABOVE_ROWS", 0)
    content = BAD_FILE.encode() + "A10,吴刚,,13600001111,,,,,,,,\n".encode("gbk")
    with translation.override("zh-hans"):
        job = run_import(tmp_path, content, company.admin, batch_size=2)
    assert_accounted(job, 11)
    assert (job.created, job.updated, job.merged, job.rejected) == (2, 1, 1, 7)
    reasons = dict(ImportRowError.objects.filter(job=job).values_list("row_number", "reason"))
    assert reasons[8] == "owner：用户“nobody”不存在或已停用"  # checked in the worker
    assert Customer.objects.get(external_id="A9").owner == company.rep
    zhang = Customer.objects.get(external_id="A1")
    assert zhang.phones.count() == 1 and zhang.emails.count() == 1
    assert MatchKey.objects.filter(customer_id=zhang.pk).exists()
    assert "13812345678" in zhang.search_text and "zhangwei" in zhang.search_text


def test_the_error_file_can_be_fixed_and_imported_again(company, tmp_path):
    job = run_import(tmp_path, BAD_FILE, company.admin)
    buffer = io.StringIO()
    assert write_error_rows(job, buffer) == job.rejected
    rows = list(csv.DictReader(io.StringIO(buffer.getvalue())))
    assert [r["import_row"] for r in rows] == ["3", "4", "5", "6", "7", "8"]
    assert rows[0]["external_id"] == "A2" and rows[0]["import_error"].startswith("name:")
    # Fix the rows and import the error file itself: the extra columns are ignored.
    for row in rows:
        row["name"] = row["name"] or "补名"
        row.update(phone="", email="", birth_date="", kind="", owner="")
    fixed = io.StringIO()
    writer = csv.DictWriter(fixed, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    again = run_import(tmp_path, fixed.getvalue(), company.admin, name="fixed.csv")
    assert (again.created, again.rejected) == (6, 0)


def test_a_row_with_a_nul_character_is_rejected_and_the_others_imported(company, tmp_path):
    # PostgreSQL's text cannot hold NUL: the row used to stop the whole import there.
    content = HEADER + "N1,客户己\x00,,13800000008,,,,,,,,\nN2,客户庚,,13800000009,,,,,,,,\n"
    job = run_import(tmp_path, content, company.admin)
    assert_accounted(job, 2)
    assert (job.created, job.rejected) == (1, 1)
    error = ImportRowError.objects.get(job=job)
    assert error.reason == "name: contains a NUL character (0x00), which is not text"
    assert error.cells[:2] == ["N1", "客户己"]
    assert Customer.objects.filter(external_id="N2").exists()


def test_a_row_with_values_beyond_the_header_is_rejected_and_kept_whole(company, tmp_path):
    # An unquoted comma in the city shifts the row: its last value has no column. Cutting it
    # off would import the rest as if nothing happened.
    content = "name,phone,city\n张伟,13812345678,上海,浦东\n王芳,13900001111,北京\n"
    job = run_import(tmp_path, content, company.admin)
    assert_accounted(job, 2)
    assert (job.created, job.rejected) == (1, 1)
    error = ImportRowError.objects.get(job=job)
    assert error.reason.startswith("the row has values beyond the last column of the header")
    assert not Customer.objects.filter(name="张伟").exists()
    # The error file has every cell of the row, the one beyond the header in a column of its
    # own, so nothing is lost when it is fixed and imported again.
    buffer = io.StringIO()
    write_error_rows(job, buffer)
    header, row = list(csv.reader(io.StringIO(buffer.getvalue())))
    assert header == ["name", "phone", "city", "column_4", "import_row", "import_error"]
    assert row[:5] == ["张伟", "13812345678", "上海", "浦东", "2"]


def test_a_quote_left_open_in_a_name_does_not_make_a_customer_of_two_rows(company, tmp_path):
    # The quote closes on the next line: both lines become one row whose name holds a line
    # break, which no name does.
    content = HEADER + 'L1,"客户辛,,13800000010,,,,,,,,\n客户壬",,13800000011,,,,,,,,\n'
    content += "L3,客户癸,,13800000012,,,,,,,,\n"
    job = run_import(tmp_path, content, company.admin)
    assert_accounted(job, 2)
    assert (job.created, job.rejected) == (1, 1)
    error = ImportRowError.objects.get(job=job)
    assert error.reason == "name: one line only: no line breaks, tabs or control characters"
    assert not Customer.objects.filter(name__contains="\n").exists()


def test_a_gbk_file_imports_its_chinese_intact(company, tmp_path):
    content = "客户编号,姓名,手机,邮箱\nG1,欧阳娜娜,13812340000,na@example.com\n".encode("gbk")
    mapping = {"客户编号": "external_id", "姓名": "name", "手机": "phone", "邮箱": "email"}
    job = run_import(tmp_path, content, company.admin, mapping=mapping)
    assert (job.created, job.rejected) == (1, 0)
    assert Customer.objects.get(external_id="G1").name == "欧阳娜娜"


def test_importing_the_same_file_again_changes_nothing(company, tmp_path):
    first = run_import(tmp_path, BAD_FILE, company.admin)
    state = list(Customer.objects.order_by("pk").values_list("pk", "version", "updated_at"))
    events = AuditEvent.objects.exclude(action=AuditEvent.Action.IMPORT).count()
    second = run_import(tmp_path, BAD_FILE, company.admin)
    assert_accounted(second, first.rows_read)
    assert second.created == 0 and second.rejected == first.rejected
    assert second.unchanged == second.updated + second.merged
    assert list(Customer.objects.order_by("pk").values_list("pk", "version", "updated_at")) == state
    assert AuditEvent.objects.exclude(action=AuditEvent.Action.IMPORT).count() == events


def test_an_update_by_external_id_changes_only_what_the_row_says(company, tmp_path):
    run_import(tmp_path, HEADER + "U1,张伟,,13812345678,,,,,,VIP,potential,\n", company.admin)
    customer = Customer.objects.get(external_id="U1")
    job = run_import(
        tmp_path,
        HEADER + "U1,张伟,华瑞科技,13900001111,zw@example.com,,,,,新标签,signed,\n",
        company.admin,
    )
    assert (job.updated, job.unchanged) == (1, 0)
    customer.refresh_from_db()
    assert customer.kind == "signed" and customer.company == "华瑞科技" and customer.version == 2
    assert set(customer.phones.values_list("number", flat=True)) == {
        "+8613812345678",
        "+8613900001111",
    }
    assert set(customer.tags.values_list("name", flat=True)) == {"VIP", "新标签"}
    event = AuditEvent.objects.get(customer_id=customer.pk, action=AuditEvent.Action.UPDATE)
    assert event.changes["kind"] == {"before": "potential", "after": "signed"}
    assert "emails" in event.changes


def test_an_update_keeps_the_duplicate_index_exact_and_rewrites_only_what_changed(
    company, tmp_path
):
    from guanxi.dedup.keys import refresh_match_keys
    from guanxi.dedup.models import MatchProfile

    def index_of(pk):
        keys = MatchKey.objects.filter(customer_id=pk)
        return (
            {key.key_hash: key.pk for key in keys},
            MatchProfile.objects.get(customer_id=pk).profile,
        )

    run_import(tmp_path, HEADER + "U1,张伟,,13812345678,,上海,,,,VIP,potential,\n", company.admin)
    customer = Customer.objects.get(external_id="U1")
    keys_before, profile_before = index_of(customer.pk)
    # A tag and a kind: nothing duplicate detection looks at.
    run_import(tmp_path, HEADER + "U1,张伟,,,,,,,,新标签,signed,\n", company.admin)
    assert index_of(customer.pk) == (keys_before, profile_before)
    # A new phone and email: new keys and a new profile, the keys that still hold kept.
    job = run_import(
        tmp_path, HEADER + "U1,张伟,,13900001111,zw@example.com,,,,,,,\n", company.admin
    )
    assert job.updated == 1
    keys_after, profile_after = index_of(customer.pk)
    assert profile_after != profile_before and len(keys_after) > len(keys_before)
    assert all(keys_after[k] == pk for k, pk in keys_before.items() if k in keys_after)
    # Exactly what computing the index from the customer gives.
    refresh_match_keys([customer.pk])
    recomputed_keys, recomputed_profile = index_of(customer.pk)
    assert set(recomputed_keys) == set(keys_after) and recomputed_profile == profile_after


def test_dedup_modes(company, tmp_path):
    existing = customer_create(
        actor=company.admin,
        data={"name": "张伟", "phones": ["13812345678"], "emails": ["zw@example.com"]},
    )
    row = HEADER + ",張偉,,+86 138 1234 5678,ZW@example.com,,,,,,,\n"
    off = run_import(tmp_path, row, company.admin, dedup="off")
    assert off.created == 1
    Customer.objects.exclude(pk__in=[existing.pk, *company_ids(company)]).delete()
    review = run_import(tmp_path, row, company.admin, dedup="review")
    assert (review.created, review.queued_for_review) == (1, 1)
    pair = DuplicatePair.objects.get()
    assert existing.pk in (pair.left_id, pair.right_id) and pair.source == "import"
    assert pair.score >= 0.98
    Customer.objects.exclude(pk__in=[existing.pk, *company_ids(company)]).delete()
    auto = run_import(tmp_path, row, company.admin, dedup="auto")
    assert (auto.created, auto.merged) == (0, 1)
    assert Customer.objects.filter(name__in=["张伟", "張偉"]).count() == 1


def company_ids(company) -> list[int]:
    return [c.pk for c in company.customers.values()]


def test_a_rep_cannot_update_or_merge_into_customers_they_may_not_change(company, tmp_path):
    theirs = customer_create(
        actor=company.rep_west,
        data={"name": "West 张伟", "phones": ["13812345678"], "external_id": "W1"},
    )
    content = HEADER + "W1,改名,,,,,,,,,,\n" + ",West 张伟,,13812345678,,,,,,,,\n"
    job = run_import(tmp_path, content, company.rep)
    assert (job.rejected, job.created, job.merged) == (1, 1, 0)
    assert "not yours to change" in ImportRowError.objects.get(job=job).reason
    theirs.refresh_from_db()
    assert theirs.name == "West 张伟" and theirs.version == 1
    # The sure duplicate was created and queued for someone who may decide.
    assert DuplicatePair.objects.filter(source="import").count() == 1
    assert job.queued_for_review == 1


@pytest.mark.parametrize(
    "language, said",
    [
        ("en", "external_id: the customer W1 exists, and it is not yours to change"),
        ("zh-hans", "external_id：客户 W1 已存在，但您无权修改它"),
    ],
)
def test_a_colleagues_customer_imported_again_is_refused_as_not_yours_to_change(
    company, tmp_path, back_to_english, language, said
):
    # As the colleague's export has it: with its owner, whom the rep may not assign customers
    # to. The row is refused for the customer, which no change of its owner cell would let in.
    theirs = customer_create(actor=company.rep_west, data={"name": "West", "external_id": "W1"})
    content = HEADER + "W1,West 改名,,,,,,,,,,rep_west\n" + "N1,新客户,,,,,,,,,,rep_west\n"
    translation.activate(language)
    job = run_import(tmp_path, content, company.rep)
    assert_accounted(job, 2)
    assert (job.rejected, job.created) == (2, 0)
    reasons = dict(ImportRowError.objects.filter(job=job).values_list("row_number", "reason"))
    assert reasons[2] == said
    # A new customer keyed by an unknown external id is still told about its owner.
    assert reasons[3].startswith(("owner:", "owner："))
    theirs.refresh_from_db()
    assert theirs.name == "West" and theirs.version == 1


def test_a_dry_run_counts_everything_and_writes_nothing(company, tmp_path):
    before = (Customer.objects.count(), AuditEvent.objects.count(), MatchKey.objects.count())
    job = run_import(tmp_path, BAD_FILE, company.admin, dry_run=True)
    assert_accounted(job, 10)
    assert (job.created, job.updated, job.merged, job.rejected) == (2, 1, 1, 6)
    assert (
        Customer.objects.count(),
        AuditEvent.objects.count(),
        MatchKey.objects.count(),
    ) == before


def _many_rows(count: int) -> str:
    lines = [HEADER]
    for i in range(count):
        lines.append(f"M{i},客户{i:04d},,{13800000000 + i},m{i}@example.com,,,,,,,\n")
    return "".join(lines)


def test_a_crash_leaves_the_finished_batches_and_resuming_completes(company, tmp_path, monkeypatch):
    content = _many_rows(250)
    original = customer_import.CustomerImporter._create
    calls = {"n": 0}

    def crash_in_third_batch(self, new, *args):
        calls["n"] += 1
        original(self, new, *args)
        if calls["n"] == 3:
            args[-1].wait()  # the batch's customers are written: the crash must undo them
            raise RuntimeError("disk full")

    monkeypatch.setattr(customer_import.CustomerImporter, "_create", crash_in_third_batch)
    path = tmp_path / "many.csv"
    path.write_text(content)
    job = import_job_create(actor=company.admin, path=path, filename="many.csv", kind="customers")
    with pytest.raises(RuntimeError):
        import_job_run(job=job, batch_size=100)
    job.refresh_from_db()
    # Batches one and two are in, the third (written before the crash) rolled back.
    assert job.status == ImportJob.Status.FAILED and "disk full" in job.message
    assert (job.rows_read, job.created, job.last_row) == (200, 200, 201)
    assert Customer.objects.filter(external_id__startswith="M").count() == 200
    assert MatchKey.objects.filter(customer__external_id__startswith="M").count() > 0

    monkeypatch.setattr(customer_import.CustomerImporter, "_create", original)
    import_job_run(job=job, batch_size=100)
    job.refresh_from_db()
    assert job.status == ImportJob.Status.FINISHED
    assert_accounted(job, 250)
    assert Customer.objects.filter(external_id__startswith="M").count() == 250
    assert (
        AuditEvent.objects.filter(
            action=AuditEvent.Action.CREATE, customer_id__in=Customer.objects.values("pk")
        ).count()
        >= 250
    )


def test_duplicates_across_batches_are_merged(company, tmp_path):
    content = (
        HEADER
        + "".join(f",客户{i:03d},,{13800000000 + i},,,,,,,,\n" for i in range(30))
        + ",客户007,,+86 138 0000 0007,,,,,,,,\n"
    )
    job = run_import(tmp_path, content, company.admin, batch_size=10)
    assert (job.created, job.merged) == (30, 1)


def test_an_xlsx_file_imports_like_csv(company, tmp_path):
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["name", "phone", "birth_date"])
    sheet.append(["张三", 13812349999, "1990-05-06"])
    path = tmp_path / "a.xlsx"
    workbook.save(path)
    job = import_job_create(actor=company.admin, path=path, filename="a.xlsx", kind="customers")
    job = import_job_run(job=job)
    assert (job.created, job.rejected) == (1, 0)
    assert Customer.objects.get(name="张三").phones.get().number == "+8613812349999"


def test_mapping_and_permission_problems_are_refused_before_anything_is_written(company, tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("姓名,电话\n张三,13812349999\n")
    with pytest.raises(ValidationError) as error:
        import_job_create(actor=company.admin, path=path, filename="a.csv", kind="customers")
    assert "name" in str(error.value)
    with pytest.raises(ValidationError):
        import_job_create(
            actor=company.admin,
            path=path,
            filename="a.csv",
            kind="customers",
            mapping={"姓名": "nmae"},
        )
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        import_job_create(
            actor=company.analyst,
            path=path,
            filename="a.csv",
            kind="customers",
            mapping={"姓名": "name"},
        )
    assert not ImportJob.objects.exists()


def test_a_customer_changed_by_one_batch_is_compared_as_it_became_in_the_next(company, tmp_path):
    # The first row merges into 客户甲 and brings a second phone; the second row has only that
    # phone. It finds 客户甲 only if the candidate is compared as the first batch left it, not as
    # it was read (and kept) for the first batch's comparison.
    content = (
        HEADER + ",客户甲,,13800000001;13900000002,,,,,,,,\n" + ",客户甲,,13900000002,,,,,,,,\n"
    )
    existing = customer_create(
        actor=company.admin, data={"name": "客户甲", "phones": ["13800000001"]}
    )
    job = run_import(tmp_path, content, company.admin, batch_size=1)
    assert (job.created, job.merged) == (0, 2)
    assert set(existing.phones.values_list("number", flat=True)) == {
        "+8613800000001",
        "+8613900000002",
    }


def test_an_edit_made_by_someone_else_during_the_import_is_seen(company, tmp_path, monkeypatch):
    # Candidates are kept from batch to batch only for CANDIDATE_CACHE_SECONDS; at zero, the
    # second row meets the phone a colleague added after the first batch.
    monkeypatch.setattr(customer_import, "CANDIDATE_CACHE_SECONDS", 0.0)
    existing = customer_create(
        actor=company.admin, data={"name": "客户乙", "phones": ["13800000003"]}
    )
    content = (
        HEADER
        + ",客户乙,,13800000003,,,,,,,,\n"  # changes nothing: 客户乙 stays in the cache
        + ",客户乙,,13900000004,,上海,,,,,,\n"
    )

    def colleague_adds_a_phone(rows: int) -> None:
        if rows and not existing.phones.filter(number="+8613900000004").exists():
            current = Customer.objects.get(pk=existing.pk)
            customer_update(
                actor=company.admin,
                customer_id=existing.pk,
                expected_version=current.version,
                data={"phones": ["13800000003", "13900000004"]},
            )

    path = tmp_path / "customers.csv"
    path.write_text(content)
    job = import_job_create(
        actor=company.admin, path=path, filename="customers.csv", kind="customers", via="web"
    )
    job = import_job_run(job=job, batch_size=1, progress=colleague_adds_a_phone)
    assert (job.created, job.merged) == (0, 2)
    # The audit rows the importer's writing thread made say where the change came from.
    merges = AuditEvent.objects.filter(customer_id=existing.pk, summary__startswith="Imported")
    assert [event.via for event in merges] == ["web"]


def test_rows_whose_customer_is_deleted_while_the_batch_is_matched_are_rejected(
    company, tmp_path, monkeypatch
):
    updated = customer_create(
        actor=company.admin, data={"name": "客户丙", "external_id": "C1", "phones": ["13800000005"]}
    )
    duplicated = customer_create(
        actor=company.admin, data={"name": "客户丁", "phones": ["13800000006"]}
    )
    kept = customer_create(actor=company.admin, data={"name": "客户戊", "phones": ["13800000007"]})
    content = (
        HEADER
        + "C1,客户丙,,,,上海,,,,,,\n"  # an update by external id
        + "C2,客户丁,,13800000006,,上海,,,,,,\n"  # a merge into 客户丁
        + "C2,客户丁,,,,,,,,,signed,\n"  # follows the row before it
        + ",客户戊,,13800000007,,上海,,,,,,\n"  # a merge into a customer nobody touches
    )
    match = customer_import.CustomerImporter._match

    def colleague_deletes_two_customers_meanwhile(importer, *args):
        found = match(importer, *args)
        for customer in (updated, duplicated):
            customer_delete(actor=company.admin, customer_id=customer.pk)
        return found

    monkeypatch.setattr(
        customer_import.CustomerImporter, "_match", colleague_deletes_two_customers_meanwhile
    )
    job = run_import(tmp_path, content, company.admin)
    assert_accounted(job, 4)
    assert (job.updated, job.merged, job.rejected) == (0, 1, 3)
    errors = ImportRowError.objects.filter(job=job).order_by("row_number")
    reasons = list(errors.values_list("reason", flat=True))
    assert "external_id: the customer C1 was deleted" in reasons[0]
    assert all("the customer this row duplicates was deleted" in r for r in reasons[1:])
    # Nothing was written into the customers in the recycle bin.
    for customer in (updated, duplicated):
        gone = Customer.objects.get(pk=customer.pk)
        assert gone.deleted_at is not None and gone.addresses.count() == 0
        assert gone.kind == customer.kind
    assert Customer.objects.get(pk=kept.pk).addresses.get().city == "上海"


def test_while_a_batch_is_written_behind_only_the_writing_thread_uses_the_connection(
    company, tmp_path, monkeypatch
):
    # The importer's thread must not query while the writes run on its connection (see
    # guanxi.core.write_behind): a lazy query there would interleave with them.
    customer_create(
        actor=company.admin,
        data={"name": "客户丙", "phones": ["13800000005"], "external_id": "C1"},
    )
    content = (
        HEADER
        + "C1,客户丙,,13800000005,bing@example.com,上海,,,,新标签,,\n"  # an update
        + ",客户丙,,13800000005,,,,,,VIP,,\n"  # merges
        + "C2,客户丁,,13800000006,ding@example.com,,,,,VIP;另一个,,\n"  # new
        + "C2,客户丁,,13800000007,,,,,,,,\n"  # updates the new one
    )
    active = threading.Event()
    queries = []

    class Watched(customer_import.WriteBehind):
        def __enter__(self):
            active.set()
            return super().__enter__()

        def __exit__(self, *exc):
            try:
                return super().__exit__(*exc)
            finally:
                active.clear()

    def record(execute, sql, params, many, context):
        queries.append((threading.current_thread().name, active.is_set(), sql))
        return execute(sql, params, many, context)

    monkeypatch.setattr(customer_import, "WriteBehind", Watched)
    with connection.execute_wrapper(record):
        job = run_import(tmp_path, content, company.admin, batch_size=2)
    assert (job.created, job.updated, job.merged) == (1, 2, 1)
    behind = [(thread, sql) for thread, during, sql in queries if during]
    assert behind and all(thread == "write-behind" for thread, _sql in behind), [
        sql for thread, sql in behind if thread != "write-behind"
    ]
