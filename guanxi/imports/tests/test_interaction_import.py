"""Importing interactions: customers found by external id (through merges), the visibility
rule, idempotent re-import by the interaction's own external id, and every row accounted for."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from guanxi.audit.models import AuditEvent
from guanxi.customers.services import customer_create
from guanxi.dedup.services import customers_merge
from guanxi.imports.models import ImportRowError
from guanxi.imports.services import import_job_create, import_job_run
from guanxi.interactions.models import Interaction

pytestmark = pytest.mark.django_db

HEADER = "external_id,customer_external_id,channel,direction,subject,notes,occurred_at,staff\n"


def run(tmp_path, text, actor, name="contacts.csv", **options):
    path = tmp_path / name
    path.write_text(text)
    job = import_job_create(actor=actor, path=path, filename=name, kind="interactions", **options)
    return import_job_run(job=job)


@pytest.fixture
def customers(company):
    first = customer_create(actor=company.rep, data={"name": "张伟", "external_id": "K1"})
    second = customer_create(actor=company.rep, data={"name": "张伟 (card)", "external_id": "K2"})
    customers_merge(actor=company.rep, survivor_id=first.pk, merged_id=second.pk)
    west = customer_create(actor=company.rep_west, data={"name": "West", "external_id": "W1"})
    return first, west


def test_rows_land_on_the_timeline_and_bad_rows_are_reported(company, customers, tmp_path):
    first, _west = customers
    job = run(
        tmp_path,
        HEADER
        + "I1,K1,phone,inbound,来电询价,要报价,2026-03-02 10:30,rep\n"
        + "I2,K2,visit,outbound,拜访,,2026-03-05,\n"  # K2 was merged into K1
        + "I3,W1,email,,Mail,,2026-03-06,\n"  # not the rep's to log
        + "I4,K9,email,,Mail,,2026-03-06,\n"  # no such customer
        + "I5,K1,pigeon,,Mail,,2026-03-06,\n"  # no such channel
        + "I6,K1,email,,,,2026-03-06,\n"  # no subject
        + "I7,K1,email,,Mail,,2099-01-01,\n"  # in the future
        + "I8,K1,email,,Mail,,yesterday,\n",  # not a date
        company.rep,
    )
    assert (job.rows_read, job.created, job.rejected) == (8, 2, 6)
    assert job.created + job.updated + job.merged + job.rejected == job.rows_read
    timeline = Interaction.objects.filter(customer=first).order_by("occurred_at")
    assert [i.subject for i in timeline] == ["来电询价", "拜访"]
    assert timeline[0].staff == company.rep and timeline[0].direction == "inbound"
    first.refresh_from_db()
    assert first.last_contacted_at == timeline[1].occurred_at
    reasons = list(ImportRowError.objects.filter(job=job).values_list("reason", flat=True))
    assert "W1" in reasons[0] and "customer_external_id:" in reasons[0]
    assert AuditEvent.objects.filter(object_type="interaction").count() == 2


def test_reimporting_updates_by_external_id_and_changes_nothing_twice(company, customers, tmp_path):
    text = HEADER + "I1,K1,phone,inbound,来电询价,,2026-03-02 10:30,\n"
    run(tmp_path, text, company.rep)
    again = run(tmp_path, text, company.rep)
    assert (again.created, again.updated, again.unchanged) == (0, 1, 1)
    assert Interaction.objects.count() == 1
    changed = run(tmp_path, text.replace("来电询价", "来电询价（补充）"), company.rep)
    assert (changed.updated, changed.unchanged) == (1, 0)
    assert Interaction.objects.get().subject == "来电询价（补充）"
    assert AuditEvent.objects.filter(object_type="interaction", action="update").count() == 1


def test_a_row_cannot_rewrite_an_interaction_on_a_customer_the_user_may_not_see(
    company, customers, tmp_path
):
    _first, west = customers
    secret = Interaction.objects.create(
        customer=west,
        channel="phone",
        direction="inbound",
        subject="West secret",
        external_id="X1",
        staff=company.rep_west,
        created_by=company.rep_west,
    )
    # The row names the rep's own customer, but its external id is West's interaction: it
    # would move that off West's timeline and rewrite it.
    job = run(tmp_path, HEADER + "X1,K1,phone,inbound,hijacked,,,\n", company.rep)
    assert (job.created, job.updated, job.rejected) == (0, 0, 1)
    secret.refresh_from_db()
    assert (secret.customer_id, secret.subject) == (west.pk, "West secret")
    reason = ImportRowError.objects.get(job=job).reason
    assert reason.startswith("external_id:") and "X1" in reason


def test_an_interaction_dated_before_1900_is_rejected_and_the_job_finishes(
    company, customers, tmp_path
):
    # 0001-01-01 is what some spreadsheets put in an empty date cell; the moment cannot even
    # be stored in UTC, and used to fail the whole job.
    job = run(
        tmp_path,
        HEADER + "I1,K1,phone,,ok,,2026-01-02 10:00,\nI2,K1,phone,,ancient,,0001-01-01,\n",
        company.rep,
    )
    assert job.status == "finished" and (job.created, job.rejected) == (1, 1)
    assert ImportRowError.objects.get(job=job).reason == (
        "occurred_at: the year must be between 1900 and 9998"
    )


def test_a_customer_id_that_is_no_number_is_rejected_and_the_job_finishes(
    company, customers, tmp_path
):
    """A superscript digit passed str.isdigit() and failed the whole job in int(); it names no
    customer, like digits of another script or an id beyond 64 bits."""
    first, _west = customers
    path = tmp_path / "by-id.csv"
    path.write_text(
        "customer_id,channel,subject\n"
        + f"{first.pk},phone,ok\n"
        + "²,phone,superscript\n"
        + "١٢,phone,arabic-indic\n"
        + f"{2**64},phone,too large\n",
        encoding="utf-8",
    )
    job = import_job_create(actor=company.rep, path=path, filename=path.name, kind="interactions")
    job = import_job_run(job=job)
    assert job.status == "finished" and (job.created, job.rejected) == (1, 3)
    reasons = ImportRowError.objects.filter(job=job).order_by("row_number")
    assert all("customer" in r.reason for r in reasons), [r.reason for r in reasons]


@pytest.mark.django_db
def test_a_reimport_without_a_column_keeps_what_the_interaction_has(company, customers, tmp_path):
    # Someone else imports a shorter file of the same interactions: the staff, channel,
    # direction and notes it does not give stay as they are, rather than becoming the defaults.
    full = (
        "external_id,customer_external_id,channel,direction,subject,notes,staff\n"
        "I1,K1,visit,inbound,拜访,带了样品,rep\n"
    )
    assert run(tmp_path, full, company.rep).created == 1
    again = run(tmp_path, "external_id,customer_external_id,subject\nI1,K1,拜访\n", company.admin)
    assert (again.updated, again.unchanged) == (1, 1)
    interaction = Interaction.objects.get()
    assert (
        interaction.channel,
        interaction.direction,
        interaction.notes,
        interaction.staff_id,
    ) == ("visit", "inbound", "带了样品", company.rep.pk)
    # A new interaction without those columns still takes the defaults.
    assert (
        run(
            tmp_path, "external_id,customer_external_id,subject\nI2,K1,回访\n", company.admin
        ).created
        == 1
    )
    second = Interaction.objects.get(external_id="I2")
    assert (second.channel, second.direction, second.notes, second.staff_id) == (
        "other",
        "outbound",
        "",
        company.admin.pk,
    )


def test_reimporting_without_a_date_column_keeps_the_moments(company, customers, tmp_path):
    # Without occurred_at, a new interaction happened "now"; one imported before keeps its
    # moment instead of moving to the time of each re-import.
    text = "external_id,customer_external_id,channel,subject\nI1,K1,phone,来电\n"
    assert run(tmp_path, text, company.rep).created == 1
    before = Interaction.objects.get().occurred_at
    again = run(tmp_path, text, company.rep)
    assert (again.updated, again.unchanged) == (1, 1)
    assert Interaction.objects.get().occurred_at == before
    assert not AuditEvent.objects.filter(object_type="interaction", action="update").exists()
    # A date in the file still corrects it.
    dated = "external_id,customer_external_id,channel,subject,occurred_at\n"
    run(tmp_path, dated + "I1,K1,phone,来电,2026-03-02 10:30\n", company.rep)
    assert timezone.localtime(Interaction.objects.get().occurred_at).isoformat() == (
        "2026-03-02T10:30:00+08:00"
    )


def test_a_row_naming_staff_who_may_not_see_the_customer_is_rejected(company, customers, tmp_path):
    # The same rule as logging a contact by hand: who had it must be allowed to see the
    # customer. West's rep may not see K1; the teammate (team A shares) and the agent may.
    job = run(
        tmp_path,
        HEADER
        + "I1,K1,phone,,Call,,2026-03-02 10:30,rep_west\n"
        + "I2,K1,phone,,Call,,2026-03-02 11:30,teammate\n"
        + "I3,K1,phone,,Call,,2026-03-02 12:30,agent\n",
        company.rep,
    )
    assert (job.created, job.rejected) == (2, 1)
    reason = ImportRowError.objects.get(job=job).reason
    assert reason == "staff: “rep_west” may not see customer K1"
    assert set(Interaction.objects.values_list("staff__username", flat=True)) == {
        "teammate",
        "agent",
    }
    assert not Interaction.objects.filter(external_id="I1").exists()


def test_moving_an_interaction_keeps_its_staff_only_if_they_may_see_the_new_customer(
    company, customers, tmp_path
):
    _first, west = customers
    columns = "external_id,customer_external_id,channel,subject,staff\n"
    assert run(tmp_path, columns + "I1,K1,phone,Call,rep\n", company.admin).created == 1
    # Moved to West's customer without a staff column, it would keep the East rep.
    moved = run(tmp_path, "external_id,customer_external_id,subject\nI1,W1,Call\n", company.admin)
    assert (moved.updated, moved.rejected) == (0, 1)
    reason = ImportRowError.objects.get(job=moved).reason
    assert reason.startswith("staff: “rep”, who had interaction I1")
    assert Interaction.objects.get().customer.external_id == "K1"
    # Naming someone who may see it, the move goes through.
    again = run(tmp_path, columns + "I1,W1,phone,Call,rep_west\n", company.admin)
    assert (again.updated, again.rejected) == (1, 0)
    assert (Interaction.objects.get().customer_id, Interaction.objects.get().staff) == (
        west.pk,
        company.rep_west,
    )
    # Someone who has left keeps the contacts they had wherever they move.
    company.rep_west.is_active = False
    company.rep_west.save()
    back = run(tmp_path, "external_id,customer_external_id,subject\nI1,K1,Call\n", company.admin)
    assert (back.updated, back.rejected) == (1, 0)


def test_a_later_row_of_the_same_batch_cannot_move_the_staff_an_earlier_row_set(
    company, customers, tmp_path
):
    # A later row of the file updates what an earlier one wrote, so the staff a moved
    # interaction keeps is the one the earlier row left, not the one stored before the file.
    _first, west = customers
    columns = "external_id,customer_external_id,subject,staff\n"
    job = run(tmp_path, columns + "I1,K1,Call,rep\nI1,W1,Call,\n", company.admin)
    assert (job.created, job.rejected) == (1, 1)
    assert ImportRowError.objects.get(job=job).reason.startswith(
        "staff: “rep”, who had interaction I1"
    )
    stored = Interaction.objects.get()
    assert (stored.customer.external_id, stored.staff) == ("K1", company.rep)

    # Stored on K1 with the East rep: a row moves it to West with West's rep, and a later one
    # moves it back without naming anyone, which would leave West's rep on East's customer.
    job = run(tmp_path, columns + "I1,W1,Call,rep_west\nI1,K1,Call,\n", company.admin)
    assert (job.updated, job.rejected) == (1, 1)
    assert ImportRowError.objects.get(job=job).reason.startswith(
        "staff: “rep_west”, who had interaction I1"
    )
    stored = Interaction.objects.get()
    assert (stored.customer_id, stored.staff) == (west.pk, company.rep_west)


def test_two_rows_rewriting_one_stored_interaction_in_a_batch_both_count(
    company, customers, tmp_path
):
    # As across batches, a later row changes what it names and keeps what the earlier row
    # wrote, rather than the earlier row's changes being dropped.
    columns = "external_id,customer_external_id,subject,notes,staff\n"
    assert run(tmp_path, columns + "I1,K1,Call,,rep\n", company.rep).created == 1
    job = run(tmp_path, columns + "I1,K1,Call,要报价,\nI1,K1,Call again,,teammate\n", company.rep)
    assert (job.updated, job.rejected) == (2, 0)
    stored = Interaction.objects.get()
    assert (stored.subject, stored.notes, stored.staff) == (
        "Call again",
        "要报价",
        company.teammate,
    )
    # The same for one the batch creates and two later rows change.
    rows = "I2,K1,Visit,,\nI2,K1,Visit,带样品,\nI2,K1,Visit again,,teammate\n"
    job = run(tmp_path, columns + rows, company.rep)
    assert (job.created, job.updated, job.rejected) == (1, 2, 0)
    made = Interaction.objects.get(external_id="I2")
    assert (made.subject, made.notes, made.staff) == ("Visit again", "带样品", company.teammate)


def _user_reads(tmp_path, actor, rows: str) -> int:
    """How many queries read users while ``rows`` are imported one row a batch."""
    path = tmp_path / "contacts.csv"
    path.write_text("external_id,customer_external_id,subject,staff\n" + rows)
    job = import_job_create(actor=actor, path=path, filename="contacts.csv", kind="interactions")
    with CaptureQueriesContext(connection) as queries:
        import_job_run(job=job, batch_size=1)
    return sum('FROM "accounts_user"' in q["sql"] for q in queries.captured_queries)


def test_the_staff_named_are_read_once_per_import_not_once_per_batch(company, customers, tmp_path):
    row = "K1,Call,teammate\n"
    two_batches = _user_reads(tmp_path, company.rep, "I1," + row + "I2," + row)
    six_batches = _user_reads(tmp_path, company.rep, "".join(f"J{n},{row}" for n in range(6)))
    # Who the teammate is and who their team's members are does not change with more batches.
    # The importing user is locked once a batch, as each batch commits on its own.
    assert six_batches - 6 == two_batches - 2
