"""Starting a web import from its mapping page (``import_job_start``): only its uploader may,
since it runs as them; only an upload, not a command-line import; a draft is queued once, with
the columns its page checked, keeping the address of the request that started it for the audit
rows its background run writes; starting writes no audit row of its own."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import translation

from guanxi.audit.context import Origin, reset_origin, set_origin
from guanxi.audit.models import AuditEvent
from guanxi.customers.models import CustomFieldDefinition
from guanxi.imports import views
from guanxi.imports.models import ImportJob
from guanxi.imports.services import import_job_create, import_job_map, import_job_start

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


@pytest.fixture
def command_line_draft(company, tmp_path):
    """An import the command has made and not yet begun (or was stopped before beginning)."""
    path = tmp_path / "people.csv"
    path.write_text("name,phone\n张三,13812340001\n", encoding="utf-8")
    return import_job_create(
        actor=company.rep, path=path, filename=path.name, kind="customers", via="cli"
    )


def test_a_command_line_import_is_neither_mapped_nor_started_from_the_web(
    company, command_line_draft
):
    # The command runs it from the operator's own file, in the operator's terminal; started
    # from the web too, the worker would run it at the same time, with a mapping the page set.
    job = command_line_draft
    with translation.override("zh-hans"):
        with pytest.raises(ValidationError) as mapped:
            import_job_map(actor=company.rep, job=job, mapping={"name": "phone"}, dedup="off")
        with pytest.raises(ValidationError) as started:
            import_job_start(actor=company.rep, job=job, dry_run=False)
    for refusal in (mapped, started):
        assert list(refusal.value.message_dict) == ["file"]
        assert "命令行" in refusal.value.message_dict["file"][0]
    job.refresh_from_db()
    assert (job.status, job.mapping, job.dedup) == (
        ImportJob.Status.DRAFT,
        {},
        ImportJob.Dedup.AUTO,
    )


def test_the_import_starts_with_the_columns_its_page_checked_not_another_tabs(company, tmp_path):
    path = tmp_path / "people.csv"
    path.write_text("name,phone,notes\n张三,13812340001,老客户\n", encoding="utf-8")
    here = import_job_create(
        actor=company.rep, path=path, filename=path.name, kind="customers", via="web"
    )
    checked = {"name": "name", "phone": "phone", "notes": "notes"}
    assert import_job_map(actor=company.rep, job=here, mapping=checked, dedup="off")
    # Another tab keeps other columns between this page's check and its start.
    elsewhere = ImportJob.objects.get(pk=here.pk)
    other = {"name": "notes", "phone": None, "notes": "name"}
    assert import_job_map(actor=company.rep, job=elsewhere, mapping=other, dedup="review")

    assert import_job_start(actor=company.rep, job=here, dry_run=False)

    here.refresh_from_db()
    assert (here.status, here.mapping, here.dedup) == (
        ImportJob.Status.QUEUED,
        checked,
        ImportJob.Dedup.OFF,
    )


def test_columns_that_do_not_make_an_import_are_not_started(company, draft):
    # Nothing is the name: the run would reject every row.
    draft.mapping = {"name": None, "phone": "phone"}
    with pytest.raises(ValidationError) as refusal:
        import_job_start(actor=company.rep, job=draft, dry_run=False)
    assert list(refusal.value.message_dict) == ["mapping"]
    draft.refresh_from_db()
    assert draft.status == ImportJob.Status.DRAFT


def test_the_mapping_page_of_a_command_line_import_sends_to_its_page(
    client, company, command_line_draft
):
    client.force_login(company.rep)
    mapping_page = f"/imports/{command_line_draft.pk}/mapping/"
    for response in (
        client.get(mapping_page),
        client.post(mapping_page, {"map_0": "name", "map_1": "phone", "action": "start"}),
    ):
        assert response.status_code == 302
        assert response["Location"] == f"/imports/{command_line_draft.pk}/"
    command_line_draft.refresh_from_db()
    assert (command_line_draft.status, command_line_draft.mapping) == (
        ImportJob.Status.DRAFT,
        {},
    )


def test_columns_that_stop_making_an_import_before_the_start_are_named_on_the_page(
    client, company, tmp_path, monkeypatch
):
    budget = CustomFieldDefinition.objects.create(key="budget", label="预算", field_type="text")
    path = tmp_path / "people.csv"
    path.write_text("name,budget\n张三,100\n", encoding="utf-8")
    job = import_job_create(
        actor=company.rep, path=path, filename=path.name, kind="customers", via="web"
    )
    start = views.import_job_start

    def deactivated_first(**kwargs):
        # An administrator retires the field after the page checked the columns.
        CustomFieldDefinition.objects.filter(pk=budget.pk).update(is_active=False)
        return start(**kwargs)

    monkeypatch.setattr(views, "import_job_start", deactivated_first)
    client.force_login(company.rep)

    response = client.post(
        f"/imports/{job.pk}/mapping/", {"map_0": "name", "map_1": "budget", "action": "start"}
    )

    assert response.status_code == 422
    assert "budget" in response.content.decode()
    job.refresh_from_db()
    assert job.status == ImportJob.Status.DRAFT
