"""An import looking for duplicates (``--dedup auto`` or ``review``) compares the ID numbers of
its rows with the customers' only for importers who may see ID numbers in full, as the
new-customer form's duplicate check does. Shown masked (1101**********002X), a number lacks
digits: anyone else could import the candidates and read the full number off the one that
merged or was queued for review."""

import pytest

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
