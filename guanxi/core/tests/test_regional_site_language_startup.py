"""A site whose settings name a regional default language (``LANGUAGE_CODE = "zh-cn"``) starts:
the code is read as the site language it names before any model is defined, since Django's
own models translate as they are defined, in the default language, and there is no zh_CN
catalogue to translate in."""

import os
import subprocess
import sys

import pytest


@pytest.mark.parametrize(("regional", "named"), [("zh-cn", "zh-hans"), ("zh-tw", "zh-hant")])
def test_the_site_starts_with_a_regional_default_and_speaks_its_language(tmp_path, regional, named):
    (tmp_path / "regional_settings.py").write_text(
        f'from guanxi.settings.test import *  # noqa: F403\nLANGUAGE_CODE = "{regional}"\n'
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "regional_settings",
        "PYTHONPATH": os.pathsep.join([str(tmp_path), *sys.path]),
    }
    script = (
        "import django; django.setup()\n"
        "from django.conf import settings; from django.core import checks\n"
        "from django.utils.translation import gettext\n"
        "print(settings.LANGUAGE_CODE, gettext('Customer'), "
        "[m.id for m in checks.run_checks(tags=['translation'])])\n"
    )
    ran = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    assert ran.returncode == 0, ran.stderr[-2000:]
    code, customer, refused = ran.stdout.split()
    assert code == named
    assert customer == {"zh-hans": "客户", "zh-hant": "客戶"}[named]
    assert refused == "[]"
