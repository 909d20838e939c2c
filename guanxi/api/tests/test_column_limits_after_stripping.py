"""A customer's text that the service stores without the spaces at its ends is held to its
column's length without them too: text that fits its column once stripped, as the web form and
an import store it, is not refused by the API for the spaces a client padded it with (a value
read from a fixed-width column of another system, a cell pasted with a space after it)."""

from guanxi.customers.models import Address, Customer, Email, Tag


def _filling(model, name: str, letter: str = "x") -> str:
    return letter * model._meta.get_field(name).max_length


def test_padded_text_that_fits_its_column_once_stripped_is_stored_stripped(api_as, company):
    admin = api_as("admin")
    customer = company.rep_customer
    address = "a" * 64 + "@" + "b" * 63 + ".example.cn"
    assert len(address) <= Email._meta.get_field("address").max_length
    sent = {
        "name": f"  {_filling(Customer, 'name', '张')}  ",
        "company": f" {_filling(Customer, 'company')} ",
        "job_title": f"{_filling(Customer, 'job_title')}   ",
        "industry": f"\t{_filling(Customer, 'industry')}",
        "region": f"{_filling(Customer, 'region')} ",
        "addresses": [
            {
                "city": f" {_filling(Address, 'city')} ",
                "postcode": f"{_filling(Address, 'postcode', '2')} ",
            }
        ],
        "tags": [f" {_filling(Tag, 'name')} "],
        "emails": [f" {address} "],
    }
    answer = admin.patch(f"/customers/{customer.pk}", {"version": customer.version, **sent})
    assert answer.status_code == 200, answer.json()
    customer.refresh_from_db()
    assert customer.name == _filling(Customer, "name", "张")
    assert customer.company == _filling(Customer, "company")
    assert customer.job_title == _filling(Customer, "job_title")
    assert customer.industry == _filling(Customer, "industry")
    assert customer.region == _filling(Customer, "region")
    [stored] = customer.addresses.all()
    assert (stored.city, stored.postcode) == (
        _filling(Address, "city"),
        _filling(Address, "postcode", "2"),
    )
    assert [tag.name for tag in customer.tags.all()] == [_filling(Tag, "name")]
    assert [email.address for email in customer.emails.all()] == [address]


def test_padded_text_too_long_once_stripped_is_still_refused(api_as, company):
    admin = api_as("admin")
    customer = company.rep_customer
    answer = admin.patch(
        f"/customers/{customer.pk}",
        {"version": customer.version, "company": f" {_filling(Customer, 'company')}x "},
    )
    assert answer.status_code == 422, answer.json()
    limit = Customer._meta.get_field("company").max_length
    assert answer.json()["errors"] == [
        {"field": "company", "message": f"At most {limit} characters."}
    ]


def test_a_duplicate_check_takes_the_padded_text_creating_the_customer_takes(api_as, company):
    answer = api_as("admin").post(
        "/customers/duplicates",
        {
            "name": f" {_filling(Customer, 'name')} ",
            "company": f"{_filling(Customer, 'company')} ",
            "addresses": [{"city": f" {_filling(Address, 'city')}"}],
        },
    )
    assert answer.status_code == 200, answer.json()
