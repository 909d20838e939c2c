"""Keeping the columns chosen on a draft's mapping page (``import_job_map``): only its uploader
may, as only they may start it; only the fields the page offers are stored; and once the import
has started, a form left open changes nothing."""

import pytest
from django.core.exceptions import PermissionDenied

from guanxi.imports.models import ImportJob
from guanxi.imports.services import import_job_create, import_job_map, import_job_start

pytestmark = pytest.mark.django_db


@pytest.fixture
def draft(company, tmp_path):
    path = tmp_path / "people.csv"
    path.write_text("name,phone,notes\n张三,13812340001,老客户\n", encoding="utf-8")
    return import_job_create(
        actor=company.rep, path=path, filename=path.name, kind="customers", via="web"
    )


def test_only_its_uploader_maps_an_import(company, draft):
    # An administrator sees the mapping page, but the import would run as the rep.
    with pytest.raises(PermissionDenied):
        import_job_map(actor=company.admin, job=draft, mapping={"name": "notes"}, dedup="off")
    draft.refresh_from_db()
    assert (draft.mapping, draft.dedup) == ({}, ImportJob.Dedup.AUTO)


def test_only_the_fields_the_page_offers_are_kept(company, draft):
    # A NUL character in a stored value is a server error on PostgreSQL; a field no list
    # holds would only fail the run.
    chosen = {"name": "name", "phone": "name\x00", "notes": "password"}
    assert import_job_map(actor=company.rep, job=draft, mapping=chosen, dedup="review")
    assert import_job_map(actor=company.rep, job=draft, mapping=chosen, dedup="sometimes")
    draft.refresh_from_db()
    assert (draft.mapping, draft.dedup) == ({"name": "name"}, ImportJob.Dedup.REVIEW)


def test_a_form_left_open_does_not_change_a_started_import(company, draft):
    assert import_job_map(actor=company.rep, job=draft, mapping={"name": "name"}, dedup="off")
    assert import_job_start(actor=company.rep, job=draft, dry_run=False)
    assert not import_job_map(
        actor=company.rep, job=draft, mapping={"name": "notes", "notes": "name"}, dedup="auto"
    )
    draft.refresh_from_db()
    assert (draft.status, draft.mapping, draft.dedup) == (
        ImportJob.Status.QUEUED,
        {"name": "name"},
        ImportJob.Dedup.OFF,
    )
