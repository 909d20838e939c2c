"""A dry run from the web: started from the mapping page beside the import, it reads the whole
file and writes nothing, and its page gives the counts and the rejected rows; finished, its
starter imports the same file for real from there, as a new draft with the same mapping, which
shares the uploaded file (kept while any job may still need it). A dry run killed outright says
its rejected rows were not kept, rather than promising them."""

import csv
import io
from pathlib import Path

import pytest

from guanxi.audit.models import AuditEvent
from guanxi.customers.models import Customer
from guanxi.imports.models import ImportJob
from guanxi.imports.services import import_job_discard
from guanxi.imports.tests.test_import_job_runs import _queue
from guanxi.imports.tests.test_import_pages import CONTENT, _upload

pytestmark = pytest.mark.django_db

# The mapping of CONTENT's columns (姓名,手机,邮箱,客户编号), as the mapping page posts it.
FORM = {"map_0": "name", "map_1": "phone", "map_2": "email", "map_3": "external_id"}
MAPPING = {"姓名": "name", "手机": "phone", "邮箱": "email", "客户编号": "external_id"}


def _draft(client, user) -> ImportJob:
    client.force_login(user)
    _upload(client)
    return ImportJob.objects.latest("pk")


def _dry_run(client, user, dedup="review") -> ImportJob:
    """A finished web dry run of CONTENT (one row created, one rejected) started from the
    mapping page; the test settings run the queued task at once."""
    job = _draft(client, user)
    response = client.post(
        f"/imports/{job.pk}/mapping/", {**FORM, "dedup": dedup, "action": "dry_run"}
    )
    assert response.status_code == 302 and response["Location"] == f"/imports/{job.pk}/"
    job.refresh_from_db()
    assert job.status == ImportJob.Status.FINISHED and job.dry_run
    return job


def test_the_mapping_page_starts_a_dry_run_that_writes_nothing_and_shows_its_outcome(
    client, company, uploads
):
    job = _draft(client, company.rep)
    page = client.get(f"/imports/{job.pk}/mapping/").content.decode()
    assert 'name="action" value="dry_run"' in page and ">Dry run</button>" in page
    customers, audited = Customer.objects.count(), AuditEvent.objects.count()

    response = client.post(
        f"/imports/{job.pk}/mapping/", {**FORM, "action": "dry_run"}, follow=True
    )
    page = response.content.decode()
    assert "The dry run has started." in page
    job.refresh_from_db()
    assert (job.status, job.dry_run) == (ImportJob.Status.FINISHED, True)
    assert (job.rows_read, job.created, job.updated, job.merged, job.rejected) == (2, 1, 0, 0, 1)
    assert job.mapping == MAPPING
    # Nothing written: no customer, no audit row.
    assert Customer.objects.count() == customers and AuditEvent.objects.count() == audited
    assert not Customer.objects.filter(external_id="W1").exists()

    assert 'id="count-created">1<' in page and 'id="count-rejected">1<' in page
    assert 'id="count-merged">0<' in page and 'id="count-updated">0<' in page
    assert f'href="/imports/{job.pk}/errors.csv"' in page and "Row 3" in page
    assert "dry run" in page and f'action="/imports/{job.pk}/for-real/"' in page
    errors = client.get(f"/imports/{job.pk}/errors.csv")
    rows = list(csv.DictReader(io.StringIO(errors.content.decode("utf-8-sig"))))
    assert [(row["姓名"], row["import_row"]) for row in rows] == [("李四", "3")]
    assert rows[0]["import_error"].startswith("手机 (phone): ")


def test_two_clicks_on_dry_run_queue_it_once(client, company, uploads, monkeypatch):
    job = _draft(client, company.rep)
    queued = _queue(monkeypatch)
    for _click in range(2):
        response = client.post(f"/imports/{job.pk}/mapping/", {**FORM, "action": "dry_run"})
        assert response.status_code == 302 and response["Location"] == f"/imports/{job.pk}/"
    assert queued == [(job.pk,)]
    job.refresh_from_db()
    assert (job.status, job.dry_run, job.mapping) == (ImportJob.Status.QUEUED, True, MAPPING)


def test_a_wrong_mapping_starts_no_dry_run(client, company, uploads, monkeypatch):
    job = _draft(client, company.rep)
    queued = _queue(monkeypatch)
    response = client.post(
        f"/imports/{job.pk}/mapping/", {"map_0": "", "map_1": "phone", "action": "dry_run"}
    )
    assert response.status_code == 422
    assert "No column is mapped to name" in response.content.decode()
    job.refresh_from_db()
    assert queued == [] and (job.status, job.dry_run) == (ImportJob.Status.DRAFT, False)


