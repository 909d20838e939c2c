"""Customer imports running at the same time as other imports and as people's edits: every row
still ends in one outcome, and what search and duplicate detection find stays right.

They need two connections that wait for each other's row and advisory locks: PostgreSQL's (on
SQLite one writer at a time takes the whole database)."""

import threading

import pytest
from django.db import connection

from guanxi.core.testing.threads import in_thread, wait_until, waiting_for_a_lock
from guanxi.customers.models import Customer
from guanxi.customers.services import customer_create, customer_update
from guanxi.imports import customer_import
from guanxi.imports.models import ImportJob
from guanxi.imports.services import import_job_create, import_job_run

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's locks"),
]

HEADER = "external_id,name,company,phone,email,city,region,postcode,birth_date,tags,kind,owner\n"


def jobs_of(actor, tmp_path, names: list[str], lines: list[str]) -> list[ImportJob]:
    jobs = []
    for name in names:
        path = tmp_path / name
        path.write_text(HEADER + "".join(lines), encoding="utf-8")
        jobs.append(import_job_create(actor=actor, path=path, filename=name, kind="customers"))
    return jobs


def run_at_once(jobs: list[ImportJob], monkeypatch) -> dict:
    """Run the jobs on threads of their own, the first holding its batch after matching until
    the second is either waiting for it or has matched too (as it would without the batches
    taking turns: then both have looked the file's rows up before either writes)."""
    matched: list[str] = []
    match = customer_import.CustomerImporter._match

    def match_and_hold_the_first(importer, *args):
        found = match(importer, *args)
        matched.append(threading.current_thread().name)
        if len(matched) == 1:
            assert wait_until(lambda: len(matched) > 1 or waiting_for_a_lock())
        return found

    monkeypatch.setattr(customer_import.CustomerImporter, "_match", match_and_hold_the_first)
    results: dict = {}
    threads = [
        in_thread(lambda job=job: import_job_run(job=job), results, f"job{job.pk}") for job in jobs
    ]
    for thread in threads:
        thread.join(60)
    for job in jobs:
        job.refresh_from_db()
    errors = {key: value[2] for key, value in results.items() if value[0] == "error"}
    assert not errors, errors
    return results


def test_two_imports_of_the_same_new_external_ids_at_once_both_finish(
    company, tmp_path, monkeypatch
):
    lines = [f"X{i},新客户{i:03d},,{13700000000 + i},,,,,,,,\n" for i in range(20)]
    jobs = jobs_of(company.admin, tmp_path, ["a.csv", "b.csv"], lines)
    run_at_once(jobs, monkeypatch)
    assert all(job.status == ImportJob.Status.FINISHED for job in jobs)
    # One created them; the other, taking its turn after, updated them (changing nothing).
    assert sorted((job.created, job.updated, job.rejected) for job in jobs) == [
        (0, 20, 0),
        (20, 0, 0),
    ]
    assert Customer.objects.filter(external_id__startswith="X").count() == 20


def test_two_imports_of_the_same_new_people_at_once_merge_rather_than_duplicate(
    company, tmp_path, monkeypatch
):
    lines = [f",重复人{i:03d},,{13300000000 + i},dup{i}@example.com,,,,,,,\n" for i in range(10)]
    jobs = jobs_of(company.admin, tmp_path, ["c.csv", "d.csv"], lines)
    run_at_once(jobs, monkeypatch)
    assert sorted((job.created, job.merged) for job in jobs) == [(0, 10), (10, 0)]
    assert Customer.objects.filter(name__startswith="重复人").count() == 10


def test_a_phone_an_import_adds_stays_searchable_when_the_organisation_is_renamed_meanwhile(
    company, tmp_path, monkeypatch
):
    org = customer_create(
        actor=company.admin, data={"name": "Acme Trading", "party_type": "organization"}
    )
    person = customer_create(
        actor=company.admin,
        data={
            "name": "王小明",
            "external_id": "P1",
            "organization_id": org.pk,
            "phones": ["13811112222"],
        },
    )
    path = tmp_path / "people.csv"
    path.write_text(HEADER + "P1,王小明,,13933334444,,,,,,,,\n", encoding="utf-8")
    job = import_job_create(actor=company.admin, path=path, filename="people.csv", kind="customers")
    written, release = threading.Event(), threading.Event()
    run_batch = customer_import.CustomerImporter._run_batch

    def hold_before_commit(importer, *args):
        run_batch(importer, *args)
        written.set()
        release.wait(60)

    monkeypatch.setattr(customer_import.CustomerImporter, "_run_batch", hold_before_commit)
    results: dict = {}
    importer = in_thread(lambda: import_job_run(job=job), results, "import")
    assert written.wait(30)
    # The rename reads the person's phones: it waits for the import, which has added one.
    renamer = in_thread(
        lambda: customer_update(
            actor=company.admin,
            customer_id=org.pk,
            expected_version=org.version,
            data={"name": "Zenith Holdings"},
        ),
        results,
        "rename",
    )
    assert wait_until(waiting_for_a_lock)
    release.set()
    importer.join(60)
    renamer.join(60)
    assert results["import"][0] == "ok" and results["rename"][0] == "ok", results
    person.refresh_from_db()
    tokens = person.search_text.split()
    # The organisation's name is held apart, as marks (see customers.search).
    assert "~ozenith" in tokens and "~oacme" not in tokens and "acme" not in tokens
    assert "8613933334444" in tokens and "8613811112222" in tokens


