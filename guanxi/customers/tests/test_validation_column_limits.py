"""The customer checks hold an address's lines, a tag and a consent's evidence to the lengths
their models declare, read from the models rather than written out again: a column made longer
or shorter by a migration moves the limit with it, instead of leaving the checks to refuse text
the column holds, or to let through text the database then refuses in the middle of a write.

Each test shortens a column on the model, as a migration changing it would, and sees the check
follow; the model's field is put back as it was afterwards."""

import pytest
from django.core.exceptions import ValidationError

from guanxi.customers.models import Address, MarketingConsent, Tag
from guanxi.customers.validation import Errors, clean_addresses, clean_customer_data, clean_tags


@pytest.fixture
def column_of(monkeypatch):
    def shorten(model, name: str, length: int) -> None:
        monkeypatch.setattr(model._meta.get_field(name), "max_length", length)

    return shorten


@pytest.mark.parametrize("line", ["street", "city", "region", "postcode"])
def test_an_address_line_is_held_to_its_columns_length(column_of, line):
    column_of(Address, line, 5)
    errors = Errors()
    fits, _too_long = clean_addresses([{line: " 12345 "}, {line: "123456"}], errors)
    assert fits[line] == "12345"
    assert errors.by_field == {f"addresses[1].{line}": ["At most 5 characters."]}


def test_an_addresss_country_is_held_to_its_columns_length(column_of):
    column_of(Address, "country", 3)
    errors = Errors()
    clean_addresses(
        [{"city": "上海", "country": "chn"}, {"city": "上海", "country": "chin"}], errors
    )
    assert errors.by_field == {"addresses[1].country": ["At most 3 characters."]}


def test_a_tag_is_held_to_its_columns_length(column_of):
    column_of(Tag, "name", 4)
    errors = Errors()
    assert clean_tags(["重要客户", "重要的客户"], errors) == ["重要客户"]
    assert errors.by_field == {"tags[1]": ["Tag “重要的客户” is longer than 4 characters."]}


@pytest.mark.django_db
def test_a_consents_evidence_is_held_to_its_columns_length(column_of, company):
    column_of(MarketingConsent, "evidence", 6)
    consent = {"channel": "email", "granted": True, "method": "written"}
    with pytest.raises(ValidationError) as refused:
        clean_customer_data(
            {
                "name": "王芳",
                "consents": [
                    {**consent, "evidence": "签字表第3页"},
                    {**consent, "channel": "sms", "evidence": "签字表第12页"},
                ],
            },
            actor=company.admin,
            instance=None,
        )
    assert refused.value.message_dict == {"consents[1].evidence": ["At most 6 characters."]}


@pytest.mark.django_db
def test_a_consents_evidence_that_is_no_text_is_refused_as_such(company):
    with pytest.raises(ValidationError) as refused:
        clean_customer_data(
            {
                "name": "王芳",
                "consents": [
                    {"channel": "email", "granted": True, "method": "written", "evidence": 12}
                ],
            },
            actor=company.admin,
            instance=None,
        )
    assert refused.value.message_dict == {"consents[0].evidence": ["Expected text."]}
