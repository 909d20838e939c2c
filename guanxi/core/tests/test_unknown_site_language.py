"""A site default (``LANGUAGE_CODE``) that names no language of the site is left as written, so
that Django's own checks still refuse it by name when the site starts, rather than the site
quietly speaking its first language."""

import pytest
from django.core import checks


@pytest.mark.parametrize(
    ("written", "refused_by"),
    [("fr", "translation.E004"), ("ja", "translation.E004"), ("zh_CN", "translation.E001")],
)
def test_a_default_naming_no_language_of_the_site_is_refused_by_the_checks(
    settings, written, refused_by
):
    settings.LANGUAGE_CODE = written
    assert written == settings.LANGUAGE_CODE
    assert refused_by in [message.id for message in checks.run_checks(tags=["translation"])]


def test_a_regional_default_is_still_read_as_the_language_it_names(settings):
    settings.LANGUAGE_CODE = "zh-cn"
    assert settings.LANGUAGE_CODE == "zh-hans"
    assert not checks.run_checks(tags=["translation"])
