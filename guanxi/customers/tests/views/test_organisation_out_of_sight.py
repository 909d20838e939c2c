"""A person the reader may see, in an organisation the reader may not: the organisation's name is
nowhere on the pages (customer page, list and search, exports, edit form, duplicate hints and
pairs); the person's own company text is shown instead. Whoever may see the organisation still
gets its name."""

import csv
import io

import openpyxl
import pytest

from guanxi.audit.models import AuditEvent
from guanxi.customers.exports import customers_export_csv, customers_export_xlsx
from guanxi.customers.models import Customer
from guanxi.customers.services import customer_create
from guanxi.dedup.models import DuplicatePair

pytestmark = pytest.mark.django_db

SECRET = "Zephyrine Holdings"
OWN_WORDS = "Plainview Trading"


@pytest.fixture
def hidden(company):
    """An organisation of the West rep's, and two people of the East rep's in it, one with a
    company text of their own; the East rep sees the people, not the organisation."""
    organisation = customer_create(
        actor=company.rep_west, data={"name": SECRET, "party_type": "organization"}
    )
    people = [
        customer_create(
            actor=company.admin,
            data={
                "name": "李雷",
                "organization_id": organisation.pk,
                "owner_id": company.rep.pk,
                "company": company_text,
                "phones": ["13912345678"],
            },
        )
        for company_text in (OWN_WORDS, "")
    ]
    return organisation, people[0], people[1]


def _csv_rows(content: bytes) -> list[dict]:
    return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))


def test_the_customer_page_names_the_organisation_only_to_who_may_see_it(client, company, hidden):
    organisation, person, bare = hidden
    client.force_login(company.rep)
    html = client.get(f"/customers/{person.pk}/").content.decode()
    assert SECRET not in html and OWN_WORDS in html
    assert f"/customers/{organisation.pk}/" not in html
    assert SECRET not in client.get(f"/customers/{bare.pk}/").content.decode()
    client.force_login(company.admin)
    html = client.get(f"/customers/{person.pk}/").content.decode()
    assert SECRET in html and f"/customers/{organisation.pk}/" in html


def test_the_list_and_the_search_show_the_persons_own_company(client, company, hidden):
    client.force_login(company.rep)
    for params in ({}, {"q": "李雷"}):
        html = client.get("/customers/", params).content.decode()
        assert "李雷" in html and SECRET not in html and OWN_WORDS in html
    fragment = client.get("/customers/", {"q": "李雷"}, headers={"HX-Request": "true"})
    assert "李雷" in fragment.content.decode() and SECRET not in fragment.content.decode()
    client.force_login(company.admin)
    assert SECRET in client.get("/customers/", {"q": "李雷"}).content.decode()


def test_exports_give_the_persons_own_company(company, hidden):
    _organisation, person, bare = hidden
    rows = {int(r["id"]): r for r in _csv_rows(customers_export_csv(actor=company.rep))}
    assert rows[person.pk]["company"] == OWN_WORDS and rows[bare.pk]["company"] == ""
    sheet = openpyxl.load_workbook(io.BytesIO(customers_export_xlsx(actor=company.rep).read()))
    cells = [str(c.value) for row in sheet.worksheets[0].iter_rows() for c in row]
    assert OWN_WORDS in cells and SECRET not in cells
    rows = {int(r["id"]): r for r in _csv_rows(customers_export_csv(actor=company.admin))}
    assert rows[person.pk]["company"] == SECRET


def test_the_edit_form_does_not_name_it_and_saving_keeps_the_person_in_it(client, company, hidden):
    organisation, person, _bare = hidden
    client.force_login(company.rep)
    response = client.get(f"/customers/{person.pk}/edit/")
    html = response.content.decode()
    assert response.status_code == 200 and SECRET not in html
    assert "an organisation you cannot see" in html
    form = response.context["form"]
    assert form.organization_id == "" and form.organization_label == ""
    posted = client.post(
        f"/customers/{person.pk}/edit/",
        {
            "version": form.version,
            **form.scalars,
            "job_title": "采购经理",
            "organization_id": form.organization_id,
            "organization_label": form.organization_label,
        },
    )
    assert posted.status_code == 302, posted.content.decode()
    saved = Customer.objects.get(pk=person.pk)
    assert saved.job_title == "采购经理" and saved.organization_id == organisation.pk
    # Naming it does not reach it: the name is refused as any organisation out of sight is.
    refused = client.post(
        f"/customers/{person.pk}/edit/",
        {
            "version": saved.version,
            **form.scalars,
            "organization_id": str(organisation.pk),
            "organization_label": SECRET,
        },
    )
    assert refused.status_code == 422
    assert "No organisation you can see" in refused.content.decode()


