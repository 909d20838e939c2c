"""A dry run's page follows it as a real import's does: between batches the job's stored progress
says how many of the file's rows it has read, what became of them and how many rows a second it
reads, although all the dry run writes is in one transaction rolled back at the end (on SQLite
in a copy of the database). Stopped short it keeps none of it, and run again it starts over."""

import re
import threading

import pytest
from django.db import connection
from django.test import Client

from guanxi.core.testing.factories import CustomerFactory
from guanxi.imports.models import ImportJob, ImportRowError
from guanxi.imports.services import import_job_create, import_job_run
from guanxi.imports.tests.test_dry_run_stop import BATCH, KINDS, REJECTED, ROWS
from guanxi.imports.tests.test_import_cancel import _imported
from guanxi.imports.tests.test_import_job_runs import _file

# The page and the progress are read on connections of their own, as the browser's requests
# are: they see only what has committed.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def linked(company):
    return CustomerFactory(name="Linked", external_id="C9", owner=company.rep)


def _web_job(actor, tmp_path, kind: str, *, dry_run: bool) -> ImportJob:
    """A queued web import (or dry run) of ``ROWS`` rows, the first of them rejected."""
    path, name = _file(tmp_path, kind, ROWS - 1)
    good = path.read_text(encoding="utf-8").splitlines(keepends=True)[1:]
    path.write_text(REJECTED[kind] + "".join(good), encoding="utf-8")
    job = import_job_create(
        actor=actor, path=path, filename=name, kind=kind, via="web", keep_copy=True, dry_run=dry_run
    )
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.QUEUED)  # "start"
    job.refresh_from_db()
    return job


def _elsewhere(work):
    """What ``work`` returns, run on a thread and database connection of its own."""
    result = {}

    def run():
        try:
            result["value"] = work()
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(30)
    return result["value"]


def _after_each_batch(work) -> tuple:
    """A progress callback that runs ``work`` elsewhere after each batch, and the list of what
    it returned."""
    seen = []

    def progress(count: int) -> None:
        seen.append(_elsewhere(work))

    return progress, seen


@pytest.mark.parametrize("kind", KINDS)
def test_a_dry_run_stores_its_progress_between_batches(company, linked, tmp_path, kind):
    job = _web_job(company.rep, tmp_path, kind, dry_run=True)

    def stored():
        row = ImportJob.objects.get(pk=job.pk)
        return (row.status, row.rows_read, row.created, row.rejected, row.last_row, row.percent)

    progress, seen = _after_each_batch(stored)
    import_job_run(job=job, progress=progress, batch_size=BATCH)

    running = ImportJob.Status.RUNNING
    assert seen == [
        # Not its last row: a dry run keeps nothing to carry on from.
        (running, BATCH, BATCH - 1, 1, 0, 33),
        (running, 2 * BATCH, 2 * BATCH - 1, 1, 0, 67),
        (running, ROWS, ROWS - 1, 1, 0, 100),
    ]
    job.refresh_from_db()
    assert job.status == ImportJob.Status.FINISHED
    assert (job.rows_read, job.created, job.rejected) == (ROWS, ROWS - 1, 1)
    assert job.rows_per_second > 0
    assert _imported(kind) == 0  # and still it wrote nothing


def test_the_rate_is_stored_after_each_batch(company, tmp_path):
    job = _web_job(company.rep, tmp_path, "customers", dry_run=True)
    progress, rates = _after_each_batch(lambda: ImportJob.objects.get(pk=job.pk).rows_per_second)
    import_job_run(job=job, progress=progress, batch_size=BATCH)
    assert len(rates) == 3 and all(rate > 0 for rate in rates)


def test_a_dry_run_that_fails_keeps_none_of_its_progress(company, linked, tmp_path):
    job = _web_job(company.rep, tmp_path, "customers", dry_run=True)
    done = []

    def failing(count: int) -> None:
        done.append(count)
        if len(done) == 2:
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        import_job_run(job=job, progress=failing, batch_size=BATCH)
    job.refresh_from_db()
    assert job.status == ImportJob.Status.FAILED
    assert (job.rows_read, job.created, job.rejected, job.last_row) == (0, 0, 0, 0)


def test_a_dry_run_killed_outright_starts_over_when_run_again(company, linked, tmp_path):
    job = _web_job(company.rep, tmp_path, "customers", dry_run=True)
    # As a dry run killed after its second batch leaves it: said to be running, with the
    # progress it had written; and a rejected row of an earlier attempt (one of interactions or
    # orders that failed keeps those it had found).
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportJob.Status.RUNNING,
        rows_read=2 * BATCH,
        created=2 * BATCH - 1,
        rejected=1,
        rows_per_second=500,
    )
    ImportRowError.objects.create(job=job, row_number=2, cells=["K99"], reason="an earlier try")
    progress, seen = _after_each_batch(lambda: ImportJob.objects.get(pk=job.pk).rows_read)
    import_job_run(job=job, progress=progress, batch_size=BATCH)

    assert seen == [BATCH, 2 * BATCH, ROWS]
    job.refresh_from_db()
    assert job.status == ImportJob.Status.FINISHED
    assert (job.rows_read, job.created, job.rejected) == (ROWS, ROWS - 1, 1)
    [rejected] = ImportRowError.objects.filter(job=job)
    assert rejected.reason != "an earlier try"


RATE = {"en": r"([\d.,]+) rows a second", "zh-hans": r"每秒 ([\d.,]+) 行"}


@pytest.mark.parametrize(
    ("language", "read", "later"),
    [
        (
            "en",
            "10 of 30 rows",
            "The rejected rows can be downloaded once the dry run has read the whole file.",
        ),
        ("zh-hans", "已读取 10 / 30 行", "试运行读完整个文件后，即可下载被拒绝的行。"),
    ],
)
@pytest.mark.parametrize("dry_run", [True, False], ids=["dry run", "import"])
def test_the_page_shows_how_far_the_run_has_got_while_it_runs(
    company, linked, tmp_path, back_to_english, language, read, later, dry_run
):
    # Interactions: their importer reports a batch once it has committed, the customer importer
    # while its transaction is still open (where a page cannot see it yet).
    job = _web_job(company.rep, tmp_path, "interactions", dry_run=dry_run)
    client = Client()
    client.force_login(company.rep)
    client.cookies["django_language"] = language
    progress, pages = _after_each_batch(lambda: client.get(f"/imports/{job.pk}/").content.decode())
    import_job_run(job=job, progress=progress, batch_size=BATCH)

    page = pages[0]  # after the first batch
    assert read in page
    assert '<progress max="100" value="33"' in page
    assert '<dd id="count-rejected">1</dd>' in page
    rate = re.search(r'<span id="import-rate"> · ' + RATE[language] + "</span>", page)
    assert rate is not None and float(rate.group(1).replace(",", "")) > 0
    # A dry run writes its rejected rows as it ends; an import, with each batch.
    assert (later in page) is dry_run
    assert (f"/imports/{job.pk}/errors.csv" in page) is not dry_run

    # Done, the page says how it ended; the rate was the running run's.
    page = client.get(f"/imports/{job.pk}/").content.decode()
    assert 'id="import-rate"' not in page and later not in page
    assert f"/imports/{job.pk}/errors.csv" in page
