"""``GUANXI_LANGUAGE_CODE`` sets the site default language, in which Guanxi speaks wherever no
one chose another: the sign-in page, mail to customers of no language of their own, and the
command line (``guanxi import`` reports in it)."""

import os
import subprocess
import sys

import pytest

SCRIPT = (
    "import django; django.setup()\n"
    "from django.conf import settings\n"
    "from django.utils.translation import gettext\n"
    "print(settings.LANGUAGE_CODE, gettext('Customer'))\n"
)


@pytest.mark.parametrize(
    ("given", "spoken"),
    [
        ("zh-cn", "zh-hans 客户"),
        ("zh-hant", "zh-hant 客戶"),
        ("", "en Customer"),
        (None, "en Customer"),
    ],
)
def test_the_environment_names_the_site_language(given, spoken):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "guanxi.settings.test"}
    env.pop("GUANXI_LANGUAGE_CODE", None)
    if given is not None:
        env["GUANXI_LANGUAGE_CODE"] = given
    ran = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=120
    )
    assert ran.returncode == 0, ran.stderr[-2000:]
    assert ran.stdout.strip() == spoken
