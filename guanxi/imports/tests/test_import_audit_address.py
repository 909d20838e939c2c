"""A web import runs in the background, outside the request that started it; its audit rows
still name that request's client address, as every other web change's rows name theirs (the
audit middleware's ``client_address``). Carried on from the web, the rows written from then on
name the address of the request that carried it on."""

import shutil

import pytest
from django.core.management import call_command
from django.utils import translation

from guanxi.audit.models import AuditEvent
from guanxi.imports.models import ImportJob
from guanxi.imports.services import CancelOutcome
from guanxi.imports.tasks import run_import_job
from guanxi.imports.tests.test_dry_run_pages import FORM, _draft
from guanxi.imports.tests.test_import_cancel import _audit, _when_the_second_batch_is_read
from guanxi.imports.tests.test_import_job_runs import _interrupted, _web_job

pytestmark = pytest.mark.django_db


def test_the_rows_of_a_web_import_name_the_address_that_started_it(client, company, uploads):
    job = _draft(client, company.rep)
    # The test settings run the queued task at once.
    client.post(
        f"/imports/{job.pk}/mapping/", {**FORM, "action": "start"}, REMOTE_ADDR="198.51.100.7"
    )
    job.refresh_from_db()
    assert job.status == ImportJob.Status.FINISHED and job.created == 1
    written = AuditEvent.objects.filter(object_type="customer")
    assert written.count() == 1
    assert set(written.values_list("remote_addr", "via")) == {("198.51.100.7", "web")}


def test_the_rows_written_once_carried_on_name_the_address_that_carried_it_on(
    client, company, tmp_path, monkeypatch
):
    job = _interrupted(company, tmp_path, monkeypatch)  # started outside any request
    first = set(AuditEvent.objects.filter(object_type="customer").values_list("pk", flat=True))
    assert len(first) == 10
    client.force_login(company.rep)
    client.post(f"/imports/{job.pk}/resume/", REMOTE_ADDR="2001:db8::5")
    job.refresh_from_db()
    assert (job.status, job.created) == (ImportJob.Status.FINISHED, 30)
    carried_on = AuditEvent.objects.filter(object_type="customer").exclude(pk__in=first)
    assert carried_on.count() == 20
    assert set(carried_on.values_list("remote_addr", "via")) == {("2001:db8::5", "web")}


def test_the_rows_written_once_carried_on_from_the_command_line_name_no_address(
    company, uploads, tmp_path, monkeypatch
):
    # A web import carried on from the command line (``--resume`` with the user's own copy of
    # its file) writes its rows from there: they name no web request, as the command's own
    # imports do, not the address of the request that started the import.
    job = _interrupted(company, tmp_path, monkeypatch)
    ImportJob.objects.filter(pk=job.pk).update(client_address="198.51.100.7")
    first = set(AuditEvent.objects.filter(object_type="customer").values_list("pk", flat=True))
    mine = tmp_path / "own" / "customers.csv"
    mine.parent.mkdir()
    shutil.copy(job.path, mine)
    call_command("import", "customers", str(mine), "--resume", "--user", "rep", stdout=None)
    job.refresh_from_db()
    assert (job.status, job.created) == (ImportJob.Status.FINISHED, 30)
    carried_on = AuditEvent.objects.filter(object_type="customer").exclude(pk__in=first)
    assert carried_on.count() == 20
    assert set(carried_on.values_list("remote_addr", "via")) == {(None, "cli")}


@pytest.mark.django_db(transaction=True)
def test_the_row_of_a_stop_names_no_address_of_the_request_that_started_the_import(
    company, tmp_path, monkeypatch
):
    # An administrator asks a running web import to stop from a request of their own, whose
    # row names its address. The run then writes, under their name, the row saying where it
    # stopped: the address the job kept is its starter's, where the administrator never was.
    job = _web_job(company.rep, tmp_path)
    ImportJob.objects.filter(pk=job.pk).update(client_address="198.51.100.7")
    outcomes = _when_the_second_batch_is_read(monkeypatch, cancel_as=company.admin)
    run_import_job.call(job.pk)
    assert outcomes == [CancelOutcome.STOPPING]
    asked, stopped = _audit(job)
    assert asked.actor == company.admin and "cancel_requested_at" in asked.changes
    assert stopped.changes["status"] == {"before": "running", "after": "cancelled"}
    assert (stopped.actor, stopped.remote_addr) == (company.admin, None)
    # The rows the run wrote before it stopped are its starter's, from where they started it.
    written = AuditEvent.objects.filter(object_type="customer")
    assert set(written.values_list("actor", "remote_addr")) == {(company.rep.pk, "198.51.100.7")}


def test_the_address_a_job_keeps_is_labelled_as_the_audit_log_labels_its_own():
    # The job keeps the address for its audit rows to name: wherever both are shown, they read
    # the same, in Chinese too.
    with translation.override("zh-hans"):
        kept = str(ImportJob._meta.get_field("client_address").verbose_name)
        named = str(AuditEvent._meta.get_field("remote_addr").verbose_name)
    assert kept == named == "IP 地址"
