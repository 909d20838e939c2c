"""Pages answer odd parameters (numbers in other scripts, numbers no column holds) with a page
or a refusal, never a server error."""

import pytest

from guanxi.customers.models import Customer
from guanxi.customers.tests.views.test_customer_pages import _customer_form
from guanxi.dedup.models import DuplicatePair
from guanxi.service import mail
from guanxi.service.models import SatisfactionSurvey, Ticket
from guanxi.service.services import ticket_create
from guanxi.web.params import int_param

pytestmark = pytest.mark.django_db

# "²" passes str.isdigit() but not int(); the other is beyond a 64-bit id.
SUPERSCRIPT = "²"
HUGE = "9" * 25


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("12", 12),
        ("0", 0),
        (str(2**63 - 1), 2**63 - 1),
        (str(2**63), None),
        (HUGE, None),
        (SUPERSCRIPT, None),
        ("١٢", None),
        ("-1", None),
        (" 1", None),
        ("", None),
        (None, None),
    ],
)
def test_int_param_reads_ascii_ids_a_column_can_hold(raw, expected):
    assert int_param(raw) == expected


@pytest.fixture
def ticket(company):
    return ticket_create(
        actor=company.admin,
        customer_id=company.rep_customer.pk,
        data={"type": "complaint", "subject": "Odd"},
    )


def test_new_customer_page_ignores_an_organisation_that_is_no_id(client, company):
    client.force_login(company.rep)
    for value in (SUPERSCRIPT, HUGE):
        assert client.get("/customers/new/", {"organization": value}).status_code == 200


def test_an_owner_that_is_no_id_is_refused_beside_the_field(client, company):
    client.force_login(company.admin)
    for value in (SUPERSCRIPT, HUGE):
        response = client.post("/customers/new/", _customer_form(owner_id=value))
        assert response.status_code == 422
        assert "Not a valid user id." in response.content.decode()
    assert not Customer.objects.filter(name="王芳").exists()


def test_an_organisation_pick_that_is_no_id_is_no_server_error(client, company):
    client.force_login(company.rep)
    response = client.post(
        "/customers/new/",
        _customer_form(organization_id=SUPERSCRIPT, organization_label="Nowhere Ltd"),
    )
    assert response.status_code == 422
    response = client.post(
        "/customers/new/",
        _customer_form(organization_pick=SUPERSCRIPT, organization_label="Nowhere Ltd"),
    )
    assert response.status_code == 422
    response = client.post(
        "/duplicates/hints/", _customer_form(organization_id=SUPERSCRIPT, name="王芳")
    )
    assert response.status_code == 200


def test_deleting_with_a_version_that_is_no_number(client, company):
    customer = company.rep_customer
    client.force_login(company.analyst)
    response = client.post(f"/customers/{customer.pk}/delete/", {"version": SUPERSCRIPT})
    assert response.status_code == 403
    client.force_login(company.admin)
    for version in (SUPERSCRIPT, HUGE):
        response = client.post(f"/customers/{customer.pk}/delete/", {"version": version})
        assert response.status_code == 302
        customer.refresh_from_db()
        assert customer.deleted_at is None  # a version no customer has is a stale one


def test_ticket_actions_with_numbers_that_are_no_ids(client, company, ticket):
    client.force_login(company.agent)
    url = f"/service/tickets/{ticket.pk}/"
    for data in (
        {"action": "status", "status": "pending_customer", "version": SUPERSCRIPT},
        {"action": "status", "status": "pending_customer", "version": HUGE},
        {"action": "assign", "assignee_id": SUPERSCRIPT, "version": str(ticket.version)},
        {"action": "assign", "assignee_id": HUGE, "version": str(ticket.version)},
        {"action": "merge", "into": f"T-{SUPERSCRIPT}"},
        {"action": "merge", "into": HUGE},
    ):
        response = client.post(url, data)
        # Shown again (422 for a refusal: no ticket has that number) or sent back; never a 500.
        assert response.status_code in (200, 302, 422), data
    ticket.refresh_from_db()
    assert ticket.merged_into_id is None
    assert ticket.status != "pending_customer"  # sent against a version it never had


