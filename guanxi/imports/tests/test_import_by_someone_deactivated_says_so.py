"""An import whose starter was deactivated before it ran (queued for the background worker, or
resumed afterwards) stops before it writes anything, and its page says why in a sentence of
the job's language, not as the name of an exception with a message."""

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import translation

from guanxi.accounts.roles import Role
from guanxi.accounts.services import POOL, user_deactivate
from guanxi.core.testing.factories import UserFactory
from guanxi.customers.models import Customer
from guanxi.customers.services import customer_create
from guanxi.imports.models import ImportJob
from guanxi.imports.services import import_job_create, import_job_run
from guanxi.interactions.models import Interaction

pytestmark = pytest.mark.django_db

FILES = {
    "customers": "external_id,name,phone\nN1,周杰,13912345678\n",
    "interactions": "customer_external_id,subject,occurred_at\nK1,来电询价,2026-03-02 10:30\n",
}
STOPPED = {
    "en": "manager_east_2, who started this import, has been deactivated: the import stopped.",
    "zh-hans": "发起此导入的 manager_east_2 已停用：导入已停止。",
}


@pytest.mark.parametrize("language", ["en", "zh-hans"])
@pytest.mark.parametrize("kind", ["customers", "interactions"])
def test_an_import_by_someone_deactivated_since_stops_saying_so(company, tmp_path, kind, language):
    leaver = UserFactory(username="manager_east_2", role=Role.MANAGER, department=company.east)
    customer_create(
        actor=company.admin, data={"name": "西湖茶庄", "owner_id": leaver.pk, "external_id": "K1"}
    )
    path = tmp_path / f"{kind}.csv"
    path.write_text(FILES[kind], encoding="utf-8")
    with translation.override(language):
        job = import_job_create(actor=leaver, path=path, filename=path.name, kind=kind)
    user_deactivate(actor=company.admin, user_id=leaver.pk, hand_over_to=POOL)

    with pytest.raises(PermissionDenied):
        import_job_run(job=ImportJob.objects.get(pk=job.pk))

    job.refresh_from_db()
    assert job.status == ImportJob.Status.FAILED
    assert job.message == STOPPED[language]
    assert not Customer.objects.filter(external_id="N1").exists()
    assert not Interaction.objects.exists()


@pytest.mark.parametrize("via", ["cli", "web"])
def test_the_page_of_an_import_its_starter_left_offers_no_resume_in_their_name(
    client, company, tmp_path, via
):
    # Only whoever started an import carries it on (it runs as them), from the page or with
    # --resume --user; both refuse someone deactivated, so whoever reads the page is told what
    # is left to do instead.
    leaver = UserFactory(username="manager_east_2", role=Role.MANAGER, department=company.east)
    path = tmp_path / "customers.csv"
    path.write_text(FILES["customers"], encoding="utf-8")
    job = import_job_create(
        actor=leaver,
        path=path,
        filename=path.name,
        kind="customers",
        via=via,
        keep_copy=via == "web",
    )
    user_deactivate(actor=company.admin, user_id=leaver.pk, hand_over_to=POOL)
    with pytest.raises(PermissionDenied):
        import_job_run(job=ImportJob.objects.get(pk=job.pk))

    client.force_login(company.admin)
    page = client.get(f"/imports/{job.pk}/").content.decode()

    assert STOPPED["en"] in page
    assert "--resume" not in page and "who started it, can carry it on" not in page
    assert f"{leaver.label}, who started it, has been deactivated: nobody can carry it on." in page