def test_a_finished_dry_run_is_imported_for_real_as_a_new_draft_of_the_same_file(
    client, company, uploads
):
    dry_run = _dry_run(client, company.rep, dedup="review")
    response = client.post(f"/imports/{dry_run.pk}/for-real/")
    draft = ImportJob.objects.latest("pk")
    assert draft.pk != dry_run.pk
    assert response.status_code == 302 and response["Location"] == f"/imports/{draft.pk}/mapping/"
    assert (draft.status, draft.dry_run, draft.via) == (ImportJob.Status.DRAFT, False, "web")
    assert (draft.path, draft.file_sha256, draft.filename, draft.kind) == (
        dry_run.path,
        dry_run.file_sha256,
        dry_run.filename,
        dry_run.kind,
    )
    assert (draft.mapping, draft.dedup, draft.started_by) == (MAPPING, "review", company.rep)
    assert draft.total_rows == 2 and draft.header == dry_run.header
    assert Path(draft.path).read_bytes() == CONTENT

    page = client.get(response["Location"]).content.decode()
    assert "A new import of the same file is ready" in page and "138 1234 0001" in page
    assert 'value="external_id" title="' in page and 'value="review" selected' in page
    started = client.post(f"/imports/{draft.pk}/mapping/", {**FORM, "action": "start"})
    assert started["Location"] == f"/imports/{draft.pk}/"
    draft.refresh_from_db()
    assert draft.status == ImportJob.Status.FINISHED and (draft.created, draft.rejected) == (1, 1)
    assert Customer.objects.get(external_id="W1").name == "张三"
    # The dry run is as it was, and its file is still there to import again.
    dry_run.refresh_from_db()
    assert (dry_run.status, dry_run.created) == (ImportJob.Status.FINISHED, 1)
    assert Path(dry_run.path).exists()


def test_two_clicks_on_import_for_real_make_one_draft(client, company, uploads):
    dry_run = _dry_run(client, company.rep)
    first = client.post(f"/imports/{dry_run.pk}/for-real/")
    second = client.post(f"/imports/{dry_run.pk}/for-real/")
    drafts = ImportJob.objects.filter(status=ImportJob.Status.DRAFT, dry_run=False)
    assert drafts.count() == 1
    assert first["Location"] == second["Location"] == f"/imports/{drafts.get().pk}/mapping/"
    # Set aside, it is not offered again: the next click makes a new draft.
    assert import_job_discard(actor=company.rep, job=drafts.get())
    third = client.post(f"/imports/{dry_run.pk}/for-real/")
    assert drafts.count() == 1 and third["Location"] == f"/imports/{drafts.get().pk}/mapping/"
    assert third["Location"] != first["Location"]


def test_discarding_the_import_for_real_keeps_the_dry_runs_file(
    client, company, uploads, django_capture_on_commit_callbacks
):
    dry_run = _dry_run(client, company.rep)
    client.post(f"/imports/{dry_run.pk}/for-real/")
    draft = ImportJob.objects.latest("pk")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/imports/{draft.pk}/discard/")
    draft.refresh_from_db()
    assert draft.status == ImportJob.Status.DISCARDED
    assert Path(dry_run.path).exists()
    page = client.get(f"/imports/{dry_run.pk}/").content.decode()
    assert f'action="/imports/{dry_run.pk}/for-real/"' in page and "has been deleted" not in page
    # ... and it is imported for real again from there.
    response = client.post(f"/imports/{dry_run.pk}/for-real/")
    assert response["Location"] == f"/imports/{ImportJob.objects.latest('pk').pk}/mapping/"


