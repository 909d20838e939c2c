"""An upload's copy in the data directory is kept exactly when its job is: a job that could not
be saved leaves no copy behind, which nothing would ever delete (the retention sweep goes by
the jobs)."""

import resource
import signal
from contextlib import contextmanager

import pytest
from django.db import IntegrityError, transaction

from guanxi.accounts.models import User
from guanxi.imports.models import ImportJob
from guanxi.imports.services import import_job_create

# The job's row is committed by the service itself: a failure at commit is what is tested.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def upload(tmp_path):
    path = tmp_path / "客户.csv"
    path.write_text("姓名,手机\n张三,13812340001\n", encoding="utf-8")
    return path


def _copies(uploads) -> list:
    return list(uploads.iterdir()) if uploads.exists() else []


def test_an_upload_whose_job_cannot_be_saved_leaves_no_copy(uploads, upload):
    # The account was deleted while its upload was read: the job's row names a user no longer
    # there, which the database refuses, the file copied already.
    leaver = User.objects.create_user(username="leaver", password="x", role="sales_rep")
    User.objects.filter(pk=leaver.pk).delete()
    with pytest.raises(IntegrityError):
        import_job_create(
            actor=leaver,
            path=upload,
            filename=upload.name,
            kind="customers",
            via="web",
            keep_copy=True,
            check_mapping=False,
        )
    assert not ImportJob.objects.exists()
    assert _copies(uploads) == []


def test_a_copy_is_not_made_for_a_job_in_a_transaction_that_may_roll_back(company, uploads, upload):
    # Rolled back after the service returned, the job would go and its copy stay.
    with pytest.raises(RuntimeError), transaction.atomic():
        import_job_create(
            actor=company.rep,
            path=upload,
            filename=upload.name,
            kind="customers",
            via="web",
            keep_copy=True,
            check_mapping=False,
        )
    assert not ImportJob.objects.exists()
    assert _copies(uploads) == []


def test_a_saved_job_keeps_its_copy(company, uploads, upload):
    job = import_job_create(
        actor=company.rep,
        path=upload,
        filename=upload.name,
        kind="customers",
        via="web",
        keep_copy=True,
        check_mapping=False,
    )
    assert _copies(uploads) == [uploads / job.path.rsplit("/", 1)[1]]


@contextmanager
def files_written_at_most(size: int):
    """Writing a file past ``size`` bytes fails, as on a full disk (EFBIG rather than ENOSPC)."""
    previous_handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    previous_limit = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (size, previous_limit[1]))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, previous_limit)
        signal.signal(signal.SIGXFSZ, previous_handler)


def test_a_copy_cut_short_is_not_left_behind(company, uploads, tmp_path):
    # The disk filling up while the file is copied: the copy made so far is nobody's.
    large = tmp_path / "客户.csv"
    large.write_bytes("姓名,手机\n".encode() + "张三,13812340001\n".encode() * 20_000)
    with pytest.raises(OSError), files_written_at_most(64 * 1024):
        import_job_create(
            actor=company.rep,
            path=large,
            filename=large.name,
            kind="customers",
            via="web",
            keep_copy=True,
            check_mapping=False,
        )
    assert not ImportJob.objects.exists()
    assert _copies(uploads) == []
