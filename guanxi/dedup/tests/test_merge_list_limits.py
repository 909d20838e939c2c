"""A merge of two customers is refused when the customer kept would hold more phones, emails,
addresses or tags than a customer may (the limits every write of a customer is held to): it
adds the other's to its own, and a customer so made was read back in full by the API and then
refused on every PUT or PATCH that sent back what it read. The service, the pair page and the
API all refuse it naming the list, and nothing of either customer is changed."""

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from guanxi.api.tests.conftest import api_as  # noqa: F401  (the API's fixtures)
from guanxi.audit.models import AuditEvent
from guanxi.customers.models import Customer, Tag
from guanxi.customers.services import customer_create
from guanxi.customers.validation import MAX_ADDRESSES, MAX_EMAILS, MAX_PHONES, MAX_TAGS
from guanxi.dedup.models import CustomerMerge, DuplicatePair
from guanxi.dedup.services import customers_merge

pytestmark = pytest.mark.django_db

ITEMS = {
    "phones": lambda numbers: [f"138{i:08d}" for i in numbers],
    "emails": lambda numbers: [f"person{i}@example.cn" for i in numbers],
    "addresses": lambda numbers: [{"city": f"City {i}"} for i in numbers],
    "tags": lambda numbers: [f"tag {i}" for i in numbers],
}
LIMITS = {"phones": MAX_PHONES, "emails": MAX_EMAILS, "addresses": MAX_ADDRESSES, "tags": MAX_TAGS}
NAMED = {
    "phones": "phone numbers",
    "emails": "email addresses",
    "addresses": "addresses",
    "tags": "tags",
}


def refusal(field: str) -> str:
    limit = LIMITS[field]
    return (
        f"After the merge the customer kept would have {limit + 1} {NAMED[field]}, and a "
        f"customer may have at most {limit}: remove some from either customer first."
    )


def twins(company, field: str, *, theirs: range) -> tuple[Customer, Customer]:
    """The kept customer at the limit of ``field``, and the other with the items ``theirs``
    numbers (those below the limit are the kept one's too)."""
    kept = customer_create(
        actor=company.rep,
        data={"name": "张伟", field: ITEMS[field](range(LIMITS[field]))},
    )
    other = customer_create(actor=company.rep, data={"name": "張偉", field: ITEMS[field](theirs)})
    return kept, other


def as_they_are(*customers: Customer) -> list:
    return [
        (
            c.pk,
            c.version,
            c.deleted_at,
            sorted(c.phones.values_list("number", flat=True)),
            sorted(c.emails.values_list("address", flat=True)),
            sorted(c.addresses.values_list("city", flat=True)),
            sorted(c.tags.values_list("name", flat=True)),
        )
        for c in Customer.objects.filter(pk__in=[c.pk for c in customers]).order_by("pk")
    ]


def nothing_merged(before: list, *customers: Customer) -> None:
    assert as_they_are(*customers) == before
    assert not CustomerMerge.objects.exists()
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.MERGE).exists()


def drop_its_first(kept: Customer, field: str) -> None:
    """Take from the kept customer its first item of ``field``, which the other lacks."""
    value = ITEMS[field]([0])[0]
    if field == "phones":
        kept.phones.filter(number__endswith=value).delete()
    elif field == "emails":
        kept.emails.filter(address=value).delete()
    elif field == "addresses":
        kept.addresses.filter(city=value["city"]).delete()
    else:
        kept.tags.remove(Tag.objects.get(name=value))


@pytest.mark.parametrize("field", list(ITEMS))
def test_a_merge_past_a_limit_is_refused_and_changes_neither_customer(company, field):
    limit = LIMITS[field]
    # Ten of the other's are the kept one's already and count once: one more is one too many.
    kept, other = twins(company, field, theirs=range(limit - 10, limit + 1))
    before = as_they_are(kept, other)
    with pytest.raises(ValidationError) as refused:
        customers_merge(actor=company.rep, survivor_id=kept.pk, merged_id=other.pk)
    assert refused.value.message_dict == {field: [refusal(field)]}
    nothing_merged(before, kept, other)
    # With one of its own fewer, the kept customer ends at the limit, which is allowed.
    drop_its_first(kept, field)
    customers_merge(actor=company.rep, survivor_id=kept.pk, merged_id=other.pk)
    assert getattr(kept, field).count() == limit


