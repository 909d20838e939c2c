"""Whether an agent is absent (and what they are skilled in) decides who routing gives
tickets to: editing a profile in the admin site goes through the services, which record the
change in an audit row naming the agent."""

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from guanxi.audit.models import AuditEvent
from guanxi.core.testing.admin_forms import delete_confirmation_data
from guanxi.core.testing.factories import UserFactory
from guanxi.service.models import AgentProfile, TicketCategory
from guanxi.service.services import agent_profile_save, agent_profiles_delete

pytestmark = pytest.mark.django_db


def _events(user) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(object_type="agent", object_id=user.pk).order_by("id"))


def test_adding_changing_and_deleting_a_profile_in_the_admin_site_are_audited(client, company):
    root = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(root)
    refund, invoice = (
        TicketCategory.objects.create(name=name, name_en=name) for name in ("退款", "发票")
    )
    response = client.post(
        reverse("admin:service_agentprofile_add"),
        {"user": company.agent.pk, "skills": [refund.pk]},
    )
    assert response.status_code == 302
    profile = AgentProfile.objects.get(user=company.agent)
    [created] = _events(company.agent)
    assert (created.actor, created.action, created.customer_id) == (root, "create", None)
    assert created.changes["skills"] == {"before": None, "after": ["退款"]}

    change = reverse("admin:service_agentprofile_change", args=[profile.pk])
    form = {
        "user": company.agent.pk,
        "skills": [refund.pk, invoice.pk],
        "is_absent": "on",
        "version_read": 1,
    }
    assert client.post(change, form).status_code == 302
    profile.refresh_from_db()
    assert profile.is_absent and set(profile.skills.all()) == {refund, invoice}
    assert _events(company.agent)[-1].changes == {
        "is_absent": {"before": False, "after": True},
        "skills": {"before": ["退款"], "after": ["发票", "退款"]},
    }
    client.post(change, {**form, "version_read": 2})  # unchanged: nothing to record
    assert len(_events(company.agent)) == 2

    delete = reverse("admin:service_agentprofile_delete", args=[profile.pk])
    assert client.post(delete, delete_confirmation_data(client.get(delete))).status_code == 302
    assert not AgentProfile.objects.exists()
    deleted = _events(company.agent)[-1]
    assert deleted.action == "delete"
    assert deleted.changes["is_absent"] == {"before": True, "after": None}


def test_only_managers_and_administrators_edit_profiles(company):
    profile = AgentProfile.objects.create(user=company.agent)
    profile.is_absent = True
    with pytest.raises(PermissionDenied):
        agent_profile_save(actor=company.rep, profile=profile, skill_ids=[])
    with pytest.raises(PermissionDenied):
        agent_profiles_delete(actor=company.agent, profile_ids=[profile.pk])
    profile.refresh_from_db()
    assert not profile.is_absent
    profile.is_absent = True
    agent_profile_save(actor=company.manager, profile=profile, skill_ids=[])
    assert AgentProfile.objects.get().is_absent
    assert [e.action for e in _events(company.agent)] == ["update"]
