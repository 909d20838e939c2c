"""A label that is no word (a list, an object) is refused naming the field, in the reader's
language, as any other wrong label: the checks are the service's, whoever calls it with
whatever data, and a value that is not text must not turn a refusal into an exception."""

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from guanxi.customers.services import customer_create


@pytest.mark.parametrize(
    ("label", "english", "chinese"),
    [
        (["work"], "“['work']” is not a valid choice.", "“['work']”不是有效的选项。"),
        (
            {"message": "%(x)s"},
            "“{'message': '%(x)s'}” is not a valid choice.",
            "“{'message': '%(x)s'}”不是有效的选项。",
        ),
    ],
)
def test_a_phone_label_that_is_no_word_is_refused_naming_the_field(
    company, label, english, chinese
):
    data = {"name": "X", "phones": [{"number": "13812345678", "label": label}]}
    for language, expected in (("en", english), ("zh-hans", chinese)):
        with translation.override(language), pytest.raises(ValidationError) as caught:
            customer_create(actor=company.rep, data=data)
        assert caught.value.message_dict == {"phones[0].label": [expected]}


def test_an_email_and_an_address_label_that_is_no_word_are_refused_too(company):
    data = {
        "name": "X",
        "emails": [{"address": "x@example.com", "label": [1]}],
        "addresses": [{"city": "上海", "label": {"a": 1}}],
    }
    with pytest.raises(ValidationError) as caught:
        customer_create(actor=company.rep, data=data)
    assert caught.value.message_dict == {
        "emails[0].label": ["“[1]” is not a valid choice."],
        "addresses[0].label": ["“{'a': 1}” is not a valid choice."],
    }