def test_a_customer_already_past_a_limit_is_refused_more_but_takes_in_one_adding_none(company):
    # Saved before the limits were held everywhere: a merge that adds no tag does not make it
    # worse, and is not refused for what the customer already had; one adding a tag is.
    kept = customer_create(actor=company.rep, data={"name": "张伟", "phones": ["13812345678"]})
    kept.tags.add(*(Tag.objects.create(name=n) for n in ITEMS["tags"](range(MAX_TAGS + 1))))
    other = customer_create(
        actor=company.rep,
        data={"name": "張偉", "tags": ["tag 0", "new"], "phones": ["13912345678"]},
    )
    with pytest.raises(ValidationError) as refused:
        customers_merge(actor=company.rep, survivor_id=kept.pk, merged_id=other.pk)
    assert list(refused.value.message_dict) == ["tags"]
    assert f"would have {MAX_TAGS + 2} tags" in refused.value.message_dict["tags"][0]
    other.tags.remove(Tag.objects.get(name="new"))
    customers_merge(actor=company.rep, survivor_id=kept.pk, merged_id=other.pk)
    assert kept.tags.count() == MAX_TAGS + 1 and kept.phones.count() == 2


def test_every_list_past_its_limit_is_named_at_once(company):
    kept = customer_create(
        actor=company.rep,
        data={"name": "张伟", **{f: ITEMS[f](range(LIMITS[f])) for f in ("phones", "tags")}},
    )
    other = customer_create(
        actor=company.rep,
        data={
            "name": "張偉",
            **{f: ITEMS[f](range(LIMITS[f], LIMITS[f] + 1)) for f in ("phones", "tags")},
        },
    )
    with pytest.raises(ValidationError) as refused:
        customers_merge(actor=company.rep, survivor_id=kept.pk, merged_id=other.pk)
    assert refused.value.message_dict == {f: [refusal(f)] for f in ("phones", "tags")}


def test_the_refusal_is_said_in_chinese(company):
    kept, other = twins(company, "tags", theirs=range(MAX_TAGS, MAX_TAGS + 1))
    with translation.override("zh-hans"), pytest.raises(ValidationError) as refused:
        customers_merge(actor=company.rep, survivor_id=kept.pk, merged_id=other.pk)
    assert refused.value.message_dict == {
        "tags": [
            f"合并后保留的客户将有 {MAX_TAGS + 1} 个标签，而每位客户最多可有 {MAX_TAGS} 个："
            "请先从任一客户中删除一些。"
        ]
    }


def test_the_api_refuses_it_with_422_naming_the_list(api_as, company):  # noqa: F811
    kept, other = twins(company, "emails", theirs=range(MAX_EMAILS, MAX_EMAILS + 1))
    before = as_they_are(kept, other)
    response = api_as("rep").post(
        f"/customers/{kept.pk}/merge",
        {"merged_id": other.pk, "version": kept.version, "merged_version": other.version},
    )
    assert response.status_code == 422, response.json()
    assert response.json()["errors"] == [{"field": "emails", "message": refusal("emails")}]
    nothing_merged(before, kept, other)


def test_the_pair_page_refuses_it_saying_why(client, company):
    kept, other = twins(company, "addresses", theirs=range(MAX_ADDRESSES, MAX_ADDRESSES + 1))
    pair = DuplicatePair.objects.create(left_id=kept.pk, right_id=other.pk, score=0.99)
    before = as_they_are(kept, other)
    client.force_login(company.rep)
    response = client.post(
        f"/duplicates/{pair.pk}/merge/",
        {
            "keep": str(kept.pk),
            "left_id": str(kept.pk),
            "right_id": str(other.pk),
            "version_left": str(kept.version),
            "version_right": str(other.version),
        },
        follow=True,
    )
    assert response.redirect_chain[-1][0] == f"/duplicates/{pair.pk}/"
    assert refusal("addresses") in response.content.decode()
    nothing_merged(before, kept, other)
    assert DuplicatePair.objects.get(pk=pair.pk).status == DuplicatePair.Status.OPEN
