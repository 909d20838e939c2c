"""A background export through the API says which file it writes and in which language, as its
page does: asked for in Chinese and read in English, it is still the Chinese workbook for reading
that was asked for."""

import pytest
from django.test import override_settings

from guanxi.customers.models import CustomerExportJob
from guanxi.customers.tests.views.test_customer_export_background import (  # noqa: F401
    QUEUED_ONLY,
    _data_dir,  # a data directory of the test's own, and every list "long" (autouse)
)

pytestmark = pytest.mark.django_db


def test_a_background_export_says_its_layout_and_language(api_as):
    rep = api_as("rep")
    with override_settings(TASKS=QUEUED_ONLY):
        importable = rep.get("/customers/export", {"format": "xlsx"}, {"Accept-Language": "en"})
        readable = rep.get(
            "/customers/export",
            {"format": "xlsx", "layout": "readable"},
            {"Accept-Language": "zh-hans"},
        )
    assert importable.status_code == readable.status_code == 202
    assert (importable.json()["layout"], importable.json()["language"]) == ("importable", "en")
    assert (readable.json()["layout"], readable.json()["language"]) == ("readable", "zh-hans")
    job = CustomerExportJob.objects.get(layout="readable")
    later = rep.get(f"/customers/exports/{job.pk}", headers={"Accept-Language": "en"}).json()
    assert (later["layout"], later["language"]) == ("readable", "zh-hans")
