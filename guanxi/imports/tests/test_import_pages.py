"""The import pages: upload, map with a preview, check, start (as a background task), follow the
progress, download the rejected rows; and who may see which import."""

import csv
import io
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from guanxi.core.testing.uploads import browser_client, post_multipart
from guanxi.customers.models import Customer
from guanxi.imports.job_locks import job_lock
from guanxi.imports.models import ImportJob
from guanxi.imports.services import import_job_create, import_job_run, write_error_rows

from .files import damaged_xlsx

pytestmark = pytest.mark.django_db

CONTENT = "姓名,手机,邮箱,客户编号\n张三,138 1234 0001,zs@example.com,W1\n李四,12345,,W2\n".encode(
    "gbk"
)


def _upload(client, content=CONTENT, name="客户.csv", kind="customers"):
    return client.post(
        "/imports/new/",
        {"file": SimpleUploadedFile(name, content), "kind": kind, "dedup": "auto"},
    )


def test_upload_map_check_start_and_download_the_rejected_rows(client, company):
    client.force_login(company.rep)
    response = _upload(client)
    job = ImportJob.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/imports/{job.pk}/mapping/"
    assert job.status == ImportJob.Status.DRAFT and job.total_rows == 2

    page = client.get(f"/imports/{job.pk}/mapping/").content.decode()
    # Chinese headers are recognised; the preview shows the file's rows.
    assert 'value="name" title' in page and "138 1234 0001" in page
    selected = dict(job.mapping)
    assert selected == {"姓名": "name", "手机": "phone", "邮箱": "email", "客户编号": "external_id"}

    form = {f"map_{i}": target for i, target in enumerate(selected.values())}
    checked = client.post(f"/imports/{job.pk}/mapping/", {**form, "action": "check"})
    report = checked.content.decode()
    assert "2 rows checked: 1 can be imported, 1 would be rejected." in report
    assert not Customer.objects.filter(name="张三").exists()

    started = client.post(f"/imports/{job.pk}/mapping/", {**form, "action": "start"})
    assert started.status_code == 302 and started["Location"] == f"/imports/{job.pk}/"
    job.refresh_from_db()
    assert job.status == ImportJob.Status.FINISHED and (job.created, job.rejected) == (1, 1)
    customer = Customer.objects.get(external_id="W1")
    assert customer.owner == company.rep and customer.name == "张三"

    detail = client.get(f"/imports/{job.pk}/").content.decode()
    assert 'id="count-created">1<' in detail and "Download the rejected rows" in detail
    fragment = client.get(f"/imports/{job.pk}/", headers={"HX-Request": "true"})
    assert b"<html" not in fragment.content and b"import-progress" in fragment.content
    errors = client.get(f"/imports/{job.pk}/errors.csv")
    rows = list(csv.DictReader(io.StringIO(errors.content.decode("utf-8-sig"))))
    assert rows == [
        {
            "姓名": "李四",
            "手机": "12345",
            "邮箱": "",
            "客户编号": "W2",
            "import_row": "3",
            "import_error": rows[0]["import_error"],
        }
    ]
    # Named as the file names the column, with the field it was mapped to.
    assert rows[0]["import_error"].startswith("手机 (phone): ")


def test_a_wrong_mapping_is_explained_and_nothing_starts(client, company):
    client.force_login(company.rep)
    _upload(client)
    job = ImportJob.objects.get()
    response = client.post(
        f"/imports/{job.pk}/mapping/", {"map_0": "", "map_1": "phone", "action": "start"}
    )
    assert response.status_code == 422
    assert "No column is mapped to name" in response.content.decode()
    job.refresh_from_db()
    assert job.status == ImportJob.Status.DRAFT


@pytest.mark.parametrize("target", ["name\x00", "password"], ids=["NUL", "no such field"])
def test_a_choice_the_mapping_page_does_not_offer_is_named_and_never_stored(
    client, company, target
):
    """One holding a NUL character was stored with the job before the check named it, and
    PostgreSQL refused it: a server error."""
    client.force_login(company.rep)
    _upload(client)
    job = ImportJob.objects.get()
    response = client.post(
        f"/imports/{job.pk}/mapping/", {"map_0": target, "map_1": "phone", "action": "check"}
    )
    assert response.status_code == 422
    assert "which is not a field" in response.content.decode()
    job.refresh_from_db()
    assert job.mapping == {"手机": "phone"} and job.status == ImportJob.Status.DRAFT


