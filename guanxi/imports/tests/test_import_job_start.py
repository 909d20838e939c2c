"""Starting a web import from its mapping page (``import_job_start``): only its uploader may,
since it runs as them; a draft is queued once, keeping the address of the request that started
it for the audit rows its background run writes; starting writes no audit row of its own."""

import pytest
from django.core.exceptions import PermissionDenied

from guanxi.audit.context import Origin, reset_origin, set_origin
from guanxi.audit.models import AuditEvent
from guanxi.imports.models import ImportJob
from guanxi.imports.services import import_job_create, import_job_start

pytestmark = pytest.mark.django_db


@pytest.fixture
def draft(company, tmp_path):
    path = tmp_path / "people.csv"
    path.write_text("name,phone\n张三,13812340001\n", encoding="utf-8")
    return import_job_create(
        actor=company.rep, path=path, filename=path.name, kind="customers", via="web"
    )


def test_only_its_uploader_starts_an_import(company, draft):
    # An administrator sees the mapping page, but the rows would be written in the rep's name.
    with pytest.raises(PermissionDenied):
        import_job_start(actor=company.admin, job=draft, dry_run=False)
    draft.refresh_from_db()
    assert draft.status == ImportJob.Status.DRAFT


def test_a_draft_is_queued_once_with_the_address_that_started_it(company, draft):
    token = set_origin(Origin(via="web", remote_addr="198.51.100.7"))
    try:
        assert import_job_start(actor=company.rep, job=draft, dry_run=True)
        # A second click, or another tab: the draft is gone, nothing is queued again.
        assert not import_job_start(actor=company.rep, job=draft, dry_run=False)
    finally:
        reset_origin(token)
    draft.refresh_from_db()
    assert (draft.status, draft.dry_run, draft.client_address) == (
        ImportJob.Status.QUEUED,
        True,
        "198.51.100.7",
    )
    # As a stopped import queued again: the run audits the rows it writes and its outcome.
    assert not AuditEvent.objects.filter(object_type="import").exists()
