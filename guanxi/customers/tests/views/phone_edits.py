"""A customer's phone numbers edited as the edit form and the API send them, for the tests of
what becomes of numbers shown masked: the form with no email, address or tags typed in, and
the API with a token of the acting user's own."""

import json

from guanxi.accounts.services import api_token_create

from .test_customer_pages import _customer_form

# The address row of a form with no address typed in, as the form shows it.
NO_ADDRESS = {
    "address_label": ["office"],
    "address_street": [""],
    "address_city": [""],
    "address_region": [""],
    "address_postcode": [""],
    "address_country": ["CN"],
}


def post_edit_form(client, customer, *, owner, **phone_rows):
    """Post the edit form of ``customer`` (named 王芳, owned by ``owner``, at the version the
    object has) with the ``phone_…`` fields given and no email, address or tags."""
    data = _customer_form(
        name="王芳",
        version=str(customer.version),
        owner_id=str(owner.pk),
        email_address=[""],
        email_label=["work"],
        **NO_ADDRESS,
        tags="",
        **phone_rows,
    )
    return client.post(f"/customers/{customer.pk}/edit/", data)


def api_headers(user) -> dict[str, str]:
    """The headers of an API request made with a new token of ``user``'s."""
    _token, raw = api_token_create(actor=user, user=user, name="masked")
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def api_patch(client, customer, body: dict, headers: dict[str, str]):
    """``PATCH /api/v1/customers/<id>`` with ``body`` as JSON."""
    return client.patch(
        f"/api/v1/customers/{customer.pk}",
        json.dumps(body),
        content_type="application/json",
        **headers,
    )