def test_the_same_file_uploaded_twice_in_one_second_keeps_two_copies(client, company, monkeypatch):
    # Both uploads happen at one frozen instant, so a name made of the time and the file's
    # digest alone would be shared and the second copy would overwrite the first.
    frozen = timezone.now()
    monkeypatch.setattr(timezone, "now", lambda: frozen)
    client.force_login(company.rep)
    _upload(client)
    _upload(client)
    first, second = ImportJob.objects.order_by("pk")
    assert first.path != second.path and first.file_sha256 == second.file_sha256
    for job in (first, second):
        assert Path(job.path).read_bytes() == CONTENT
        page = client.get(f"/imports/{job.pk}/mapping/")
        assert page.status_code == 200 and "138 1234 0001" in page.content.decode()


def test_unreadable_uploads_are_refused_on_the_form(client, company):
    client.force_login(company.rep)
    response = _upload(client, content=b"PK\x03\x04broken", name="x.xlsx")
    assert response.status_code == 422 and "not a readable XLSX" in response.content.decode()
    assert not ImportJob.objects.exists()


@pytest.mark.parametrize(
    ("header", "problem"),
    [
        (b"name,ph\xffone", "it is not valid UTF-8 text (byte 0xff); save the file as UTF-8"),
        (b"name,ph\x00one", "column 2: contains a NUL character (0x00), which is not text"),
    ],
    ids=["undecodable byte", "NUL"],
)
def test_a_header_row_no_page_or_column_can_hold_is_refused_on_the_form(
    client, company, header, problem
):
    """Such a header was stored with the job (PostgreSQL refused it: a server error on
    uploading) and shown on the mapping page (a server error on opening it)."""
    client.force_login(company.rep)
    response = _upload(client, content=header + b"\nA,1\n", name="a.csv")
    assert response.status_code == 422
    assert f"The header row cannot be read: {problem}" in response.content.decode()
    assert not ImportJob.objects.exists()


def test_a_file_of_more_columns_than_the_mapping_page_posts_is_refused_on_the_form(
    client, company, settings
):
    """Django refuses a form of more fields than DATA_UPLOAD_MAX_NUMBER_FIELDS: such a file
    was taken, and its mapping page then answered "Check" and "Start" with a bad request."""
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 40  # the page maps 30 columns
    client.force_login(company.rep)

    def upload(columns: int):
        header = ",".join(["name", *(f"extra {i}" for i in range(1, columns))])
        return _upload(client, content=f"{header}\n张三\n".encode(), name="wide.csv")

    response = upload(31)
    assert response.status_code == 422
    assert "The file has 31 columns; this page maps at most 30." in response.content.decode()
    assert not ImportJob.objects.exists()
    response = upload(30)
    assert response.status_code == 302
    page = client.get(response["Location"])
    posted = {f"map_{i}": "" for i in range(1, 30)}
    checked = client.post(response["Location"], {"map_0": "name", **posted, "action": "check"})
    assert page.status_code == checked.status_code == 200


def test_imports_belong_to_who_started_them(client, company):
    client.force_login(company.rep)
    _upload(client)
    job = ImportJob.objects.get()
    for username, expected in (("teammate", 404), ("manager", 404), ("admin", 200)):
        client.force_login(company.users[username])
        for url in (f"/imports/{job.pk}/", f"/imports/{job.pk}/errors.csv"):
            assert client.get(url).status_code == expected, (username, url)
        mapping = client.get(f"/imports/{job.pk}/mapping/").status_code
        assert mapping == expected, username
    client.force_login(company.analyst)
    assert client.get("/imports/").status_code == 403
    assert client.get("/imports/new/").status_code == 403
    assert _upload(client).status_code == 403
    assert ImportJob.objects.count() == 1


def test_a_damaged_xlsx_is_refused_on_the_form(client, company):
    client.force_login(company.rep)
    response = _upload(client, content=damaged_xlsx(), name="客户.xlsx")
    assert response.status_code == 422 and "damaged" in response.content.decode()
    assert not ImportJob.objects.exists()


def test_the_rejected_rows_of_a_command_line_import_download_after_its_file_is_gone(
    client, company, tmp_path
):
    path = tmp_path / "people.csv"
    path.write_text("name,phone\n张三,123\n")
    job = import_job_create(actor=company.rep, path=path, filename=path.name, kind="customers")
    import_job_run(job=job)
    path.unlink()  # the user tidied up their downloads folder
    client.force_login(company.rep)
    assert client.get(f"/imports/{job.pk}/").status_code == 200
    response = client.get(f"/imports/{job.pk}/errors.csv")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == ["name", "phone", "import_row", "import_error"]
    assert rows[1][:3] == ["张三", "123", "2"]


