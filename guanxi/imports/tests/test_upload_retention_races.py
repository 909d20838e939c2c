"""The uploads clean-up and "Import this file for real" at once: the draft made from a finished
dry run past its retention reads the dry run's file, so the clean-up must not delete it as the
draft is made. Each takes the lock of the jobs reading the file (the clean-up waits for the
draft to commit, then finds it and keeps the file; a click waiting for the clean-up finds the
file gone and says so)."""

import datetime as dt
import threading
from pathlib import Path

import pytest
from django.db import connection, transaction
from django.utils import timezone

from guanxi.imports.models import ImportJob
from guanxi.imports.services import import_job_for_real, import_uploads_remove_expired
from guanxi.imports.tests.test_dry_run_pages import FORM, _dry_run

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="two transactions at once need PostgreSQL"
    ),
]


def test_the_clean_up_keeps_the_file_of_a_draft_being_made_from_an_old_dry_run(
    client, company, uploads
):
    dry_run = _dry_run(client, company.rep)
    long_ago = timezone.now() - dt.timedelta(days=30)
    ImportJob.objects.filter(pk=dry_run.pk).update(finished_at=long_ago, created_at=long_ago)
    dry_run.refresh_from_db()
    made, removed, errors = [], [], []
    drafted, commit = threading.Event(), threading.Event()

    def click():
        # "Import this file for real", its transaction held open a moment after the draft is
        # made (as a slow request would), so that the clean-up runs before it commits.
        try:
            with transaction.atomic():
                made.append(import_job_for_real(actor=company.rep, job=dry_run))
                drafted.set()
                commit.wait(20)
        except BaseException as error:  # reported below
            errors.append(error)
        finally:
            drafted.set()
            connection.close()

    def clean_up():
        try:
            removed.append(import_uploads_remove_expired())
        except BaseException as error:  # reported below
            errors.append(error)
        finally:
            connection.close()

    clicker = threading.Thread(target=click)
    clicker.start()
    assert drafted.wait(20)
    cleaner = threading.Thread(target=clean_up)
    cleaner.start()
    cleaner.join(1.5)  # it waits for the draft's transaction, or has deleted the file
    commit.set()
    clicker.join(20)
    cleaner.join(20)
    assert errors == []
    assert removed == [0]
    (draft,) = made
    assert Path(draft.path).exists()
    # The draft is checked and started as any other, and imports the file.
    response = client.post(f"/imports/{draft.pk}/mapping/", {**FORM, "action": "start"})
    assert response.status_code == 302
    draft.refresh_from_db()
    assert (draft.status, draft.created) == (ImportJob.Status.FINISHED, 1)
