"""A new password ends the API tokens made under the old one: whoever learnt the password (the
reason to reset it) could have made a token with it, and a token acts as its user from anywhere,
as a session does; Django ends a user's other sessions when their password changes, so a token,
which is another way in, ends too. Each revocation is on record as one by hand is."""

import io
import re
from unittest import mock

import pytest
from django.core import mail
from django.core.management import call_command

from guanxi.accounts.management.commands import changepassword
from guanxi.accounts.models import ApiToken
from guanxi.accounts.services import api_token_authenticate, api_token_create
from guanxi.audit.models import AuditEvent
from guanxi.conftest import PASSWORD

pytestmark = pytest.mark.django_db

NEW = "Quiet-harbour-lantern-42"


def _tokens(company):
    """Two live tokens of the rep and one of the teammate, which no change of the rep's
    password concerns."""
    _first, rep_raw = api_token_create(actor=company.rep, user=company.rep, name="ERP sync")
    _second, rep_raw_2 = api_token_create(actor=company.rep, user=company.rep, name="Reports")
    _other, teammate_raw = api_token_create(
        actor=company.teammate, user=company.teammate, name="Mine"
    )
    return [rep_raw, rep_raw_2], teammate_raw


def _assert_revoked_on_record(company, actor, raws, teammate_raw):
    for raw in raws:
        assert api_token_authenticate(raw) is None
    assert api_token_authenticate(teammate_raw) == company.teammate
    revoked = ApiToken.objects.filter(user=company.rep)
    assert all(token.revoked_at is not None for token in revoked)
    rows = AuditEvent.objects.filter(object_type="api_token", action=AuditEvent.Action.UPDATE)
    assert sorted(int(row.object_id) for row in rows) == sorted(t.pk for t in revoked)
    for row in rows:
        assert row.actor_id == (actor.pk if actor else None)
        assert set(row.changes) == {"revoked_at"}


def test_a_password_reset_by_email_revokes_the_users_tokens(client, company):
    raws, teammate_raw = _tokens(company)
    client.post("/accounts/password/reset/", {"email": "rep@example.com"})
    link = re.search(r"(/accounts/password/reset/\S+/)", mail.outbox[0].body).group(1)
    form = client.get(link)["Location"]
    done = client.post(form, {"new_password1": NEW, "new_password2": NEW})
    assert done.status_code == 302
    _assert_revoked_on_record(company, company.rep, raws, teammate_raw)


def test_changing_ones_own_password_revokes_ones_tokens(client, company):
    raws, teammate_raw = _tokens(company)
    client.force_login(company.rep)
    response = client.post(
        "/accounts/password/",
        {"old_password": PASSWORD, "new_password1": NEW, "new_password2": NEW},
    )
    assert response.status_code == 302
    _assert_revoked_on_record(company, company.rep, raws, teammate_raw)
    # A token made with the new password works.
    _token, raw = api_token_create(actor=company.rep, user=company.rep, name="New")
    assert api_token_authenticate(raw) == company.rep


def test_a_password_set_on_the_command_line_revokes_the_users_tokens(company):
    raws, teammate_raw = _tokens(company)
    with mock.patch.object(changepassword.Command, "_get_pass", side_effect=[NEW, NEW]):
        call_command("changepassword", "rep", stdout=mock.Mock())
    _assert_revoked_on_record(company, None, raws, teammate_raw)


def test_a_refused_password_change_keeps_the_tokens(client, company):
    raws, _teammate_raw = _tokens(company)
    client.force_login(company.rep)
    response = client.post(
        "/accounts/password/",
        {"old_password": "not-my-password", "new_password1": NEW, "new_password2": NEW},
    )
    assert response.status_code == 200
    for raw in raws:
        assert api_token_authenticate(raw) == company.rep
    assert not AuditEvent.objects.filter(
        object_type="api_token", action=AuditEvent.Action.UPDATE
    ).exists()


def _change_on_the_command_line(username) -> str:
    out = io.StringIO()
    with mock.patch.object(changepassword.Command, "_get_pass", side_effect=[NEW, NEW]):
        call_command("changepassword", username, stdout=out)
    return out.getvalue()


def test_the_command_says_the_users_tokens_were_revoked(company):
    _tokens(company)
    said = _change_on_the_command_line("rep")
    assert "Password changed successfully for user 'rep'" in said
    assert "API tokens of 'rep' were revoked" in said


def test_the_command_says_nothing_of_tokens_to_whoever_had_none(company):
    said = _change_on_the_command_line("rep_b")
    assert "Password changed successfully" in said
    assert "API token" not in said
