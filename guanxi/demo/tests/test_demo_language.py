"""The demo company's own words — its staff's names, its departments, teams and customers' tags
— are written in the demo's language: ``guanxi demo-data --language``, by default the site's
(``LANGUAGE_CODE``). They were English whatever the language, so a Chinese company trying the
demo in Chinese read its departments, teams and half its staff in English. Made again, in the
same language or another, nothing more is made or written."""

import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from guanxi.accounts.models import Department, Team, User
from guanxi.audit.models import AuditEvent
from guanxi.customers.models import Customer, Tag
from guanxi.demo.company import ensure_company

pytestmark = pytest.mark.django_db

LATIN = re.compile("[A-Za-z]")


@pytest.fixture(autouse=True)
def data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    return tmp_path


def _names() -> dict[str, list[str]]:
    return {
        "departments": sorted(Department.objects.values_list("name", flat=True)),
        "teams": sorted(Team.objects.values_list("name", flat=True)),
        "staff": sorted(User.objects.values_list("display_name", flat=True)),
    }


def _written() -> tuple:
    return (
        AuditEvent.objects.count(),
        _names(),
        sorted(Department.objects.values_list("version", flat=True)),
        sorted(Team.objects.values_list("version", flat=True)),
    )


def test_a_demo_in_simplified_chinese_names_everything_in_chinese():
    ensure_company(customers=10, language="zh-hans")
    names = _names()
    assert "华东销售部" in names["departments"] and "上海一组" in names["teams"]
    assert "周大伟" in names["staff"] and "系统管理员" in names["staff"]
    for kind, written in names.items():
        assert not [name for name in written if LATIN.search(name)], kind
    manager = User.objects.get(username="manager")
    assert manager.department.name == "华东销售部"
    assert User.objects.get(username="rep").team.name == "上海一组"


def test_a_demo_in_traditional_chinese_writes_traditional_characters():
    ensure_company(customers=10, language="zh-hant")
    names = _names()
    assert "華東銷售部" in names["departments"] and "客服中心" in names["teams"]
    assert "周大偉" in names["staff"] and "系統管理員" in names["staff"]


def test_the_language_is_the_sites_unless_said(settings):
    settings.LANGUAGE_CODE = "zh-cn"  # read as Simplified Chinese
    ensure_company(customers=10)
    assert "华东销售部" in _names()["departments"]


def test_a_demo_in_english_keeps_its_english_names():
    ensure_company(customers=10, language="en")
    names = _names()
    assert "East Sales" in names["departments"] and "Shanghai 1" in names["teams"]
    assert "David Zhou" in names["staff"] and "陈静" in names["staff"]


@pytest.mark.parametrize("again", ["zh-hans", "en", "zh-hant"])
def test_made_again_in_any_language_nothing_more_is_written(again):
    ensure_company(customers=10, language="zh-hans")
    before = _written()
    ensure_company(customers=10, language=again)
    assert _written() == before
    assert (Department.objects.count(), Team.objects.count()) == (4, 7)


def test_the_command_writes_the_tags_in_the_language_asked():
    out = StringIO()
    call_command(
        "demo_data",
        "--customers",
        "20",
        "--orders-per-customer",
        "0",
        "--tickets",
        "0",
        "--no-duplicate-index",
        "--language",
        "zh-hans",
        "--verbosity",
        "0",
        stdout=out,
    )
    tags = set(Tag.objects.values_list("name", flat=True))
    assert {"大客户", "订阅简报", "价格敏感", "重点客户", "VIP"} <= tags
    assert not {"key account", "newsletter", "price sensitive"} & tags
    assert "华东销售部" in _names()["departments"]


def test_the_command_refuses_a_language_it_does_not_write():
    with pytest.raises(CommandError):
        call_command("demo_data", "--customers", "0", "--language", "fr", stdout=StringIO())


def _load(language: str) -> None:
    call_command(
        "demo_data",
        "--customers",
        "20",
        "--orders-per-customer",
        "0",
        "--tickets",
        "0",
        "--no-duplicate-index",
        "--language",
        language,
        "--verbosity",
        "0",
        stdout=StringIO(),
    )


@pytest.mark.parametrize(("first", "again"), [("zh-hans", "zh-hant"), ("en", "zh-hans")])
def test_customers_loaded_again_in_another_language_keep_the_tags_there_are(first, again):
    """Customers loaded again in another language are given the tags the first load made,
    found under their names in its language, as the departments and teams are: they were given
    the same tags once more in the other language's words, each tag twice in the list."""
    _load(first)
    tags = set(Tag.objects.values_list("name", flat=True))
    first_ids = set(Customer.objects.values_list("pk", flat=True))
    _load(again)
    assert set(Tag.objects.values_list("name", flat=True)) == tags
    assert Customer.objects.exclude(pk__in=first_ids).filter(tags__isnull=False).exists()