def _dry_run_held_before_its_second_batch(monkeypatch) -> tuple[threading.Event, threading.Event]:
    """Batches of 5 rows; a dry run stops before its second batch until ``release`` is set."""
    monkeypatch.setattr(customer_import, "BATCH_SIZE", 5)
    written, release = threading.Event(), threading.Event()
    run_batch = customer_import.CustomerImporter._run_batch

    def hold_the_dry_run(importer, *args):
        if importer.job.dry_run and importer.job.rows_read and not written.is_set():
            written.set()
            release.wait(60)
        run_batch(importer, *args)

    monkeypatch.setattr(customer_import.CustomerImporter, "_run_batch", hold_the_dry_run)
    return written, release


def test_a_dry_run_keeps_no_other_import_waiting_between_its_batches(
    company, tmp_path, monkeypatch
):
    # A dry run writes nothing anyone else sees: an import of other customers runs to its end
    # while the dry run is half-way through its file.
    written, release = _dry_run_held_before_its_second_batch(monkeypatch)
    path = tmp_path / "dry.csv"
    path.write_text(HEADER + "".join(f"D{i},试客户{i:02d},,,,,,,,,,\n" for i in range(10)))
    dry = import_job_create(
        actor=company.admin, path=path, filename=path.name, kind="customers", dry_run=True
    )
    (real,) = jobs_of(
        company.admin,
        tmp_path,
        ["real.csv"],
        [f"R{i},真客户{i:02d},,,,,,,,,,\n" for i in range(10)],
    )
    results: dict = {}
    dry_thread = in_thread(lambda: import_job_run(job=dry), results, "dry")
    try:
        assert written.wait(30)
        real_thread = in_thread(lambda: import_job_run(job=real), results, "real")
        real_thread.join(15)
        finished_first = not real_thread.is_alive()
    finally:
        release.set()
        dry_thread.join(60)
        real_thread.join(60)
    assert finished_first, "the import waited for the dry run"
    assert results["dry"][0] == "ok" and results["real"][0] == "ok", results
    dry.refresh_from_db()
    real.refresh_from_db()
    assert (dry.status, dry.created) == (ImportJob.Status.FINISHED, 10)
    assert (real.status, real.created) == (ImportJob.Status.FINISHED, 10)
    assert not Customer.objects.filter(external_id__startswith="D").exists()
    assert Customer.objects.filter(external_id__startswith="R").count() == 10


def test_a_dry_run_gives_way_to_an_import_waiting_for_the_rows_it_wrote(
    company, tmp_path, monkeypatch
):
    # The real import waits for the customer the dry run wrote (uncommitted, to the dry run's
    # end) holding its turn; the dry run cannot have its next one: it stops, not the import.
    written, release = _dry_run_held_before_its_second_batch(monkeypatch)
    lines = [f"S{i},同一客户{i:02d},,,,,,,,,,\n" for i in range(10)]
    dry_path = tmp_path / "dry.csv"
    dry_path.write_text(HEADER + "".join(lines))
    dry = import_job_create(
        actor=company.admin, path=dry_path, filename=dry_path.name, kind="customers", dry_run=True
    )
    (real,) = jobs_of(company.admin, tmp_path, ["real.csv"], lines)
    results: dict = {}
    dry_thread = in_thread(lambda: import_job_run(job=dry), results, "dry")
    assert written.wait(30)
    real_thread = in_thread(lambda: import_job_run(job=real), results, "real")
    assert wait_until(waiting_for_a_lock)
    release.set()
    dry_thread.join(60)
    real_thread.join(60)
    assert results["real"][0] == "ok", results
    assert results["dry"][0] == "error"
    assert isinstance(results["dry"][1], customer_import.DryRunGaveWay)
    dry.refresh_from_db()
    real.refresh_from_db()
    assert dry.status == ImportJob.Status.FAILED and "run it again" in dry.message
    assert (real.status, real.created) == (ImportJob.Status.FINISHED, 10)
    assert Customer.objects.filter(external_id__startswith="S").count() == 10