def test_columns_sharing_a_header_are_refused_rather_than_mapped_as_one(client, company, tmp_path):
    # The form has a choice per column, but a mapping is kept by header: of the two 备注
    # columns only one choice would count, without a word. The upload says so at once, and
    # keeps nothing: such a draft could never be started.
    client.force_login(company.rep)
    content = "姓名,备注,电话,备注\n张三,VIP客户,13812340001,老客户\n".encode()
    response = _upload(client, content)
    assert response.status_code == 422
    assert "same header: “备注”" in response.content.decode()
    assert not ImportJob.objects.exists()
    # A draft made before uploads were checked for it is refused on its mapping page.
    path = tmp_path / "notes.csv"
    path.write_bytes(content)
    job = import_job_create(
        actor=company.rep,
        path=path,
        filename="notes.csv",
        kind="customers",
        check_mapping=False,
        via="web",
    )
    page = client.get(f"/imports/{job.pk}/mapping/").content.decode()
    assert "same header: “备注”" in page and 'value="start"' not in page
    form = {"map_0": "name", "map_1": "notes", "map_2": "phone", "map_3": "", "action": "start"}
    response = client.post(f"/imports/{job.pk}/mapping/", form)
    assert response.status_code == 422
    assert "give every column a distinct name" in response.content.decode()
    job.refresh_from_db()
    assert job.status == ImportJob.Status.DRAFT
    assert not Customer.objects.filter(name="张三").exists()


def test_empty_columns_after_the_last_header_are_no_columns_sharing_a_header(client, company):
    # A spreadsheet saves the columns it once formatted as empty ones ("name,phone,,"): read as
    # two columns without a header, the upload refused the file as columns sharing a header,
    # though a workbook's empty columns were never read as columns.
    client.force_login(company.rep)
    content = "姓名,手机,,\n张三,13812340001,,\n李四,13812340002,,注意\n".encode()
    response = _upload(client, content)
    assert response.status_code == 302
    job = ImportJob.objects.get()
    assert job.mapping == {"姓名": "name", "手机": "phone"}
    form = {"map_0": "name", "map_1": "phone", "action": "start"}
    assert client.post(f"/imports/{job.pk}/mapping/", form).status_code == 302
    job.refresh_from_db()
    # A value under no header is still named, as it always was.
    assert (job.created, job.rejected) == (1, 1)
    assert "values beyond the last column of the header (column 4" in job.errors.get().reason
    assert Customer.objects.filter(name="张三").exists()


def test_a_request_saying_it_carries_more_than_the_limit_is_refused_before_it_is_read(
    client, company, settings
):
    # Read first, the whole body would be written to a temporary file, however large, only
    # for the form to refuse it. The request says its length: more than any file the upload
    # takes, it is refused unread (the body sent here is small, which reading would find).
    settings.GUANXI_IMPORT_MAX_UPLOAD_MB = 1
    client.force_login(company.rep)
    response = client.post(
        "/imports/new/",
        {"file": SimpleUploadedFile("客户.csv", CONTENT), "kind": "customers", "dedup": "auto"},
        CONTENT_LENGTH=str(5 * 1024 * 1024),
    )
    assert response.status_code == 413
    assert "The file is larger than 1 MB; split it or use the command line." in (
        response.content.decode()
    )
    assert not ImportJob.objects.exists()


def test_an_upload_over_the_limit_is_refused_before_the_csrf_check_reads_it(
    company, settings, uploads, tmp_path
):
    # The CSRF check reads a post's body as the middleware runs, before the view: refused only
    # after, a file of any size was written whole to a temporary file first.
    settings.GUANXI_IMPORT_MAX_UPLOAD_MB = 1
    settings.FILE_UPLOAD_TEMP_DIR = tmp_path / "tmp"
    settings.FILE_UPLOAD_TEMP_DIR.mkdir()
    client = browser_client(company.rep)
    response, body = post_multipart(
        client,
        "/imports/new/",
        {
            "file": SimpleUploadedFile("客户.csv", CONTENT * 40_000),
            "kind": "customers",
            "dedup": "auto",
        },
    )
    assert response.status_code == 413
    assert "The file is larger than 1 MB; split it or use the command line." in (
        response.content.decode()
    )
    assert body.read_bytes < body.size // 2
    assert not ImportJob.objects.exists()
    assert not uploads.exists() or not any(uploads.iterdir())
    assert not any(settings.FILE_UPLOAD_TEMP_DIR.iterdir())


