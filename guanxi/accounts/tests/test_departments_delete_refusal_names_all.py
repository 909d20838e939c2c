"""Several departments deleted at once, people or teams put in more than one of them since the
page deleting them looked: the refusal names every one of them, not only the first the deletion
came to, so the administrator knows all that is kept and why."""

import pytest
from django.utils import translation

from guanxi.accounts.models import Department, Team
from guanxi.accounts.services import DepartmentsJoinedMeanwhileError, departments_delete
from guanxi.audit.models import AuditEvent
from guanxi.core.testing.factories import UserFactory

pytestmark = pytest.mark.django_db


def _refusal(company, departments) -> str:
    with pytest.raises(DepartmentsJoinedMeanwhileError) as refused:
        departments_delete(actor=company.admin, department_ids=[d.pk for d in departments])
    assert set(Department.objects.filter(pk__in=[d.pk for d in departments])) == set(departments)
    assert not AuditEvent.objects.filter(object_type="department", action="delete").exists()
    return str(refused.value)


def test_the_refusal_names_every_department_joined(company):
    north = Department.objects.create(name="North Sales")
    empty = Department.objects.create(name="Harbour Office")
    south = Department.objects.create(name="South Sales")
    UserFactory(username="xiao", department=north)
    Team.objects.create(name="S1", department=south)

    assert _refusal(company, [north, empty, south]) == (
        "Nothing was deleted: people or teams were put in these departments since this page "
        "was opened: North Sales, South Sales."
    )


def test_one_department_joined_is_named_alone(company):
    north = Department.objects.create(name="North Sales")
    empty = Department.objects.create(name="Harbour Office")
    UserFactory(username="xiao", department=north)

    assert _refusal(company, [north, empty]) == (
        "Nothing was deleted: people or teams were put in North Sales since this page was opened."
    )


def test_the_refusal_is_translated(company):
    north = Department.objects.create(name="North Sales")
    south = Department.objects.create(name="South Sales")
    UserFactory(username="xiao", department=north)
    UserFactory(username="yang", department=south)

    with translation.override("zh-hans"):
        assert _refusal(company, [north, south]) == (
            "未删除任何内容：自此页面打开以来，已有人员或团队被加入以下部门："
            "North Sales、South Sales。"
        )
