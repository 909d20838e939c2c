"""After a merge, the kept ticket's page names the tickets merged into it and the merged-away
ticket's page names the ticket it went to, in the reader's language; neither says that the kept
ticket was merged into itself."""

import pytest
from django.utils import translation

from guanxi.service.services import ticket_create, ticket_merge

pytestmark = pytest.mark.django_db


def _ticket(company, subject):
    return ticket_create(
        actor=company.admin,
        customer_id=company.rep_customer.pk,
        data={"type": "complaint", "subject": subject},
    )


def test_the_merge_message_on_the_kept_ticket_names_the_merged_one(client, company):
    kept, duplicate = _ticket(company, "Kept"), _ticket(company, "Duplicate")
    client.force_login(company.admin)
    response = client.post(
        f"/service/tickets/{duplicate.pk}/",
        {
            "action": "merge",
            "version": duplicate.version,
            "into": kept.number,
            "into_version": kept.version,
        },
        follow=True,
    )
    page = response.content.decode()
    assert response.redirect_chain[-1][0] == f"/service/tickets/{kept.pk}/"
    assert f"Merged into {kept.number}." not in page
    assert f"{duplicate.number} was merged into this ticket." in page
    assert f'Merged into this ticket: <a href="/service/tickets/{duplicate.pk}/">' in page


def test_both_pages_say_which_way_the_merge_went_in_chinese(client, company):
    kept, duplicate, other = (_ticket(company, s) for s in ("Kept", "Dup 1", "Dup 2"))
    for ticket in (duplicate, other):
        ticket_merge(actor=company.admin, ticket_id=ticket.pk, into_id=kept.pk)
    company.admin.language = "zh-hans"
    company.admin.save(update_fields=["language"])
    client.force_login(company.admin)
    with translation.override("zh-hans"):
        kept_page = client.get(f"/service/tickets/{kept.pk}/").content.decode()
        merged_page = client.get(f"/service/tickets/{duplicate.pk}/").content.decode()
    assert "已合并到此工单：" in kept_page
    assert duplicate.number in kept_page and other.number in kept_page
    assert f'已合并到 <a href="/service/tickets/{kept.pk}/">{kept.number}</a>' in merged_page
    assert "已合并到此工单" not in merged_page
