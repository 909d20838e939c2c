"""A web dry run that failed or was interrupted is offered, on its page, to be run again from the
first row (all it kept of the run that stopped is nothing), not to be "carried on after row 0";
discarded, it is said to have written nothing, not to leave imported rows behind."""

import pytest

from guanxi.imports.models import ImportJob
from guanxi.imports.services import import_job_run
from guanxi.imports.tests.test_dry_run_progress import _web_job
from guanxi.imports.tests.test_dry_run_stop import BATCH, ROWS
from guanxi.imports.tests.test_import_cancel import _imported

# The dry run writes its progress on a connection of its own.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(params=[RuntimeError("disk full"), SystemExit(1)], ids=["failed", "interrupted"])
def stopped_dry_run(request, company, tmp_path) -> ImportJob:
    """A web dry run of the rep's (its first row rejected) that stopped during its second
    batch."""
    job = _web_job(company.rep, tmp_path, "customers", dry_run=True)
    done = []

    def stopping(count: int) -> None:
        done.append(count)
        if len(done) == 2:
            raise request.param

    with pytest.raises(type(request.param)):
        import_job_run(job=job, progress=stopping, batch_size=BATCH)
    job.refresh_from_db()
    assert job.status in (ImportJob.Status.FAILED, ImportJob.Status.INTERRUPTED)
    return job


@pytest.mark.parametrize(
    ("language", "offered", "said_after"),
    [
        (
            "en",
            ["Run the dry run again", "It starts again from the first row", "Discard this dry run"],
            "The dry run will start again from the first row.",
        ),
        (
            "zh-hans",
            ["重新试运行", "它从第一行重新开始", "放弃此试运行"],
            "试运行将从第一行重新开始。",
        ),
    ],
)
def test_a_dry_run_that_stopped_is_offered_to_run_again_from_the_first_row(
    client, company, stopped_dry_run, language, offered, said_after
):
    job = stopped_dry_run
    client.force_login(company.rep)
    client.cookies["django_language"] = language
    page = client.get(f"/imports/{job.pk}/").content.decode()
    assert f'action="/imports/{job.pk}/resume/"' in page
    assert all(text in page for text in offered), page
    # Nothing of an import's words: there is no row to carry on after, nor any imported.
    for words in ("Carry on with the import", "after row", "继续导入", "行之后", "已导入的行"):
        assert words not in page

    response = client.post(f"/imports/{job.pk}/resume/", follow=True)
    assert said_after in response.content.decode()
    # Run again (the test settings run tasks at once), it read the whole file from the first
    # row and still wrote nothing.
    job.refresh_from_db()
    assert job.status == ImportJob.Status.FINISHED
    assert (job.rows_read, job.created, job.rejected) == (ROWS, ROWS - 1, 1)
    assert _imported("customers") == 0


def test_a_dry_run_that_stopped_is_discarded_as_having_written_nothing(
    client, company, stopped_dry_run
):
    job = stopped_dry_run
    client.force_login(company.rep)
    page = client.get(f"/imports/{job.pk}/").content.decode()
    assert "Discard this dry run? It will no longer be offered to run again." in page
    assert "the rows it imported stay" not in page

    response = client.post(f"/imports/{job.pk}/discard/", follow=True)
    page = response.content.decode()
    assert "The dry run is discarded. It wrote nothing." in page
    assert f"{company.rep.label} discarded this dry run. It wrote nothing" in page
    assert "rows it imported stay" not in page and "stay imported" not in page
    assert "Run the dry run again" not in page
