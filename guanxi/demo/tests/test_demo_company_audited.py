"""The demo company's departments and teams are on record as the demo administrator's, as if
added on the admin site: each made with an audit row of its creation and its first version,
each manager and team lead given with a row of that change and a new version. The demo wrote
them straight into their tables before, leaving the audit log without them. Made again,
nothing new is made and nothing more is written."""

import pytest

from guanxi.accounts.models import Department, Team, User
from guanxi.audit.models import AuditEvent
from guanxi.demo.company import ensure_company

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    return tmp_path


def _rows(object_type: str, object_id: int) -> list[AuditEvent]:
    return list(
        AuditEvent.objects.filter(object_type=object_type, object_id=object_id).order_by("pk")
    )


def test_departments_and_teams_are_on_record_as_the_demo_administrators_once():
    ensure_company(customers=10)
    admin = User.objects.get(username="admin")
    departments = list(Department.objects.all())
    teams = list(Team.objects.select_related("department"))
    assert len(departments) == 4 and len(teams) == 7
    for department in departments:
        rows = _rows("department", department.pk)
        assert [row.action for row in rows][:1] == [AuditEvent.Action.CREATE], department
        assert {row.actor_id for row in rows} == {admin.pk}
        assert rows[0].changes["name"]["after"] == department.name
        # Its manager given after it was made (they are put in it): a second row and version.
        if department.manager_id is not None:
            assert [row.action for row in rows] == ["create", "update"]
            assert rows[1].changes["manager_id"]["after"] == department.manager_id
            assert department.version == 2
        else:
            assert len(rows) == 1 and department.version == 1
    assert Department.objects.exclude(manager=None).count() == 3
    for team in teams:
        rows = _rows("team", team.pk)
        assert [row.action for row in rows] == ["create", "update"], team
        assert {row.actor_id for row in rows} == {admin.pk}
        assert rows[0].summary == str(team)
        assert rows[0].changes["customer_sharing"]["after"] == team.customer_sharing
        assert rows[1].changes["lead_id"]["after"] == team.lead_id
        assert team.version == 2

    # Made again: nothing new is made, nothing more is on record, no version goes up.
    versions = {
        "department": dict(Department.objects.values_list("pk", "version")),
        "team": dict(Team.objects.values_list("pk", "version")),
    }
    audited = AuditEvent.objects.count()
    ensure_company(customers=10)
    assert AuditEvent.objects.count() == audited
    assert (Department.objects.count(), Team.objects.count()) == (4, 7)
    assert dict(Department.objects.values_list("pk", "version")) == versions["department"]
    assert dict(Team.objects.values_list("pk", "version")) == versions["team"]


def test_a_department_already_there_is_given_its_manager_on_record():
    keys = Department.objects.create(name="Key Accounts")
    ensure_company(customers=10)
    keys.refresh_from_db()
    rows = _rows("department", keys.pk)
    assert [row.action for row in rows] == ["update"]
    assert rows[0].changes["manager_id"] == {"before": None, "after": keys.manager_id}
    assert rows[0].actor.username == "admin"
    assert keys.version == 2


def test_a_demo_administrator_no_longer_one_leaves_the_making_to_another():
    ensure_company(customers=10)
    admin = User.objects.get(username="admin")
    admin.role, admin.is_superuser = "analyst", False
    admin.save()
    other = User.objects.create(username="owner", role="admin", is_staff=True)
    team = Team.objects.exclude(lead=None).order_by("pk").first()
    Team.objects.filter(pk=team.pk).update(lead=None)
    ensure_company(customers=10)
    team.refresh_from_db()
    assert team.lead_id is not None
    assert _rows("team", team.pk)[-1].actor_id == other.pk


def test_no_active_administrator_left_is_said_plainly():
    from django.core.management.base import CommandError

    ensure_company(customers=10)
    User.objects.filter(username="admin").update(is_active=False)
    Team.objects.update(lead=None)
    with pytest.raises(CommandError, match="no active one is left"):
        ensure_company(customers=10)
