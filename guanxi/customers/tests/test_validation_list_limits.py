"""A customer's phones, emails, addresses and tags are held to the API's limits (50, 50, 50 and
100) by the checks every write goes through — the web form, the API and the import alike — so
that whatever a customer holds, a client reading it through the API may send it back: a customer
saved from the form or an import with 101 tags was read back in full and then refused on every
PUT or PATCH that returned what it read."""

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from guanxi.api.schemas import MAX_ADDRESSES, MAX_EMAILS, MAX_PHONES, MAX_TAGS
from guanxi.customers import services
from guanxi.customers.validation import Errors, clean_phones, clean_tags

pytestmark = pytest.mark.django_db

ITEMS = {
    "phones": lambda n: [f"138{i:08d}" for i in range(n)],
    "emails": lambda n: [f"person{i}@example.cn" for i in range(n)],
    "addresses": lambda n: [{"city": f"City {i}"} for i in range(n)],
    "tags": lambda n: [f"tag {i}" for i in range(n)],
}
LIMITS = {"phones": MAX_PHONES, "emails": MAX_EMAILS, "addresses": MAX_ADDRESSES, "tags": MAX_TAGS}


@pytest.mark.parametrize("field", list(ITEMS))
def test_a_customer_saved_outside_the_api_is_held_to_the_apis_limit(company, field):
    limit = LIMITS[field]
    with pytest.raises(ValidationError) as refused:
        services.customer_create(
            actor=company.admin, data={"name": "Many", field: ITEMS[field](limit + 1)}
        )
    assert refused.value.message_dict == {field: [f"At most {limit} items."]}
    customer = services.customer_create(
        actor=company.admin, data={"name": "Enough", field: ITEMS[field](limit)}
    )
    assert getattr(customer, field).count() == limit


def test_an_imports_cell_is_held_to_the_limit_too():
    # The import splits a cell and checks its pieces with these same functions.
    errors = Errors()
    clean_tags(ITEMS["tags"](MAX_TAGS + 1), errors)
    clean_phones(ITEMS["phones"](MAX_PHONES + 1), errors)
    assert errors.by_field == {
        "tags": [f"At most {MAX_TAGS} items."],
        "phones": [f"At most {MAX_PHONES} items."],
    }


@pytest.mark.parametrize(
    ("language", "message"), [("zh-hans", "最多 100 项。"), ("zh-hant", "最多 100 項。")]
)
def test_the_limit_is_said_in_the_readers_language(language, message):
    errors = Errors()
    with translation.override(language):
        clean_tags(ITEMS["tags"](MAX_TAGS + 1), errors)
    assert errors.by_field == {"tags": [message]}


def test_tags_are_counted_as_kept():
    # The form sends its tags as one text: blank and repeated ones are no tags of the customer.
    errors = Errors()
    kept = clean_tags(",".join([*ITEMS["tags"](MAX_TAGS), "tag 0", " ", ""]), errors)
    assert len(kept) == MAX_TAGS and errors.by_field == {}
