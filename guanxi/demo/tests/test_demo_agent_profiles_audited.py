"""The demo service agents' profiles (the categories routing gives them) are on record as the
demo administrator's, as if added on the admin site: each made through the service the admin
site saves a profile with, with an audit row naming the agent and the skills given, at its
first version. The demo wrote them straight into their tables before, leaving the audit log
without them. Made again, nothing more is written, and skills an administrator changed since
are left as they are."""

import pytest

from guanxi.accounts.models import User
from guanxi.audit.models import AuditEvent
from guanxi.demo.company import AGENT_SKILLS, ensure_company
from guanxi.service.models import AgentProfile, TicketCategory
from guanxi.service.services import agent_profile_save

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    return tmp_path


def _rows(user: User) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(object_type="agent", object_id=user.pk).order_by("pk"))


def test_agent_profiles_are_on_record_as_the_demo_administrators_once():
    ensure_company(customers=10)
    admin = User.objects.get(username="admin")
    for username, skills in AGENT_SKILLS.items():
        agent = User.objects.get(username=username)
        profile = AgentProfile.objects.get(user=agent)
        assert sorted(profile.skills.values_list("name", flat=True)) == sorted(skills)
        assert profile.version == 1
        rows = _rows(agent)
        assert [(row.action, row.actor_id) for row in rows] == [("create", admin.pk)], username
        assert rows[0].changes["skills"] == {"before": None, "after": sorted(skills)}

    audited = AuditEvent.objects.count()
    ensure_company(customers=10)
    assert AuditEvent.objects.count() == audited
    assert AgentProfile.objects.count() == len(AGENT_SKILLS)
    assert set(AgentProfile.objects.values_list("version", flat=True)) == {1}


def test_skills_an_administrator_changed_are_left_as_they_are():
    ensure_company(customers=10)
    admin = User.objects.get(username="admin")
    profile = AgentProfile.objects.get(user__username="agent")
    refund = TicketCategory.objects.get(name="退款", parent=None)
    agent_profile_save(actor=admin, profile=profile, skill_ids=[refund.pk], expected_version=1)
    audited = AuditEvent.objects.count()
    ensure_company(customers=10)
    assert AuditEvent.objects.count() == audited
    profile.refresh_from_db()
    assert list(profile.skills.all()) == [refund] and profile.version == 2
