import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from guanxi.audit.models import AuditEvent
from guanxi.core.crypto import decrypt_text
from guanxi.customers.models import Customer, CustomFieldDefinition, MarketingConsent
from guanxi.customers.services import customer_create, customer_update

VALID_ID = "11010519491231002X"
LONG_EMAIL = "a" * 64 + "@" + ".".join(["b" * 60] * 4) + ".com"  # valid, 312 characters


def test_create_stores_contacts_consent_and_audit(company):
    customer = customer_create(
        actor=company.rep,
        data={
            "name": "张伟",
            "phones": ["138 1234 5678", {"number": "010-6234-5678", "label": "work"}],
            "emails": [" Zhang.Wei@Example.COM "],
            "addresses": [{"city": "上海", "street": "南京西路 1 号"}],
            "tags": ["VIP", "VIP", " 展会 "],
            "consents": [{"channel": "email", "granted": True, "method": "web_form"}],
            "id_number": VALID_ID,
        },
    )
    assert customer.owner == company.rep
    assert [p.number for p in customer.phones.all()] == ["+8613812345678", "+861062345678"]
    assert customer.phones.get(is_primary=True).number == "+8613812345678"
    assert customer.emails.get().address == "zhang.wei@example.com"
    assert sorted(customer.tags.values_list("name", flat=True)) == ["VIP", "展会"]
    consent = MarketingConsent.objects.get(customer=customer)
    assert (consent.channel, consent.granted, consent.method) == ("email", True, "web_form")
    assert consent.recorded_by == company.rep

    event = AuditEvent.objects.get(customer_id=customer.pk)
    assert event.action == "create" and event.actor == company.rep
    assert event.changes["name"] == {"before": None, "after": "张伟"}
    assert VALID_ID not in str(event.changes)
    assert "13812345678" not in str(event.changes)


def test_id_number_is_encrypted_at_rest_and_masked(company):
    customer = customer_create(actor=company.rep, data={"name": "Li Na", "id_number": VALID_ID})
    raw = Customer.objects.filter(pk=customer.pk).values_list("id_number_encrypted", flat=True)[0]
    assert VALID_ID not in raw
    assert decrypt_text(raw) == VALID_ID
    assert customer.id_number_masked == "1****************X"


def test_search_text_covers_name_pinyin_phone_and_email(company):
    customer = customer_create(
        actor=company.rep,
        data={"name": "张伟", "phones": ["13812345678"], "emails": ["zw@example.com"]},
    )
    text = customer.search_text
    for fragment in ("张伟", "zhangwei", "5678", "13812345678", "zw@example.com"):
        assert fragment in text


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"name": "A", "kind": "customer-ish"}, "kind"),
        ({"name": "A", "phones": ["12345"]}, "phones[0].number"),
        ({"name": "A", "phones": ["13812345678", "+86 138-1234-5678"]}, "phones[1].number"),
        ({"name": "A", "emails": ["not-an-email"]}, "emails[0].address"),
        # Valid, but longer than the columns hold (254; 40 written out, with the extension).
        ({"name": "A", "emails": [LONG_EMAIL]}, "emails[0].address"),
        ({"name": "A", "phones": ["010-8765 4321 ext 12345678901234567890"]}, "phones[0].number"),
        ({"name": "A", "birth_date": "2026-02-30"}, "birth_date"),
        ({"name": "A", "id_number": "110105194912310021"}, "id_number"),
        ({"name": "A", "custom_fields": {"nope": 1}}, "custom_fields.nope"),
        (
            {"name": "A", "consents": [{"channel": "email", "granted": "yes"}]},
            "consents[0].granted",
        ),
        ({"name": "A", "favourite_colour": "red"}, "favourite_colour"),
        ({"name": "A", "organization_id": 999999}, "organization_id"),
        ({"name": "A", "owner_id": 999999}, "owner_id"),
        ({"name": "A", "website": "not a url"}, "website"),
        # One-line fields: a line break is a paste gone wrong or a broken file, not a name.
        ({"name": "王二,13812340021\n赵三"}, "name"),
        ({"name": "A", "company": "华瑞\t科技"}, "company"),
        ({"name": "A", "external_id": "ERP-1\r"}, "external_id"),
    ],
)
def test_invalid_input_names_the_field_and_writes_nothing(company, data, field):
    before = (Customer.objects.count(), AuditEvent.objects.count())
    with pytest.raises(ValidationError) as caught:
        customer_create(actor=company.rep, data=data)
    assert field in caught.value.message_dict
    assert (Customer.objects.count(), AuditEvent.objects.count()) == before


