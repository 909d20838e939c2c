"""API tokens in the admin site are looked at and revoked, never edited: a token's page saved
every field it showed, so one opened before its owner revoked the token made it work again
when saved (with no audit row), and the page of one revoked and then edited kept nothing of
who did it. Revoking from the list goes through the audited service, and a token revoked
already is left as it was."""

import pytest
from django.contrib.admin import helpers
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse

from guanxi.accounts.models import ApiToken
from guanxi.accounts.roles import Role
from guanxi.accounts.services import api_token_create, api_token_revoke, api_tokens_revoke
from guanxi.audit.models import AuditEvent
from guanxi.core.testing.admin_forms import change_form_data, signed_in_administrators
from guanxi.core.testing.factories import UserFactory

pytestmark = pytest.mark.django_db


def _revoke_selected(client, *tokens):
    return client.post(
        reverse("admin:accounts_apitoken_changelist"),
        {
            "action": "revoke_selected",
            "index": "0",
            helpers.ACTION_CHECKBOX_NAME: [str(token.pk) for token in tokens],
        },
        follow=True,
    )


def _actions_offered(listing) -> set[str]:
    action_form = listing.context["action_form"]
    return {name for name, _label in action_form.fields["action"].choices} if action_form else set()


def test_a_page_opened_before_the_owner_revoked_the_token_does_not_make_it_work_again(company):
    token, _raw = api_token_create(actor=company.rep, user=company.rep, name="ERP")
    url = reverse("admin:accounts_apitoken_change", args=[token.pk])
    (bob,) = signed_in_administrators("bob")
    page = bob.get(url)
    assert page.status_code == 200
    api_token_revoke(actor=company.rep, token_id=token.pk)
    revoked_at = ApiToken.objects.get(pk=token.pk).revoked_at

    data = {"name": "ERP sync", "revoked_at_0": "", "revoked_at_1": ""}
    if "adminform" in page.context:
        data = change_form_data(page, name="ERP sync")
    bob.post(url, data)
    stored = ApiToken.objects.get(pk=token.pk)
    assert (stored.name, stored.revoked_at) == ("ERP", revoked_at)


def test_administrators_revoke_tokens_from_the_list_on_record(company):
    erp, _raw = api_token_create(actor=company.rep, user=company.rep, name="ERP")
    old, _raw = api_token_create(actor=company.teammate, user=company.teammate, name="Old")
    api_token_revoke(actor=company.teammate, token_id=old.pk)
    revoked_before = ApiToken.objects.get(pk=old.pk).revoked_at
    # Staff allowed to look at tokens (and, by Django's permissions, to change them) but no
    # administrator: they do not revoke other people's tokens.
    clerk = UserFactory(username="clerk", is_staff=True, role=Role.MANAGER)
    clerk.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label="accounts",
            codename__in=["view_apitoken", "change_apitoken"],
        )
    )
    clerk_client = Client()
    clerk_client.force_login(clerk)
    listing = clerk_client.get(reverse("admin:accounts_apitoken_changelist"))
    assert listing.status_code == 200
    assert "revoke_selected" not in _actions_offered(listing)
    _revoke_selected(clerk_client, erp)
    assert ApiToken.objects.get(pk=erp.pk).revoked_at is None

    (ann,) = signed_in_administrators("ann")
    page = _revoke_selected(ann, erp, old)
    shown = [str(message) for message in page.context["messages"]]
    assert shown == ["1 API token revoked. 1 was revoked already and is left as it was."]
    assert ApiToken.objects.get(pk=erp.pk).revoked_at is not None
    assert ApiToken.objects.get(pk=old.pk).revoked_at == revoked_before
    [event] = AuditEvent.objects.filter(
        object_type="api_token", object_id=str(erp.pk), action="update"
    )
    assert event.actor.username == "ann"
    assert event.summary == f"rep: ERP ({erp.hint}…)"
    assert set(event.changes) == {"revoked_at"}
    assert AuditEvent.objects.filter(object_type="api_token", object_id=str(old.pk)).count() == 2


def test_only_an_active_administrator_revokes_other_peoples_tokens(company):
    token, _raw = api_token_create(actor=company.rep, user=company.rep, name="ERP")
    company.admin.is_active = False
    company.admin.save()
    for actor in (company.manager, company.teammate, company.admin):
        with pytest.raises(PermissionDenied):
            api_tokens_revoke(actor=actor, token_ids=[token.pk])
    assert ApiToken.objects.get(pk=token.pk).revoked_at is None
    assert not AuditEvent.objects.filter(object_type="api_token", action="update").exists()


def test_administrators_do_not_delete_tokens_off_the_record(company):
    # Deleting a token stopped it working as revoking does, with no audit row: the revoked
    # token stays, on record, instead.
    token, _raw = api_token_create(actor=company.rep, user=company.rep, name="ERP")
    (ann,) = signed_in_administrators("ann")
    listing = ann.get(reverse("admin:accounts_apitoken_changelist"))
    assert _actions_offered(listing) == {"", "revoke_selected"}
    delete_url = reverse("admin:accounts_apitoken_delete", args=[token.pk])
    assert ann.get(delete_url).status_code == 403
    assert ann.post(delete_url, {"post": "yes"}).status_code == 403
    ann.post(
        reverse("admin:accounts_apitoken_changelist"),
        {"action": "delete_selected", "post": "yes", helpers.ACTION_CHECKBOX_NAME: [token.pk]},
    )
    assert ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).exists()


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("zh-hans", "已撤销 1 个 API 令牌。 另有 1 个此前已撤销，保持原样。"),
        ("zh-hant", "已撤銷 1 個 API 令牌。 另有 1 個此前已撤銷，保持原樣。"),
    ],
)
def test_the_count_of_tokens_revoked_reads_in_chinese(company, language, message):
    # The tokens revoked already are others of the selection, not some of those just revoked.
    erp, _raw = api_token_create(actor=company.rep, user=company.rep, name="ERP")
    old, _raw = api_token_create(actor=company.teammate, user=company.teammate, name="Old")
    api_token_revoke(actor=company.teammate, token_id=old.pk)
    (ann,) = signed_in_administrators("ann")
    ann.cookies["django_language"] = language
    page = _revoke_selected(ann, erp, old)
    assert [str(shown) for shown in page.context["messages"]] == [message]
