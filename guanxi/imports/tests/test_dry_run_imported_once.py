"""A finished dry run's file is imported for real once: the import made from it is remembered,
and "Import this file for real" clicked again (a page left open, a second tab) goes to that
import whatever has become of it, rather than making a second import of the same file, which
would import orders and interactions without external ids twice. Only an import set aside
before it started, which imported nothing, may be made again. The dry run's page links to the
import made from it instead of offering the button."""

import threading
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from guanxi.imports.models import ImportJob
from guanxi.imports.services import import_job_discard, import_job_for_real
from guanxi.imports.tests.test_dry_run_pages import FORM, _dry_run

pytestmark = pytest.mark.django_db


def _for_real(client, dry_run) -> ImportJob:
    response = client.post(f"/imports/{dry_run.pk}/for-real/")
    made = ImportJob.objects.latest("pk")
    assert response["Location"] == f"/imports/{made.pk}/mapping/"
    return made


def test_a_second_click_after_the_import_ran_goes_to_it_and_imports_nothing_again(
    client, company, uploads
):
    dry_run = _dry_run(client, company.rep)
    made = _for_real(client, dry_run)
    assert made.made_from_dry_run == dry_run
    client.post(f"/imports/{made.pk}/mapping/", {**FORM, "action": "start"})
    made.refresh_from_db()
    assert made.status == ImportJob.Status.FINISHED and made.created == 1
    jobs = ImportJob.objects.count()

    response = client.post(f"/imports/{dry_run.pk}/for-real/", follow=True)
    assert response.redirect_chain == [(f"/imports/{made.pk}/", 302)]
    page = response.content.decode()
    assert f"An import of this dry run&#x27;s file was made already: import #{made.pk}." in page
    assert ImportJob.objects.count() == jobs
    assert not ImportJob.objects.filter(status=ImportJob.Status.DRAFT).exists()


@pytest.mark.parametrize(
    "status", ["queued", "running", "finished", "interrupted", "failed", "cancelled"]
)
def test_a_second_click_goes_to_the_import_made_whatever_its_state(
    client, company, uploads, status
):
    dry_run = _dry_run(client, company.rep)
    made = _for_real(client, dry_run)
    # As the mapping page and its runner leave it (a killed runner's "running" included).
    ImportJob.objects.filter(pk=made.pk).update(status=status, started_at=timezone.now())
    jobs = ImportJob.objects.count()
    response = client.post(f"/imports/{dry_run.pk}/for-real/")
    assert response.status_code == 302 and response["Location"] == f"/imports/{made.pk}/"
    assert ImportJob.objects.count() == jobs
    assert import_job_for_real(actor=company.rep, job=dry_run) == made


def test_an_import_discarded_after_it_started_is_not_made_again(client, company, uploads):
    dry_run = _dry_run(client, company.rep)
    made = _for_real(client, dry_run)
    # Interrupted after some rows were written, then set aside: those rows stay imported.
    ImportJob.objects.filter(pk=made.pk).update(
        status=ImportJob.Status.INTERRUPTED, started_at=timezone.now(), last_row=1
    )
    made.refresh_from_db()
    assert import_job_discard(actor=company.rep, job=made)
    response = client.post(f"/imports/{dry_run.pk}/for-real/")
    assert response["Location"] == f"/imports/{made.pk}/"
    assert ImportJob.objects.filter(made_from_dry_run=dry_run).count() == 1
    page = client.get(f"/imports/{dry_run.pk}/").content.decode()
    assert 'id="imported-for-real"' in page and "/for-real/" not in page


def test_a_second_click_on_a_draft_not_started_yet_does_not_call_it_new(client, company, uploads):
    dry_run = _dry_run(client, company.rep)
    response = client.post(f"/imports/{dry_run.pk}/for-real/", follow=True)
    assert "A new import of the same file is ready" in response.content.decode()
    made = ImportJob.objects.latest("pk")
    response = client.post(f"/imports/{dry_run.pk}/for-real/", follow=True)
    assert response.redirect_chain == [(f"/imports/{made.pk}/mapping/", 302)]
    page = response.content.decode()
    assert "A new import of the same file is ready" not in page
    assert f"An import of this dry run&#x27;s file was made already: import #{made.pk}." in page