def test_custom_fields_are_typed_and_required_ones_enforced(company):
    CustomFieldDefinition.objects.create(key="budget", label="Budget", field_type="number")
    CustomFieldDefinition.objects.create(key="since", label="Since", field_type="date")
    CustomFieldDefinition.objects.create(
        key="size", label="Size", field_type="choice", choices=["S", "M", "L"], required=True
    )
    with pytest.raises(ValidationError) as caught:
        customer_create(
            actor=company.rep,
            data={"name": "A", "custom_fields": {"budget": "lots", "since": "2026-13-01"}},
        )
    assert set(caught.value.message_dict) == {
        "custom_fields.budget",
        "custom_fields.since",
        "custom_fields.size",
    }

    customer = customer_create(
        actor=company.rep,
        data={
            "name": "A",
            "custom_fields": {"budget": "12000.50", "since": "2026-01-31", "size": "M"},
        },
    )
    assert customer.custom_fields == {"budget": 12000.5, "since": "2026-01-31", "size": "M"}


def test_people_can_belong_to_visible_organisations_only(company):
    visible_org = customer_create(
        actor=company.rep, data={"name": "华为技术有限公司", "party_type": "organization"}
    )
    person = customer_create(
        actor=company.rep, data={"name": "王芳", "organization_id": visible_org.pk}
    )
    assert person.organization == visible_org
    hidden_org = customer_create(
        actor=company.rep_west, data={"name": "West Org", "party_type": "organization"}
    )
    with pytest.raises(ValidationError) as caught:
        customer_create(actor=company.rep, data={"name": "X", "organization_id": hidden_org.pk})
    assert "organization_id" in caught.value.message_dict


def test_owner_assignment_follows_role(company):
    # A rep may only own customers themselves; a manager may assign within the department.
    with pytest.raises(ValidationError):
        customer_create(actor=company.rep, data={"name": "A", "owner_id": company.teammate.pk})
    made = customer_create(actor=company.manager, data={"name": "B", "owner_id": company.rep.pk})
    assert made.owner == company.rep
    with pytest.raises(ValidationError):
        customer_create(actor=company.manager, data={"name": "C", "owner_id": company.rep_west.pk})


def test_an_analyst_cannot_be_made_account_manager_on_create_or_edit(company):
    # An analyst may change no customer, so one given to them could be worked by nobody.
    with pytest.raises(ValidationError) as caught:
        customer_create(actor=company.admin, data={"name": "A", "owner_id": company.analyst.pk})
    assert "owner_id" in caught.value.message_dict
    assert not Customer.objects.filter(name="A").exists()
    made = customer_create(actor=company.admin, data={"name": "B", "owner_id": company.rep.pk})
    with pytest.raises(ValidationError) as caught:
        customer_update(
            actor=company.admin,
            customer_id=made.pk,
            expected_version=made.version,
            data={"owner_id": company.analyst.pk},
        )
    assert "owner_id" in caught.value.message_dict
    made.refresh_from_db()
    assert made.owner == company.rep


def test_analyst_cannot_create(company):
    with pytest.raises(PermissionDenied):
        customer_create(actor=company.analyst, data={"name": "A"})
    assert not Customer.objects.filter(name="A").exists()
