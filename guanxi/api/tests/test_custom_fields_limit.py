"""A customer's custom fields sent to the API are a mapping with a limit on its keys, as every
list a request takes has one on its items: the OpenAPI document states it as
``maxProperties``, a body with more keys is refused whole, 422 naming ``custom_fields`` in the
words every limit is said in ("At most 200 items."), with nothing written, instead of an error
for each of its keys (70,000 unknown keys were 70,000 errors); and as many as the limit, each a
defined field, go through."""

import pytest

from guanxi.api.schemas import MAX_CUSTOM_FIELDS
from guanxi.api.tests.test_list_limits import unbounded_in_requests
from guanxi.customers.models import Customer, CustomFieldDefinition

pytestmark = pytest.mark.django_db


def test_every_mapping_a_request_takes_states_its_limit():
    unbounded, seen, _bodies = unbounded_in_requests(
        lambda schema: (
            schema.get("additionalProperties") not in (None, False)
            and "maxProperties" not in schema
        )
    )
    assert {"CustomerCreateIn", "CustomerPatchIn"} <= seen
    assert unbounded == [], "give these mappings a max_length (see guanxi.api.schemas)"


def test_the_limit_is_two_hundred():
    assert MAX_CUSTOM_FIELDS == 200


def _customer_create(company):
    return "post", "/customers", {"name": "Many Fields"}


def _customer_patch(company):
    customer = company.rep_customer
    return "patch", f"/customers/{customer.pk}", {"version": customer.version}


REQUESTS = [_customer_create, _customer_patch]
IDS = ["customer_create", "customer_patch"]


@pytest.mark.parametrize("keys", [MAX_CUSTOM_FIELDS + 1, 70_000])
@pytest.mark.parametrize("request_for", REQUESTS, ids=IDS)
def test_more_keys_than_the_limit_are_refused_whole_naming_the_field(
    api_as, company, request_for, keys
):
    method, path, body = request_for(company)
    customers = list(Customer.objects.values_list("pk", "version"))
    answer = getattr(api_as("admin"), method)(
        path, {**body, "custom_fields": {f"field_{n}": "x" for n in range(keys)}}
    )
    assert answer.status_code == 422, answer.content[:500]
    assert answer.json()["errors"] == [
        {"field": "custom_fields", "message": f"At most {MAX_CUSTOM_FIELDS} items."}
    ]
    assert list(Customer.objects.values_list("pk", "version")) == customers


@pytest.mark.parametrize("request_for", REQUESTS, ids=IDS)
def test_as_many_defined_fields_as_the_limit_go_through(api_as, company, request_for):
    CustomFieldDefinition.objects.bulk_create(
        CustomFieldDefinition(key=f"field_{n}", label=f"Field {n}", field_type="text")
        for n in range(MAX_CUSTOM_FIELDS)
    )
    method, path, body = request_for(company)
    values = {f"field_{n}": f"value {n}" for n in range(MAX_CUSTOM_FIELDS)}
    answer = getattr(api_as("admin"), method)(path, {**body, "custom_fields": values})
    assert answer.status_code in (200, 201), answer.json()
    assert answer.json()["custom_fields"] == values


@pytest.mark.parametrize(
    ("language", "message"), [("zh-hans", "最多 200 项。"), ("zh-hant", "最多 200 項。")]
)
def test_the_limit_is_said_in_the_requests_language(api_as, company, language, message):
    answer = api_as("admin").post(
        "/customers",
        {"name": "Many Fields", "custom_fields": {f"field_{n}": "x" for n in range(201)}},
        headers={"Accept-Language": language},
    )
    assert answer.status_code == 422, answer.json()
    assert answer.json()["errors"] == [{"field": "custom_fields", "message": message}]