def test_a_file_just_over_the_limit_is_refused_as_it_is_read(company, settings, uploads, tmp_path):
    # Within what the request may say it carries (the limit and room for the form), so read:
    # the file is stopped at the limit, and the rest read through without being kept.
    settings.GUANXI_IMPORT_MAX_UPLOAD_MB = 1
    settings.FILE_UPLOAD_TEMP_DIR = tmp_path / "tmp"
    settings.FILE_UPLOAD_TEMP_DIR.mkdir()
    client = browser_client(company.rep)
    over = CONTENT + b"x" * (1024 * 1024 + 63 * 1024 - len(CONTENT))

    def upload(**fields):
        return {"file": SimpleUploadedFile("客户.csv", over), "kind": "customers", **fields}

    response, body = post_multipart(client, "/imports/new/", upload())
    assert response.status_code == 413 and body.read_bytes == body.size
    assert "The file is larger than 1 MB" in response.content.decode()
    # From another site (a token not the cookie's): the CSRF failure, as for any other post.
    forged, _body = post_multipart(client, "/imports/new/", upload(csrfmiddlewaretoken="f" * 32))
    assert forged.status_code == 403
    assert not ImportJob.objects.exists()
    assert not uploads.exists() or not any(uploads.iterdir())
    assert not any(settings.FILE_UPLOAD_TEMP_DIR.iterdir())


def test_a_file_exactly_at_the_limit_is_taken(company, settings, uploads):
    settings.GUANXI_IMPORT_MAX_UPLOAD_MB = 1
    rows = CONTENT + "王五,138 1234 0003,ww@example.com,W3\n".encode()
    at_limit = rows + b"#" * (1024 * 1024 - len(rows))
    assert len(at_limit) == 1024 * 1024
    response, _body = post_multipart(
        browser_client(company.rep),
        "/imports/new/",
        {"file": SimpleUploadedFile("客户.csv", at_limit), "kind": "customers", "dedup": "auto"},
    )
    assert response.status_code == 302
    assert ImportJob.objects.get().filename == "客户.csv"


def test_an_upload_sent_in_chunks_is_refused_saying_so(company, settings, uploads):
    # Without a Content-Length Django reads nothing of the body: the page came back as if
    # nothing had been posted, with not a word.
    settings.GUANXI_IMPORT_MAX_UPLOAD_MB = 1
    client = browser_client(company.rep)
    response, _body = post_multipart(
        client,
        "/imports/new/",
        {
            "file": SimpleUploadedFile("客户.csv", CONTENT * 40_000),
            "kind": "customers",
            "dedup": "auto",
        },
        chunked=True,
    )
    assert response.status_code == 411
    assert "The upload did not say its size, so it could not be received" in (
        response.content.decode()
    )
    assert not ImportJob.objects.exists()
    assert not uploads.exists() or not any(uploads.iterdir())


def test_an_upload_within_the_limit_is_csrf_checked_and_taken(company, uploads):
    client = browser_client(company.rep)
    response, body = post_multipart(
        client,
        "/imports/new/",
        {"file": SimpleUploadedFile("客户.csv", CONTENT), "kind": "customers", "dedup": "auto"},
    )
    assert response.status_code == 302 and body.read_bytes == body.size
    assert ImportJob.objects.get().total_rows == 2
    # The check is the view's own now; it still refuses a post without the token.
    forged = client.post(
        "/imports/new/",
        {"file": SimpleUploadedFile("客户.csv", CONTENT), "kind": "customers", "dedup": "auto"},
    )
    assert forged.status_code == 403 and ImportJob.objects.count() == 1


def test_only_the_uploader_maps_and_starts_an_import(client, company):
    # The import runs as the job's user: an administrator pressing Start on a rep's draft
    # would create customers audited under the rep's name.
    client.force_login(company.rep)
    _upload(client)
    job = ImportJob.objects.get()
    client.force_login(company.admin)
    page = client.get(f"/imports/{job.pk}/mapping/")
    assert page.status_code == 200 and 'value="start"' not in page.content.decode()
    assert 'id="not-yours"' in page.content.decode()
    form = {"map_0": "name", "map_1": "phone", "action": "start"}
    for action in ("start", "check"):
        response = client.post(f"/imports/{job.pk}/mapping/", {**form, "action": action})
        assert response.status_code == 403
    job.refresh_from_db()
    assert job.status == ImportJob.Status.DRAFT and job.mapping["姓名"] == "name"
    assert not Customer.objects.filter(name="张三").exists()


