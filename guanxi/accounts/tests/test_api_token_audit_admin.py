"""The audit log's admin pages list, filter, search and open the rows of API tokens made and
revoked, naming the token by its hint and never showing its secret."""

import pytest

from guanxi.accounts.services import api_token_create, api_token_revoke
from guanxi.audit.models import AuditEvent
from guanxi.core.testing.admin_forms import signed_in_administrators

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_token_rows_are_listed_searched_and_opened_without_the_secret(company, language):
    token, raw = api_token_create(actor=company.admin, user=company.rep, name="ERP 同步")
    api_token_revoke(actor=company.rep, token_id=token.pk)
    rows = AuditEvent.objects.filter(object_type="api_token", object_id=str(token.pk))
    assert rows.count() == 2
    (client,) = signed_in_administrators("ann")
    client.cookies["django_language"] = language
    secret = raw[len(token.hint) :]

    pages = [
        client.get("/admin/audit/auditevent/"),
        client.get("/admin/audit/auditevent/", {"object_type__exact": "api_token"}),
        client.get("/admin/audit/auditevent/", {"q": "ERP 同步"}),
        client.get("/admin/audit/auditevent/", {"q": token.hint}),
        *(client.get(f"/admin/audit/auditevent/{row.pk}/change/") for row in rows),
    ]
    for response in pages:
        assert response.status_code == 200
        page = response.content.decode()
        assert raw not in page and secret not in page
    for response in pages[:4]:
        assert "ERP 同步" in response.content.decode()