def _edit(client, person, **changes):
    """The edit form of ``person`` as the logged-in user gets it, posted back with ``changes``."""
    form = client.get(f"/customers/{person.pk}/edit/").context["form"]
    data = {
        "version": form.version,
        **form.scalars,
        "organization_id": form.organization_id,
        "organization_label": form.organization_label,
    }
    return client.post(f"/customers/{person.pk}/edit/", {**data, **changes})


def test_the_edit_form_takes_the_person_out_of_it_when_asked(client, company, hidden):
    organisation, person, _bare = hidden
    client.force_login(company.rep)
    html = client.get(f"/customers/{person.pk}/edit/").content.decode()
    assert 'name="leave_organization"' in html and SECRET not in html
    posted = _edit(client, person, leave_organization="on", job_title="采购经理")
    assert posted.status_code == 302, posted.content.decode()
    saved = Customer.objects.get(pk=person.pk)
    assert (saved.organization_id, saved.job_title) == (None, "采购经理")
    event = AuditEvent.objects.filter(object_type="customer", object_id=person.pk).latest("pk")
    assert event.action == AuditEvent.Action.UPDATE and event.actor_id == company.rep.pk
    assert event.changes["organization_id"] == {"before": organisation.pk, "after": None}
    # The history says an organisation was left without naming it to the rep.
    for path in (f"/customers/{person.pk}/", f"/customers/{person.pk}/history/"):
        html = client.get(path).content.decode()
        assert "another customer, which you cannot open" in html
        assert SECRET not in html and f"/customers/{organisation.pk}/" not in html
    # Whoever may see the organisation gets no box to tick: they empty the organisation box.
    client.force_login(company.admin)
    other = customer_create(
        actor=company.admin, data={"name": "韩梅梅", "organization_id": organisation.pk}
    )
    html = client.get(f"/customers/{other.pk}/edit/").content.decode()
    assert SECRET in html and 'name="leave_organization"' not in html
    assert _edit(client, other, leave_organization="on").status_code == 302
    assert Customer.objects.get(pk=other.pk).organization_id == organisation.pk


def test_the_box_to_tick_is_in_chinese(client, company, hidden):
    _organisation, person, _bare = hidden
    client.force_login(company.rep)
    client.cookies["django_language"] = "zh-hans"
    assert "将此人移出该组织" in client.get(f"/customers/{person.pk}/edit/").content.decode()
    client.cookies["django_language"] = "zh-hant"
    assert "將此人移出該組織" in client.get(f"/customers/{person.pk}/edit/").content.decode()


def test_the_edit_form_makes_the_person_an_organisation_when_taken_out(client, company, hidden):
    organisation, person, bare = hidden
    client.force_login(company.rep)
    refused = _edit(client, person, party_type="organization")
    assert refused.status_code == 422
    assert "Remove the organisation first" in refused.content.decode()
    assert 'name="leave_organization"' in refused.content.decode()
    assert Customer.objects.get(pk=person.pk).organization_id == organisation.pk
    posted = _edit(client, person, party_type="organization", leave_organization="on")
    assert posted.status_code == 302, posted.content.decode()
    saved = Customer.objects.get(pk=person.pk)
    assert (saved.party_type, saved.organization_id) == ("organization", None)
    event = AuditEvent.objects.filter(object_type="customer", object_id=person.pk).latest("pk")
    assert event.changes["organization_id"] == {"before": organisation.pk, "after": None}
    assert event.changes["party_type"]["after"] == "organization"
    # Whoever may see it empties the box to the same end; left naming it, the box still refuses.
    client.force_login(company.admin)
    assert _edit(client, bare, party_type="organization").status_code == 422
    emptied = _edit(client, bare, party_type="organization", organization_label="")
    assert emptied.status_code == 302, emptied.content.decode()
    saved = Customer.objects.get(pk=bare.pk)
    assert (saved.party_type, saved.organization_id) == ("organization", None)


def test_duplicate_hints_and_pairs_show_the_persons_own_company(client, company, hidden):
    _organisation, person, bare = hidden
    client.force_login(company.rep)
    hint = client.post(
        "/duplicates/hints/",
        {
            "party_type": "person",
            "name": "李雷",
            "phone_number": "13912345678",
            "phone_label": "mobile",
        },
    ).content.decode()
    assert f"/customers/{person.pk}/" in hint and SECRET not in hint and OWN_WORDS in hint
    pair = DuplicatePair.objects.create(
        left_id=min(person.pk, bare.pk), right_id=max(person.pk, bare.pk), score=0.9, source="scan"
    )
    html = client.get(f"/duplicates/{pair.pk}/").content.decode()
    assert OWN_WORDS in html and SECRET not in html
    client.force_login(company.admin)
    assert SECRET in client.get(f"/duplicates/{pair.pk}/").content.decode()
