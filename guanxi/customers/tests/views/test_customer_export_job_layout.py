"""A background export's page says which file it writes: one for re-import, or one for reading,
and that one's language, which is the requester's when they asked for it, whatever language
they read the page in later. Two exports of the same list, one of each, are told apart."""

import pytest
from django.conf import settings as django_settings
from django.test import override_settings

from guanxi.customers.models import CustomerExportJob

from .test_customer_export_background import QUEUED_ONLY

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _long_lists(settings, tmp_path):
    settings.DATA_DIR = tmp_path / "data"
    settings.GUANXI_EXPORT_BACKGROUND_ROWS = 1


def _subtitle(client, job: CustomerExportJob) -> str:
    html = client.get(f"/customers/exports/{job.pk}/").content.decode()
    start = html.index('<p class="subtitle">')
    return html[start : html.index("</p>", start)]


def test_the_page_says_what_the_file_is_for_and_a_readable_ones_language(client, company):
    client.force_login(company.rep)
    client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    with override_settings(TASKS=QUEUED_ONLY):
        client.post("/customers/export/", {"format": "xlsx"})
        client.post("/customers/export/", {"format": "xlsx", "layout": "readable"})
    importable, readable = CustomerExportJob.objects.order_by("pk")
    assert "用于重新导入" in _subtitle(client, importable)
    assert "便于阅读（简体中文）" in _subtitle(client, readable)
    # Read later in English: the workbook is still the Chinese one it was asked for.
    client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = "en"
    assert "For re-import" in _subtitle(client, importable)
    assert "For reading (Simplified Chinese)" in _subtitle(client, readable)
