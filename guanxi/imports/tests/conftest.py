"""Fixtures the import tests share."""

import pytest
from django.conf import settings as django_settings
from django.utils import translation


@pytest.fixture
def uploads(settings, tmp_path):
    """Uploaded files kept in a data directory of the test's own."""
    settings.DATA_DIR = tmp_path / "data"
    return settings.DATA_DIR / "imports"


@pytest.fixture
def back_to_english():
    # The language a request activates stays active in the thread after it.
    yield
    translation.activate(django_settings.LANGUAGE_CODE)
