"""A row that adds to a customer already there (an update by its id, or a row merged into it)
is rejected when the customer would then hold more phones, emails, addresses or tags than a
customer may: the rows' own cells are held to those limits, but what they add to a customer's
was not, and such a customer was read back in full by the API and then refused on every PUT or
PATCH that sent back what it read. The row goes to the error file saying why, every row still
has exactly one outcome, and a file imports alike in one batch or in many."""

import csv
import io

import pytest
from django.utils import translation

from guanxi.customers.models import Customer, Tag
from guanxi.customers.services import customer_create
from guanxi.customers.validation import MAX_ADDRESSES, MAX_EMAILS, MAX_PHONES, MAX_TAGS
from guanxi.imports.models import ImportRowError
from guanxi.imports.services import write_error_rows

from .test_customer_import import assert_accounted, run_import

pytestmark = pytest.mark.django_db

HEADER = "external_id,name,phone,email,city,tags\n"
# Of each list: the customer's items, the cells of a row adding one more, and how it is said.
LISTS = {
    "phones": (
        {"phones": [f"138{i:08d}" for i in range(MAX_PHONES)]},
        "13999999999,,,",
        f"phone: with this row the customer would have {MAX_PHONES + 1} phone numbers, and a "
        f"customer may have at most {MAX_PHONES}",
    ),
    "emails": (
        {"emails": [f"person{i}@example.cn" for i in range(MAX_EMAILS)]},
        ",one.more@example.cn,,",
        f"email: with this row the customer would have {MAX_EMAILS + 1} email addresses, and "
        f"a customer may have at most {MAX_EMAILS}",
    ),
    "addresses": (
        {"addresses": [{"city": f"City {i}"} for i in range(MAX_ADDRESSES)]},
        ",,杭州,",
        f"address: with this row the customer would have {MAX_ADDRESSES + 1} addresses, and a "
        f"customer may have at most {MAX_ADDRESSES}",
    ),
    "tags": (
        {"tags": [f"tag {i}" for i in range(MAX_TAGS)]},
        ",,,one more",
        f"tags: with this row the customer would have {MAX_TAGS + 1} tags, and a customer may "
        f"have at most {MAX_TAGS}",
    ),
}


def as_it_is(customer: Customer) -> tuple:
    customer = Customer.objects.get(pk=customer.pk)
    return (
        customer.version,
        customer.name,
        customer.phones.count(),
        customer.emails.count(),
        customer.addresses.count(),
        customer.tags.count(),
    )


def error_file(job) -> list[dict[str, str]]:
    buffer = io.StringIO()
    write_error_rows(job, buffer)
    return list(csv.DictReader(io.StringIO(buffer.getvalue())))


@pytest.mark.parametrize("field", list(LISTS))
def test_an_update_past_a_limit_is_rejected_saying_why(company, tmp_path, field):
    items, cells, reason = LISTS[field]
    customer = customer_create(
        actor=company.rep, data={"name": "张伟", "external_id": "L1", **items}
    )
    before = as_it_is(customer)
    # The row renames the customer too: rejected, it renames nothing.
    content = HEADER + f"L1,张小伟,{cells}\nL2,李娜,13700001111,,,\n"
    job = run_import(tmp_path, content, company.rep)
    assert (job.created, job.updated, job.rejected) == (1, 0, 1)
    assert_accounted(job, 2)
    assert [(r["import_row"], r["import_error"]) for r in error_file(job)] == [("2", reason)]
    assert as_it_is(customer) == before


def test_an_update_within_the_limits_still_adds_what_it_brings(company, tmp_path):
    # One short of every limit: a row adding one of each takes the customer to the limits,
    # which is allowed.
    customer = customer_create(
        actor=company.rep,
        data={
            "name": "张伟",
            "external_id": "L1",
            **{field: items[field][1:] for field, (items, _cells, _reason) in LISTS.items()},
        },
    )
    at_the_limits = (MAX_PHONES, MAX_EMAILS, MAX_ADDRESSES, MAX_TAGS)
    row = "L1,张伟,13999999999,one.more@example.cn,杭州,one more\n"
    job = run_import(tmp_path, HEADER + row, company.rep)
    assert (job.updated, job.rejected) == (1, 0)
    assert as_it_is(customer)[2:] == at_the_limits
    # One of each it has already, written otherwise (as its export would be imported again):
    # nothing is added, and nothing refused.
    row = "L1,张伟,+86 138 0000 0003,PERSON3@EXAMPLE.CN,City 3,tag 3\n"
    again = run_import(tmp_path, HEADER + row, company.rep)
    assert (again.updated, again.rejected) == (1, 0)
    assert as_it_is(customer)[2:] == at_the_limits
    # One more tag is one too many, even for a customer past the limit already.
    customer.tags.add(Tag.objects.create(name="saved before the limits"))
    past = run_import(tmp_path, HEADER + "L1,张伟,,,,one more again\n", company.rep)
    assert past.rejected == 1
    assert f"would have {MAX_TAGS + 2} tags" in ImportRowError.objects.get(job=past).reason
    # A row adding none of them goes in, however many it has.
    third = run_import(tmp_path, HEADER + "L1,张伟,,,,tag 3\n", company.rep)
    assert (third.updated, third.rejected) == (1, 0)


