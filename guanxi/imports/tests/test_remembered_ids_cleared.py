"""An import that will not be carried on keeps none of the external ids it remembered for a
resume: cancelled from its page, stopped by its runner at a request, or discarded, it leaves
none behind, as a finished import does. (They stayed, with nothing ever to read or clear them.)"""

import pytest
from django.utils import timezone

from guanxi.imports.models import ImportJob, ImportRememberedId
from guanxi.imports.services import (
    import_job_cancel,
    import_job_create,
    import_job_discard,
    import_job_run,
)
from guanxi.imports.tests.test_batch_boundaries import FILE, Stop, leave

pytestmark = pytest.mark.django_db


@pytest.fixture
def path(company, tmp_path):
    leave(company.rep)  # the first row is rejected: its owner has left
    path = tmp_path / "people.csv"
    path.write_text(FILE, encoding="utf-8")
    return path


def _stopped_after_a_batch(company, path, *, asked_to_stop=False) -> ImportJob:
    job = import_job_create(
        actor=company.manager, path=path, filename=path.name, kind="customers", via="web"
    )
    batches = []

    def progress(count):
        # Called in the batch's transaction: raised at the second, the first batch stays.
        batches.append(count)
        if asked_to_stop:
            ImportJob.objects.filter(pk=job.pk).update(
                cancel_requested_at=timezone.now(), stopped_by=company.manager
            )
        elif len(batches) > 1:
            raise Stop

    if asked_to_stop:
        import_job_run(job=job, batch_size=1, progress=progress)
    else:
        with pytest.raises(Stop):
            import_job_run(job=job, batch_size=1, progress=progress)
    job.refresh_from_db()
    return job


def test_a_cancelled_import_keeps_nothing_it_remembered(company, path):
    job = _stopped_after_a_batch(company, path)
    assert job.status == ImportJob.Status.INTERRUPTED
    # Kept while it may be carried on.
    assert ImportRememberedId.objects.filter(job=job).exists()
    import_job_cancel(actor=company.manager, job=job)
    assert job.status == ImportJob.Status.CANCELLED
    assert not ImportRememberedId.objects.filter(job=job).exists()


def test_an_import_stopped_at_a_request_keeps_nothing_it_remembered(company, path):
    job = _stopped_after_a_batch(company, path, asked_to_stop=True)
    assert job.status == ImportJob.Status.CANCELLED
    assert job.rows_read == 1
    assert not ImportRememberedId.objects.filter(job=job).exists()


def test_a_discarded_import_keeps_nothing_it_remembered(company, path):
    job = _stopped_after_a_batch(company, path)
    assert import_job_discard(actor=company.manager, job=job)
    job.refresh_from_db()
    assert job.status == ImportJob.Status.DISCARDED
    assert not ImportRememberedId.objects.filter(job=job).exists()
