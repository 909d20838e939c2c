"""The customer form as a browser without JavaScript posts it: linking a person to an
organisation by its name, and adding phones, emails and addresses in the empty row each group
always ends with."""

import pytest
from django.core.exceptions import ValidationError

from guanxi.customers.models import Customer
from guanxi.customers.services import customer_create, customer_update

from .phone_edits import NO_ADDRESS
from .test_customer_pages import _customer_form

pytestmark = pytest.mark.django_db


def _organisation(actor, name, **extra):
    return customer_create(actor=actor, data={"name": name, "party_type": "organization", **extra})


def test_an_organisation_typed_in_full_links_the_person(client, company):
    org = _organisation(company.rep, "天津思源科技有限公司")
    client.force_login(company.rep)
    response = client.post(
        "/customers/new/", _customer_form(name="周杰", organization_label="天津思源科技有限公司")
    )
    assert response.status_code == 302
    assert Customer.objects.get(name="周杰").organization_id == org.pk


def test_the_typed_name_is_compared_as_the_search_compares_text(client, company):
    org = _organisation(company.rep, "Acme Trading 張氏")
    client.force_login(company.rep)
    typed = "  ＡＣＭＥ trading 张氏 "  # full width, lower case, simplified
    client.post("/customers/new/", _customer_form(name="周杰", organization_label=typed))
    assert Customer.objects.get(name="周杰").organization_id == org.pk