@pytest.mark.parametrize(
    ("status", "dry_run", "kept"),
    [
        ("draft", False, True),
        ("queued", False, True),
        ("running", False, True),
        ("interrupted", False, True),
        ("failed", False, True),
        ("finished", True, True),  # a dry run, which may still be imported for real
        ("finished", False, False),
        ("cancelled", False, False),
        ("discarded", False, False),
        ("cancelled", True, False),
    ],
)
def test_a_shared_upload_is_deleted_only_when_no_other_job_may_still_need_it(
    client, company, uploads, django_capture_on_commit_callbacks, status, dry_run, kept
):
    job = _draft(client, company.rep)
    other = ImportJob.objects.create(
        kind=job.kind,
        filename=job.filename,
        path=job.path,
        uploaded=True,
        file_sha256=job.file_sha256,
        header=job.header,
        via="web",
        dry_run=dry_run,
        status=status,
        started_by=company.rep,
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert import_job_discard(actor=company.rep, job=job)
    assert Path(job.path).exists() is kept
    if kept:
        # Once the other one has ended too, the last of them deletes it.
        ImportJob.objects.filter(pk=other.pk).update(status=ImportJob.Status.INTERRUPTED)
        other.refresh_from_db()
        with django_capture_on_commit_callbacks(execute=True):
            assert import_job_discard(actor=company.rep, job=other)
        assert not Path(job.path).exists()


def test_a_dry_run_whose_upload_is_gone_says_so_instead_of_offering_to_import_it(
    client, company, uploads
):
    dry_run = _dry_run(client, company.rep)
    Path(dry_run.path).unlink()  # the data directory cleaned up by hand, say
    page = client.get(f"/imports/{dry_run.pk}/").content.decode()
    said = (
        "The uploaded file of this dry run has been deleted, so it cannot be imported for "
        "real from here: upload the file again."
    )
    assert said in page and "/for-real/" not in page
    assert "as the import will not be carried on" not in page
    assert f'href="/imports/{dry_run.pk}/errors.csv"' in page  # its outcome stays
    count = ImportJob.objects.count()
    response = client.post(f"/imports/{dry_run.pk}/for-real/", follow=True)
    assert said in response.content.decode() and ImportJob.objects.count() == count


def test_only_a_finished_dry_run_is_imported_for_real(client, company, uploads):
    draft = _draft(client, company.rep)
    client.post(f"/imports/{draft.pk}/mapping/", {**FORM, "action": "start"})
    draft.refresh_from_db()
    assert draft.status == ImportJob.Status.FINISHED and not draft.dry_run
    assert "/for-real/" not in client.get(f"/imports/{draft.pk}/").content.decode()
    count = ImportJob.objects.count()
    response = client.post(f"/imports/{draft.pk}/for-real/", follow=True)
    assert "Only a finished dry run can be imported for real." in response.content.decode()
    assert ImportJob.objects.count() == count


def test_nobody_but_the_uploader_starts_a_dry_run_or_imports_it_for_real(
    client, company, uploads, monkeypatch
):
    draft = _draft(client, company.rep)
    dry_run = _dry_run(client, company.rep)
    queued = _queue(monkeypatch)
    count = ImportJob.objects.count()
    # A colleague does not see the rep's imports; an administrator sees them, and may not act
    # in the rep's name.
    for user, refused in ((company.teammate, 404), (company.admin, 403)):
        client.force_login(user)
        response = client.post(f"/imports/{draft.pk}/mapping/", {**FORM, "action": "dry_run"})
        assert response.status_code == refused
        assert client.post(f"/imports/{dry_run.pk}/for-real/").status_code == refused
    client.force_login(company.admin)
    page = client.get(f"/imports/{draft.pk}/mapping/").content.decode()
    assert 'value="dry_run"' not in page
    page = client.get(f"/imports/{dry_run.pk}/").content.decode()
    assert "/for-real/" not in page
    draft.refresh_from_db()
    assert (draft.status, draft.dry_run) == (ImportJob.Status.DRAFT, False)
    assert queued == [] and ImportJob.objects.count() == count


@pytest.mark.parametrize(
    ("language", "lost", "later"),
    [
        (
            "en",
            "This dry run stopped without finishing, so its rejected rows were not kept. "
            "Run it again to get them.",
            "The rejected rows can be downloaded once the dry run has read the whole file.",
        ),
        (
            "zh-hans",
            "此试运行未完成就停止了，因此没有保留被拒绝的行。请重新运行以获取它们。",
            "试运行读完整个文件后，即可下载被拒绝的行。",
        ),
    ],
)
def test_a_dry_run_killed_outright_says_its_rejected_rows_were_not_kept(
    client, company, uploads, back_to_english, language, lost, later
):
    job = _draft(client, company.rep)
    # As a dry run killed after its first batch leaves it: said to be running, with nobody
    # holding its lock, and the progress it had written.
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportJob.Status.RUNNING, dry_run=True, rows_read=1, created=0, rejected=1
    )
    client.cookies["django_language"] = language
    page = client.get(f"/imports/{job.pk}/").content.decode()
    assert lost in page and later not in page
    assert "/errors.csv" not in page
    assert f'action="/imports/{job.pk}/resume/"' in page  # the run-again button


def test_the_dry_run_buttons_are_in_chinese(client, company, uploads, back_to_english):
    job = _draft(client, company.rep)
    client.cookies["django_language"] = "zh-hans"
    page = client.get(f"/imports/{job.pk}/mapping/").content.decode()
    assert ">试运行</button>" in page and "试运行会像导入一样读取整个文件" in page
    response = client.post(
        f"/imports/{job.pk}/mapping/", {**FORM, "action": "dry_run"}, follow=True
    )
    page = response.content.decode()
    assert "试运行已开始。" in page and "正式导入此文件" in page
    response = client.post(f"/imports/{job.pk}/for-real/", follow=True)
    assert "已为同一文件新建导入" in response.content.decode()