def test_a_row_merged_past_a_limit_is_rejected_once(company, tmp_path):
    tags = {"tags": [f"tag {i}" for i in range(MAX_TAGS)]}
    customer = customer_create(
        actor=company.admin,
        data={"name": "张伟", "phones": ["13812345678"], "emails": ["zw@example.com"], **tags},
    )
    before = as_it_is(customer)
    content = "name,phone,email,tags\n張偉,+86 138 1234 5678,ZW@example.com,one more\n"
    job = run_import(tmp_path, content, company.admin, dedup="auto")
    assert (job.created, job.merged, job.updated, job.rejected) == (0, 0, 0, 1)
    assert_accounted(job, 1)
    error = ImportRowError.objects.get(job=job)
    assert error.reason == LISTS["tags"][2]
    with translation.override("zh-hans"):
        assert error.reason_text == (
            f"tags：加上此行，该客户将有 {MAX_TAGS + 1} 个标签，而每位客户最多可有 {MAX_TAGS} 个"
        )
    assert as_it_is(customer) == before
    assert Customer.objects.filter(name__in=["张伟", "張偉"]).count() == 1


@pytest.mark.parametrize("batch_size", [None, 1])
def test_rows_of_one_file_are_held_to_the_limits_in_one_batch_as_in_many(
    company, tmp_path, batch_size
):
    tags = ";".join(f"tag {i}" for i in range(MAX_TAGS))
    content = (
        "external_id,name,phone,email,tags\n"
        f"T1,王芳,13812345678,wf@example.com,{tags}\n"
        "T1,王芳,,,one more\n"  # follows the first, as an update
        f",王芳,13812345678,wf@example.com,{tags};another\n"  # the same customer, merged
        "T1,王芳,13900001111,,\n"  # an update within the limits
    )
    job = run_import(tmp_path, content, company.admin, dedup="auto", batch_size=batch_size)
    assert (job.created, job.updated, job.merged, job.rejected) == (1, 1, 0, 2)
    assert_accounted(job, 4)
    assert [e["import_row"] for e in error_file(job)] == ["3", "4"]
    customer = Customer.objects.get(external_id="T1")
    assert customer.tags.count() == MAX_TAGS and customer.phones.count() == 2


@pytest.mark.parametrize("batch_size", [None, 1])
def test_a_rejected_row_gives_the_customer_nothing_in_one_batch_as_in_many(
    company, tmp_path, batch_size
):
    tags = ";".join(f"tag {i}" for i in range(MAX_TAGS))
    content = (
        "external_id,name,company,phone,email,tags\n"
        f",王芳,,13812345678,wf@example.com,{tags}\n"
        # The same customer, merged: it would fill the company and give its external id.
        "M1,王芳,华瑞科技,13812345678,wf@example.com,one more\n"
    )
    job = run_import(tmp_path, content, company.admin, dedup="auto", batch_size=batch_size)
    assert (job.created, job.merged, job.rejected) == (1, 0, 1)
    customer = Customer.objects.get(name="王芳")
    assert (customer.company, customer.external_id) == ("", None)
    assert customer.tags.count() == MAX_TAGS


@pytest.mark.parametrize("batch_size", [None, 1])
def test_an_address_a_row_repeats_in_another_country_counts_once_in_one_batch_as_in_many(
    company, tmp_path, batch_size
):
    # A customer's addresses are compared by their street, city, region and postcode, as an
    # export shows them: a row repeating one with another country adds nothing, and takes no
    # customer at the limit past it, whether the customer is stored or made by the same batch.
    content = "external_id,name,city,country\n" + "".join(
        f"A1,王芳,City {i},CN\n" for i in range(MAX_ADDRESSES)
    )
    content += "A1,王芳,City 0,TW\n"
    job = run_import(tmp_path, content, company.rep, batch_size=batch_size)
    assert (job.created, job.updated, job.rejected) == (1, MAX_ADDRESSES, 0)
    assert Customer.objects.get(external_id="A1").addresses.count() == MAX_ADDRESSES