@pytest.mark.parametrize("owner", ["rep_west", None])
def test_an_organisation_not_found_is_an_error_beside_the_field_keeping_the_text(
    client, company, owner
):
    if owner:  # it exists, but out of the rep's sight
        _organisation(company.users[owner], "西部物流有限公司")
    client.force_login(company.rep)
    before = Customer.objects.count()
    response = client.post(
        "/customers/new/",
        _customer_form(name="周杰", organization_label="西部物流有限公司", phone_number=["12345"]),
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert "No organisation you can see is called “西部物流有限公司”." in html
    assert 'value="西部物流有限公司"' in html
    assert "“12345” is not a valid phone number." in html  # the other errors show at once
    assert Customer.objects.count() == before


def test_several_organisations_of_the_name_are_offered_to_choose_from(client, company):
    first = _organisation(company.rep, "华瑞科技", region="北京")
    second = _organisation(company.rep, "华瑞科技", region="上海")
    client.force_login(company.rep)
    form = _customer_form(name="周杰", organization_label="华瑞科技")
    response = client.post("/customers/new/", form)
    assert response.status_code == 422
    html = response.content.decode()
    assert "Several organisations are called “华瑞科技”: choose one." in html
    assert f'name="organization_pick" value="{first.pk}"' in html
    assert f'name="organization_pick" value="{second.pk}"' in html
    assert not Customer.objects.filter(name="周杰").exists()

    response = client.post("/customers/new/", {**form, "organization_pick": str(second.pk)})
    assert response.status_code == 302
    assert Customer.objects.get(name="周杰").organization_id == second.pk


def test_a_picked_organisation_counts_while_its_name_is_in_the_box(client, company):
    first = _organisation(company.rep, "华瑞科技")
    _organisation(company.rep, "华瑞科技")
    client.force_login(company.rep)
    client.post(
        "/customers/new/",
        _customer_form(name="周杰", organization_id=str(first.pk), organization_label="华瑞科技"),
    )
    assert Customer.objects.get(name="周杰").organization_id == first.pk


def test_without_javascript_the_box_alone_changes_or_removes_the_organisation(client, company):
    old = _organisation(company.rep, "旧公司")
    new = _organisation(company.rep, "新公司")
    person = customer_create(actor=company.rep, data={"name": "周杰", "organization_id": old.pk})
    client.force_login(company.rep)
    url = f"/customers/{person.pk}/edit/"

    # The hidden id still names the old organisation; the box names another.
    data = _customer_form(name="周杰", owner_id=str(company.rep.pk), consent_email_state="")
    data.update(organization_id=str(old.pk), organization_label="新公司")
    assert client.post(url, {**data, "version": "1"}).status_code == 302
    assert Customer.objects.get(pk=person.pk).organization_id == new.pk

    data.update(organization_id=str(new.pk), organization_label="")
    assert client.post(url, {**data, "version": "2"}).status_code == 302
    assert Customer.objects.get(pk=person.pk).organization_id is None


def test_a_person_linked_to_an_organisation_out_of_sight_can_still_be_edited(client, company):
    # Team B shares nothing, so the rep cannot see Team B's organisation; the rep's customer
    # works there all the same (linked by a manager).
    org = _organisation(company.rep_b, "乙队公司")
    person = company.rep_customer
    Customer.objects.filter(pk=person.pk).update(organization=org)
    client.force_login(company.rep)
    url = f"/customers/{person.pk}/edit/"
    data = _customer_form(name=person.name, owner_id=str(company.rep.pk), consent_email_state="")
    # The form names no organisation out of sight: its box comes and goes back empty.
    data.update(organization_id="", organization_label="", version="1")
    assert client.post(url, {**data, "industry": "Changed"}).status_code == 302
    person.refresh_from_db()
    assert (person.industry, person.organization_id) == ("Changed", org.pk)

    # Linking to it anew is still refused, as is any organisation out of sight by id.
    other = customer_create(actor=company.rep, data={"name": "李雷"})
    data.update(
        name="李雷", version="1", organization_id=str(org.pk), organization_label="乙队公司"
    )
    response = client.post(f"/customers/{other.pk}/edit/", data)
    assert response.status_code == 422
    assert Customer.objects.get(pk=other.pk).organization_id is None
    with pytest.raises(ValidationError):
        customer_update(
            actor=company.rep,
            customer_id=other.pk,
            expected_version=1,
            data={"organization_id": org.pk},
        )


def test_the_edit_form_ends_each_group_with_an_empty_row(client, company):
    customer = customer_create(
        actor=company.rep,
        data={
            "name": "王芳",
            "phones": ["13900001111"],
            "emails": ["wang@example.com"],
            "addresses": [{"city": "上海"}],
        },
    )
    client.force_login(company.rep)
    form = client.get(f"/customers/{customer.pk}/edit/").context["form"]
    assert [r.values["number"] for r in form.phones] == ["+86 139 **** 1111", ""]
    assert [r.values["address"] for r in form.emails] == ["wang@example.com", ""]
    assert [r.values["city"] for r in form.addresses] == ["上海", ""]


def test_a_phone_typed_in_the_empty_row_is_added_and_empty_rows_are_ignored(client, company):
    customer = customer_create(actor=company.rep, data={"name": "王芳", "phones": ["13900001111"]})
    client.force_login(company.rep)
    data = _customer_form(
        name="王芳",
        version="1",
        owner_id=str(company.rep.pk),
        consent_email_state="",
        phone_number=["139 0000 1111", "010-6234 5678"],
        phone_label=["mobile", "work"],
        email_address=["", ""],
        email_label=["work", "work"],
        **NO_ADDRESS,
    )
    response = client.post(f"/customers/{customer.pk}/edit/", data)
    assert response.status_code == 302
    customer.refresh_from_db()
    assert [p.number for p in customer.phones.all()] == ["+8613900001111", "+861062345678"]
    assert not customer.emails.exists() and not customer.addresses.exists()


def test_a_refused_form_keeps_the_rows_typed_and_an_empty_one_after_them(client, company):
    client.force_login(company.rep)
    response = client.post("/customers/new/", _customer_form(phone_number=["12345", ""]))
    assert response.status_code == 422
    form = response.context["form"]
    assert [r.values["number"] for r in form.phones] == ["12345", ""]
    assert form.phones[0].errors and not form.phones[1].errors


def test_the_edit_form_dates_a_consent_in_the_servers_time_zone_as_the_page_does(client, company):
    # Seven in the morning in Shanghai is still the day before in UTC: the form named that
    # day beside the consent while the customer page and its history name the local one.
    customer = customer_create(
        actor=company.rep,
        data={
            "name": "周杰",
            "consents": [
                {
                    "channel": "email",
                    "granted": True,
                    "method": "web_form",
                    "recorded_at": "2026-03-02T07:00:00+08:00",
                }
            ],
        },
    )
    client.force_login(company.rep)
    form = client.get(f"/customers/{customer.pk}/edit/").context["form"]
    (email,) = [row for row in form.consents if row.values["channel"] == "email"]
    assert email.values["recorded_at"] == "2026-03-02"
