"""The "Merged into this customer" card of a customer's page names the customers merged into
it. Once a merge is undone its customer is one of its own again, maybe out of the reader's
sight (another team's): the card, like the history, must not name it to them."""

import pytest

from guanxi.dedup.services import customer_merge_undo, customers_merge

pytestmark = pytest.mark.django_db


@pytest.fixture
def undone_merge_with_another_team(company):
    """The manager merged Team B's customer into the rep's, then undid it: Team B's customer
    is Team B's again, which the rep (Team A) may not see."""
    kept, other = company.rep_customer, company.rep_b_customer
    merge = customers_merge(actor=company.manager, survivor_id=kept.pk, merged_id=other.pk)
    customer_merge_undo(actor=company.manager, merge_id=merge.pk)
    return kept, other


def test_an_undone_merge_does_not_name_a_customer_the_reader_may_not_see(
    client, company, undone_merge_with_another_team
):
    kept, other = undone_merge_with_another_team
    client.force_login(company.rep)
    page = client.get(f"/customers/{kept.pk}/").content.decode()
    assert other.name not in page
    assert f"#{other.pk} ·" not in page


def test_who_may_see_both_still_reads_the_undone_merge(
    client, company, undone_merge_with_another_team
):
    kept, other = undone_merge_with_another_team
    client.force_login(company.manager)
    page = client.get(f"/customers/{kept.pk}/").content.decode()
    assert "Merged into this customer" in page
    assert other.name in page and "undone" in page


def test_a_standing_merge_names_the_customer_merged_in_to_who_may_see_the_kept_one(client, company):
    """Everything of a customer merged in is the kept customer's now, so its name is too."""
    kept, other = company.rep_customer, company.rep_b_customer
    customers_merge(actor=company.manager, survivor_id=kept.pk, merged_id=other.pk)
    client.force_login(company.rep)
    page = client.get(f"/customers/{kept.pk}/").content.decode()
    assert "Merged into this customer" in page and other.name in page
