"""The page shown when a request is refused (403). Someone deactivated while their request was
being served read the generic "your role does not allow this action", and would ask for a right
they can no longer use; the API told them the truth. The page now says what the refusal says,
as the API does, and keeps the generic sentence for a refusal that says nothing."""

import pytest
from django.test import Client

from guanxi.accounts.models import User
from guanxi.customers import views as customer_views
from guanxi.customers.models import Customer

pytestmark = pytest.mark.django_db

DEACTIVATED = {
    "en": "Your account has been deactivated: nothing was changed.",
    "zh-hans": "您的账户已停用：未做任何修改。",
}
GENERIC = "Your role does not allow this action on this record."


def _deactivated_as_the_request_is_served(monkeypatch, user: User) -> None:
    """Commit ``user``'s deactivation after their request was authenticated, just before the
    page calls the service that creates the customer."""
    create = customer_views.customer_create

    def deactivated_first(**kwargs):
        User.objects.filter(pk=user.pk).update(is_active=False)
        return create(**kwargs)

    monkeypatch.setattr(customer_views, "customer_create", deactivated_first)


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_someone_deactivated_meanwhile_is_told_so_not_that_their_role_forbids_it(
    company, monkeypatch, language
):
    client = Client(headers={"accept-language": language})
    client.force_login(company.rep)
    _deactivated_as_the_request_is_served(monkeypatch, company.rep)

    response = client.post(
        "/customers/new/", {"party_type": "person", "name": "西湖茶庄", "kind": "prospect"}
    )

    assert response.status_code == 403
    page = response.content.decode()
    assert DEACTIVATED[language] in page
    assert GENERIC not in page
    assert not Customer.objects.filter(name="西湖茶庄").exists()


def test_a_refusal_without_words_keeps_the_generic_sentence(company):
    client = Client()
    client.force_login(company.analyst)  # may not create customers

    response = client.get("/customers/new/")

    assert response.status_code == 403
    assert GENERIC in response.content.decode()
