"""An import looking for duplicates (``--dedup auto`` or ``review``) compares the ID numbers of
its rows with the customers' only for importers who may see ID numbers in full, as the
new-customer form's duplicate check does. Shown masked (1****************X), a number lacks
digits: anyone else could import the candidates and read the full number off the one that
merged or was queued for review."""

import pytest
from django.urls import reverse

from guanxi.audit.models import AuditEvent
from guanxi.audit.services import SENSITIVE_PLACEHOLDER
from guanxi.core.crypto import lookup_hash
from guanxi.customers.models import Customer
from guanxi.customers.services import customer_create
from guanxi.dedup.models import DuplicatePair
from guanxi.imports.models import ImportJob

from .test_customer_import import run_import

pytestmark = pytest.mark.django_db

ID_NUMBER = "11010519491231002X"
# The same masked form, two hidden digits different (and a valid check digit).
WRONG_GUESS = "11015619491231002X"


@pytest.fixture
def customer(company):
    return customer_create(actor=company.rep, data={"name": "刘洋", "id_number": ID_NUMBER})


def _outcome(tmp_path, actor, id_number: str, dedup: str) -> tuple:
    job = run_import(tmp_path, f"name,id_number\n刘洋,{id_number}\n", actor, dedup=dedup)
    assert job.status == ImportJob.Status.FINISHED
    return job.created, job.merged, job.queued_for_review


@pytest.mark.parametrize("dedup", ["auto", "review"])
@pytest.mark.parametrize("id_number", [ID_NUMBER, WRONG_GUESS])
def test_the_import_does_not_confirm_an_id_number_to_who_may_not_see_it_in_full(
    company, customer, tmp_path, dedup, id_number
):
    assert not company.rep.may_view_sensitive()
    # The right number and a wrong one get the same outcome: a new customer, nothing queued.
    assert _outcome(tmp_path, company.rep, id_number, dedup) == (1, 0, 0)
    assert not DuplicatePair.objects.exists()


@pytest.mark.parametrize(("dedup", "outcome"), [("auto", (0, 1, 0)), ("review", (1, 0, 1))])
def test_who_may_see_id_numbers_has_rows_matched_on_them(
    company, customer, tmp_path, dedup, outcome
):
    assert company.manager.may_view_sensitive()
    assert _outcome(tmp_path, company.manager, ID_NUMBER, dedup) == outcome


# An update by external id writes nothing when the row holds the stored values ("updated,
# changed nothing"). Were that so for the ID number of an importer who may not see it in full,
# the counts, the job page and the customer's history would say whether a guess is the number.


def _update_outcome(client, tmp_path, actor, customer, id_number: str) -> tuple:
    job = run_import(
        tmp_path, f"external_id,name,id_number\n{customer.external_id},刘洋,{id_number}\n", actor
    )
    client.force_login(actor)
    page = client.get(reverse("imports:detail", args=[job.pk])).content.decode()
    events = AuditEvent.objects.filter(customer_id=customer.pk, action=AuditEvent.Action.UPDATE)
    return (
        job.status,
        (job.created, job.updated, job.unchanged, job.merged, job.rejected),
        job.errors.count(),
        "changed nothing" in page,
        [event.changes for event in events],
    )


def _customer_with_id_number(company, external_id: str) -> Customer:
    return customer_create(
        actor=company.rep,
        data={"name": "刘洋", "external_id": external_id, "id_number": ID_NUMBER},
    )


def test_an_update_does_not_confirm_an_id_number_to_who_may_not_see_it_in_full(
    company, client, tmp_path
):
    right, wrong = (_customer_with_id_number(company, e) for e in ("C1", "C2"))
    outcomes = [
        _update_outcome(client, tmp_path, company.rep, right, ID_NUMBER),
        _update_outcome(client, tmp_path, company.rep, wrong, WRONG_GUESS),
    ]
    assert outcomes[0] == outcomes[1]
    assert outcomes[0][1] == (0, 1, 0, 0, 0)
    assert outcomes[0][4] == [
        {"id_number": {"before": SENSITIVE_PLACEHOLDER, "after": SENSITIVE_PLACEHOLDER}}
    ]
    # The number given is the one kept, as the edit form would keep it.
    wrong.refresh_from_db()
    assert wrong.id_number_hash == lookup_hash(WRONG_GUESS)


def test_who_may_see_id_numbers_imports_the_same_number_again_without_a_change(
    company, client, tmp_path
):
    customer = _customer_with_id_number(company, "C1")
    for _ in range(2):
        outcome = _update_outcome(client, tmp_path, company.manager, customer, ID_NUMBER)
        assert outcome[1] == (0, 1, 1, 0, 0)
        assert outcome[4] == []
    customer.refresh_from_db()
    assert customer.version == 1
