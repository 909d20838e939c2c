"""The demo company made (``guanxi demo-data``) while an administrator deletes one of its
departments, empty until then. Nothing locked the departments the demo found by name: it went
on putting its teams and people in one being deleted, and stopped at the end with nothing made,
on a department row gone (setting its manager) or a key to it failing as it committed (an
IntegrityError). The demo now locks its departments (after its users and teams, as every page
does) before it puts anyone in them: it waits for a deletion, finds the department gone and
makes it again; a deletion coming second waits for the demo and is refused, the department
kept. Real concurrency needs PostgreSQL (SQLite has one writer at a time)."""

from guanxi.accounts import services as accounts_services
from guanxi.accounts.models import Department, Team, User
from guanxi.accounts.services import DepartmentsJoinedMeanwhileError, departments_delete
from guanxi.core.testing.factories import UserFactory
from guanxi.core.testing.merging import CONCURRENT
from guanxi.core.testing.threads import (
    hold_after_first,
    hold_before,
    second_waits_for_first,
)
from guanxi.demo import company as demo_company
from guanxi.demo.company import ensure_company

pytestmark = CONCURRENT


def _made(*, manager: str) -> None:
    """Key Accounts with the demo's team and manager in it, and ``manager`` managing it."""
    department = Department.objects.get(name="Key Accounts")
    assert Team.objects.filter(department=department, name="Strategic Accounts").exists()
    assert User.objects.filter(username="manager3", department=department).exists()
    assert department.manager.username == manager


def test_a_department_deleted_as_the_demo_is_made_is_made_again(tmp_path, settings, monkeypatch):
    settings.DATA_DIR = tmp_path
    admin = UserFactory(username="ann", role="admin")
    keys = Department.objects.create(name="Key Accounts")
    # The deletion is held once it has deleted the department, before it commits.
    hold = hold_after_first(monkeypatch, accounts_services, "settings_delete", thread="deletion")
    results = second_waits_for_first(
        lambda: departments_delete(actor=admin, department_ids=[keys.pk]),
        lambda: ensure_company(customers=10),
        hold,
        names=("deletion", "demo"),
        or_finishes=True,
    )
    assert results["deletion"] == ("ok", 1), results["deletion"][-1]
    assert results["demo"][0] == "ok", results["demo"][-1]
    assert not Department.objects.filter(pk=keys.pk).exists()
    _made(manager="manager3")


def test_a_deletion_as_the_demo_is_made_waits_and_is_refused(tmp_path, settings, monkeypatch):
    settings.DATA_DIR = tmp_path
    admin = UserFactory(username="ann", role="admin")
    # Its manager chosen already: the demo leaves it, and writes nothing to the department.
    kim = UserFactory(username="kim", role="manager")
    keys = Department.objects.create(name="Key Accounts", manager=kim)
    # The demo is held once it has made its users, before it commits.
    hold = hold_before(monkeypatch, demo_company, "_service_skills", thread="demo")
    results = second_waits_for_first(
        lambda: ensure_company(customers=10),
        lambda: departments_delete(actor=admin, department_ids=[keys.pk]),
        hold,
        names=("demo", "deletion"),
        or_finishes=True,
    )
    assert results["demo"][0] == "ok", results["demo"][-1]
    assert results["deletion"][0] == "error", results["deletion"]
    assert isinstance(results["deletion"][1], DepartmentsJoinedMeanwhileError)
    assert Department.objects.get(name="Key Accounts").pk == keys.pk
    _made(manager="kim")