def test_ticket_queue_with_a_customer_no_column_holds(client, company, ticket):
    client.force_login(company.agent)
    assert client.get("/service/tickets/", {"customer_id": HUGE}).status_code == 200


def test_survey_link_with_a_score_that_is_no_number(client, company, ticket):
    SatisfactionSurvey.objects.create(ticket=ticket)
    url = f"/service/survey/{mail.survey_token(ticket.pk)}/"
    for score in (SUPERSCRIPT, HUGE):
        assert client.get(url, {"score": score}).status_code == 200


def test_merging_a_pair_with_versions_that_are_no_numbers(client, company):
    left, right = sorted((company.rep_customer.pk, company.teammate_customer.pk))
    pair = DuplicatePair.objects.create(left_id=left, right_id=right, score=0.9, source="scan")
    client.force_login(company.admin)
    response = client.post(
        f"/duplicates/{pair.pk}/merge/",
        {"keep": str(left), "version_left": SUPERSCRIPT, "version_right": HUGE},
    )
    assert response.status_code == 302
    assert Customer.objects.filter(pk=right, deleted_at__isnull=True).exists()  # stale


def test_ticket_numbers_in_the_merge_box_still_merge(client, company, ticket):
    other = ticket_create(
        actor=company.admin,
        customer_id=company.rep_customer.pk,
        data={"type": "complaint", "subject": "Odd again"},
    )
    client.force_login(company.agent)
    url = f"/service/tickets/{ticket.pk}/"
    merge = {"action": "merge", "version": ticket.version}
    asked = client.post(url, {**merge, "into": other.number})
    # The number finds the ticket to keep, which the page shows before anything is merged.
    assert asked.status_code == 200 and 'id="merge-confirm"' in asked.content.decode()
    response = client.post(url, {**merge, "into": other.pk, "into_version": other.version})
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.merged_into_id == other.pk
    assert Ticket.objects.count() == 2


def test_a_customer_page_for_an_id_no_column_holds_is_not_found(client, company):
    # A customer that does not exist is looked up among the merged-away ones too.
    client.force_login(company.rep)
    for customer_id in (str(2**63), HUGE):
        assert client.get(f"/customers/{customer_id}/").status_code == 404


NUL_TEXT = "a\x00b"  # PostgreSQL refuses it in any text column: a server error there


@pytest.mark.parametrize(
    "field",
    [
        {"notes": NUL_TEXT},
        {"tags": NUL_TEXT},
        {"external_id": NUL_TEXT},
        {"address_city": [NUL_TEXT, ""]},
        {"address_street": [NUL_TEXT, ""]},
    ],
)
def test_customer_form_refuses_text_no_column_holds(client, company, field):
    client.force_login(company.rep)
    response = client.post("/customers/new/", _customer_form(**field))
    assert response.status_code == 422
    assert "Text may not contain NUL characters" in response.content.decode()
    assert not Customer.objects.filter(name="王芳").exists()
    customer = company.rep_customer
    edit = _customer_form(name=customer.name, version="1", owner_id=str(company.rep.pk), **field)
    assert client.post(f"/customers/{customer.pk}/edit/", edit).status_code == 422
    customer.refresh_from_db()
    assert customer.version == 1


def test_blacklist_reason_refuses_text_no_column_holds(client, company):
    from django.contrib.messages import get_messages

    from guanxi.analytics.models import Blacklist

    client.force_login(company.rep)
    response = client.post(
        f"/analytics/blacklist/{company.rep_customer.pk}/add/", {"reason": NUL_TEXT}
    )
    assert response.status_code == 302
    shown = [str(m) for m in get_messages(response.wsgi_request)]
    assert shown == ["Text may not contain NUL characters or unpaired surrogates."], shown
    assert not Blacklist.objects.exists()