@pytest.mark.parametrize(
    ("status", "started", "said"),
    [
        ("draft", False, "Uploaded, not started"),
        ("queued", False, "Waiting to start"),
        ("cancelled", False, "Cancelled"),
        ("interrupted", True, "Interrupted"),
        ("failed", True, "Failed"),
        ("discarded", True, "Discarded"),
        ("running", True, "Interrupted"),  # said running, with nothing running it
    ],
)
def test_the_link_says_what_became_of_the_import_rather_than_that_it_imported(
    client, company, uploads, status, started, said
):
    """A draft not started yet, or an import cancelled before its first row, imported nothing:
    the dry run's page must not say the file was imported."""
    dry_run = _dry_run(client, company.rep)
    made = _for_real(client, dry_run)
    ImportJob.objects.filter(pk=made.pk).update(
        status=status, started_at=timezone.now() if started else None
    )
    page = client.get(f"/imports/{dry_run.pk}/").content.decode()
    assert "Imported for real" not in page
    assert f"import #{made.pk}</a> ({said})" in page


def test_an_import_discarded_before_it_started_may_be_made_again(client, company, uploads):
    dry_run = _dry_run(client, company.rep)
    first = _for_real(client, dry_run)
    assert import_job_discard(actor=company.rep, job=first)
    page = client.get(f"/imports/{dry_run.pk}/").content.decode()
    assert f'action="/imports/{dry_run.pk}/for-real/"' in page
    assert 'id="imported-for-real"' not in page
    second = _for_real(client, dry_run)
    assert second.pk != first.pk and second.made_from_dry_run == dry_run
    assert second.status == ImportJob.Status.DRAFT


def test_the_dry_runs_page_links_to_the_import_made_from_it_instead_of_the_button(
    client, company, uploads
):
    dry_run = _dry_run(client, company.rep)
    made = _for_real(client, dry_run)
    page = client.get(f"/imports/{dry_run.pk}/").content.decode()
    # A draft: the link goes where it is checked and started.
    linked = (
        f"This file's import for real: "
        f'<a href="/imports/{made.pk}/mapping/">import #{made.pk}</a> (Uploaded, not started)'
    )
    assert linked in page and "/for-real/" not in page
    client.post(f"/imports/{made.pk}/mapping/", {**FORM, "action": "start"})
    page = client.get(f"/imports/{dry_run.pk}/").content.decode()
    linked = (
        f"This file's import for real: "
        f'<a href="/imports/{made.pk}/">import #{made.pk}</a> (Finished)'
    )
    assert linked in page and "/for-real/" not in page
    # An administrator looking at the rep's dry run sees the link too.
    client.force_login(company.admin)
    assert linked in client.get(f"/imports/{dry_run.pk}/").content.decode()


def test_the_link_and_the_message_are_in_chinese(client, company, uploads, back_to_english):
    dry_run = _dry_run(client, company.rep)
    made = _for_real(client, dry_run)
    client.post(f"/imports/{made.pk}/mapping/", {**FORM, "action": "start"})
    client.cookies["django_language"] = "zh-hans"
    page = client.get(f"/imports/{dry_run.pk}/").content.decode()
    assert f'此文件的正式导入：<a href="/imports/{made.pk}/">导入 #{made.pk}</a>（已完成）' in page
    response = client.post(f"/imports/{dry_run.pk}/for-real/", follow=True)
    assert f"已为此试运行的文件创建过导入：导入 #{made.pk}。" in response.content.decode()


def test_a_second_click_goes_to_the_import_even_after_the_file_was_deleted(
    client, company, uploads
):
    dry_run = _dry_run(client, company.rep)
    made = _for_real(client, dry_run)
    client.post(f"/imports/{made.pk}/mapping/", {**FORM, "action": "start"})
    # The uploads clean-up has deleted the file since: the import made is still where to go.
    Path(dry_run.path).unlink()
    response = client.post(f"/imports/{dry_run.pk}/for-real/")
    assert response["Location"] == f"/imports/{made.pk}/"
    page = client.get(f"/imports/{dry_run.pk}/").content.decode()
    assert 'id="imported-for-real"' in page and "cannot be imported for real" not in page


postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="two requests at once need PostgreSQL"
)


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_two_clicks_at_once_make_one_import(client, company, uploads):
    dry_run = _dry_run(client, company.rep)
    barrier = threading.Barrier(2, timeout=20)
    made, errors = [], []

    def click():
        try:
            barrier.wait()
            made.append(import_job_for_real(actor=company.rep, job=dry_run).pk)
        except BaseException as error:  # reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=click) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert len(made) == 2 and made[0] == made[1]
    assert ImportJob.objects.filter(made_from_dry_run=dry_run).count() == 1