def test_the_check_of_interaction_and_order_files_finds_the_rows_to_be_rejected(client, company):
    client.force_login(company.rep)
    orders = "customer_id,ordered_on,amount\n999999,not a date,lots\n"
    orders += f"{company.rep_customer.pk},2026-01-02,100\n"
    _upload(client, orders.encode(), name="orders.csv", kind="orders")
    contacts = "customer_id,subject,occurred_at\n"
    contacts += f"{company.rep_customer.pk},来电,2026-01-02\n{company.west_customer.pk},来电,\n"
    _upload(client, contacts.encode(), name="contacts.csv", kind="interactions")
    order_job, contact_job = ImportJob.objects.order_by("pk")
    form = {"map_0": "customer_id", "map_1": "ordered_on", "map_2": "amount", "action": "check"}
    page = client.post(f"/imports/{order_job.pk}/mapping/", form).content.decode()
    assert "2 rows checked: 1 can be imported, 1 would be rejected." in page
    assert "ordered_on: not a date" in page and "amount: not an amount" in page
    form = {"map_0": "customer_id", "map_1": "subject", "map_2": "occurred_at", "action": "check"}
    page = client.post(f"/imports/{contact_job.pk}/mapping/", form).content.decode()
    assert "2 rows checked: 1 can be imported, 1 would be rejected." in page
    # West's customer is out of the rep's sight: no customer, as an id nobody has is.
    assert f"customer_id: no customer {company.west_customer.pk}</" in page
    # Only a look: nothing is written.
    assert not company.rep_customer.orders.exists()
    assert not company.rep_customer.interactions.exists()


def test_the_progress_page_reloads_itself_without_javascript_while_the_import_runs(client, company):
    client.force_login(company.rep)
    _upload(client)
    job = ImportJob.objects.get()
    refresh = '<noscript><meta http-equiv="refresh"'

    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.RUNNING)
    with job_lock(job.pk):  # a runner is at it
        page = client.get(f"/imports/{job.pk}/").content.decode()
        assert refresh in page and 'id="refresh-progress"' in page
        # The htmx poll gets the fragment only: no second refresh inside the page.
        headers = {"HX-Request": "true"}
        fragment = client.get(f"/imports/{job.pk}/", headers=headers).content.decode()
        assert "http-equiv" not in fragment and "every 1s" in fragment

    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.FINISHED)
    page = client.get(f"/imports/{job.pk}/").content.decode()
    assert refresh not in page and 'id="refresh-progress"' not in page


def test_the_error_file_reads_the_rejected_rows_once(company, tmp_path):
    path = tmp_path / "people.csv"
    # The second row has a cell beyond the header: the file gets a column for it.
    path.write_text("name,phone\n张三,123\n李四,456,多余\n王五,13812340001\n")
    job = import_job_create(actor=company.rep, path=path, filename=path.name, kind="customers")
    import_job_run(job=job)
    handle = io.StringIO()
    with CaptureQueriesContext(connection) as queries:
        assert write_error_rows(job, handle) == 2
    reads = [
        query["sql"]
        for query in queries
        if "imports_importrowerror" in query["sql"] and "MAX(" not in query["sql"].upper()
    ]
    assert len(reads) == 1, reads
    rows = list(csv.reader(io.StringIO(handle.getvalue())))
    assert rows[0] == ["name", "phone", "column_3", "import_row", "import_error"]
    assert [row[:4] for row in rows[1:]] == [["张三", "123", "", "2"], ["李四", "456", "多余", "3"]]


def test_a_start_whose_task_cannot_be_queued_leaves_the_draft_to_start_again(
    client, company, monkeypatch
):
    # The job's status and its queued task commit together; a job "queued" with no task
    # behind it would wait for ever, with no button to carry it on.
    from django.db import DatabaseError

    from guanxi.imports import views

    def queue_unreachable(job_id):
        raise DatabaseError("the task queue is unreachable")

    client.force_login(company.rep)
    _upload(client)
    job = ImportJob.objects.get()
    form = {"map_0": "name", "map_1": "phone", "map_2": "email", "map_3": "external_id"}
    monkeypatch.setattr(views, "run_import_job", SimpleNamespace(enqueue=queue_unreachable))
    client.raise_request_exception = False
    failed = client.post(f"/imports/{job.pk}/mapping/", {**form, "action": "start"})
    assert failed.status_code == 500
    job.refresh_from_db()
    assert job.status == ImportJob.Status.DRAFT

    monkeypatch.undo()
    started = client.post(f"/imports/{job.pk}/mapping/", {**form, "action": "start"})
    assert started.status_code == 302
    job.refresh_from_db()
    assert job.status == ImportJob.Status.FINISHED and job.created == 1
