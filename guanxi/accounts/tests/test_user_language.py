"""A member of staff's language: kept when they switch in the top bar, spoken when they sign in
on a browser that has not chosen one, and editable in the administration."""

import pytest
from django.core.exceptions import ValidationError

from guanxi.accounts.models import User
from guanxi.accounts.services import user_set_language
from guanxi.audit.models import AuditEvent
from guanxi.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def _language(user) -> str:
    return User.objects.get(pk=user.pk).language


def test_switching_language_while_signed_in_keeps_the_choice_and_records_it(client, company):
    client.force_login(company.rep)
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/customers/"})
    assert _language(company.rep) == "zh-hans"
    client.post("/i18n/setlang/", {"language": "en", "next": "/customers/"})
    assert _language(company.rep) == "en"
    changes = list(
        AuditEvent.objects.filter(object_type="user", object_id=company.rep.pk)
        .order_by("id")
        .values_list("changes", flat=True)
    )
    assert [c["language"] for c in changes] == [
        {"before": "", "after": "zh-hans"},
        {"before": "zh-hans", "after": "en"},
    ]


def test_a_language_guanxi_does_not_speak_is_not_kept(client, company):
    client.force_login(company.rep)
    response = client.post("/i18n/setlang/", {"language": "xx", "next": "/customers/"})
    assert response.status_code == 302
    assert _language(company.rep) == ""
    with pytest.raises(ValidationError) as refused:
        user_set_language(actor=company.rep, language="xx")
    assert "language" in refused.value.message_dict


def test_switching_before_signing_in_keeps_nothing(client, company):
    response = client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})
    assert response.cookies["django_language"].value == "zh-hans"
    assert not User.objects.exclude(language="").exists()


def test_signing_in_speaks_the_kept_language_unless_this_browser_chose_one(client, company):
    company.rep.language = "zh-hans"
    company.rep.save(update_fields=["language"])
    client.post("/accounts/login/", {"username": "rep", "password": PASSWORD})
    page = client.get("/customers/", HTTP_ACCEPT_LANGUAGE="en")
    assert page.wsgi_request.LANGUAGE_CODE == "zh-hans"
    assert '<html lang="zh-hans">' in page.content.decode()
    # The choice made on this browser wins.
    client.cookies["django_language"] = "en"
    page = client.get("/customers/")
    assert '<html lang="en">' in page.content.decode()


def test_someone_who_never_chose_gets_what_their_browser_asks_for(client, company):
    client.force_login(company.rep)
    page = client.get("/customers/", HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9")
    assert '<html lang="zh-hans">' in page.content.decode()


def test_an_administrator_sets_someones_language_in_the_admin_site(client, company):
    User.objects.filter(pk=company.admin.pk).update(is_staff=True, is_superuser=True)
    client.force_login(company.admin)
    url = f"/admin/accounts/user/{company.rep.pk}/change/"
    assert '<option value="zh-hans">Simplified Chinese</option>' in client.get(url).content.decode()
    rep = company.rep
    response = client.post(
        url,
        {"username": rep.username, "email": rep.email, "role": rep.role,
         "department": rep.department_id, "team": rep.team_id, "language": "zh-hans",
         "is_active": "on", "version_read": rep.version},
    )  # fmt: skip
    assert response.status_code == 302
    assert _language(rep) == "zh-hans"
