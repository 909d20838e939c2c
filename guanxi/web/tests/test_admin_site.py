"""A query parameter holding a NUL character, which no stored value holds and PostgreSQL
refuses in a query, is left out of any admin page's address with a message saying so, instead
of a server error from filtering a list on it; the other parameters are kept."""

import pytest
from django.contrib import admin
from django.urls import reverse

from guanxi.core.testing.admin_forms import signed_in_administrators
from guanxi.web.admin_site import GuanxiAdminSite

pytestmark = pytest.mark.django_db

LEFT_OUT = "Left out of the address, since no stored value holds a NUL character"

# The lists' filters that were server errors on PostgreSQL, one of Django's own choices among
# them, and one of an installed app's list.
FILTERS = [
    ("accounts_user", "role__exact"),
    ("accounts_team", "customer_sharing__exact"),
    ("audit_auditevent", "action__exact"),
    ("audit_auditevent", "object_type"),
    ("analytics_churnfollowup", "reason"),
    ("django_tasks_database_dbtaskresult", "status__exact"),
]


@pytest.mark.parametrize(("changelist", "parameter"), FILTERS)
@pytest.mark.parametrize("value", ["%00", "a%00b"])
def test_a_list_filtered_on_a_nul_character_is_shown_without_that_filter(
    changelist, parameter, value
):
    (ann,) = signed_in_administrators("ann")
    url = reverse(f"admin:{changelist}_changelist")
    response = ann.get(f"{url}?o=1&{parameter}={value}")
    assert response.status_code == 302
    assert response["Location"] == f"{url}?o=1"
    page = ann.get(response["Location"])
    assert page.status_code == 200
    shown = [str(message) for message in page.context["messages"]]
    assert shown == [f"{LEFT_OUT}: {parameter}."]


def test_every_page_of_the_admin_site_reads_its_query_string_first(company):
    (ann,) = signed_in_administrators("ann")
    # A parameter's name is checked as its value is; the change page of a row is a page too.
    response = ann.get(reverse("admin:accounts_user_change", args=[company.rep.pk]) + "?a%00=1")
    assert response.status_code == 302
    assert "?" not in response["Location"]
    assert isinstance(admin.site, GuanxiAdminSite)


def test_the_message_is_in_chinese_for_a_chinese_reader():
    (ann,) = signed_in_administrators("ann")
    url = reverse("admin:audit_auditevent_changelist")
    response = ann.get(f"{url}?via=%00", HTTP_ACCEPT_LANGUAGE="zh-hans")
    page = ann.get(response["Location"], HTTP_ACCEPT_LANGUAGE="zh-hans")
    [shown] = [str(message) for message in page.context["messages"]]
    assert shown == "地址中已略去以下参数，因为没有任何已保存的值含有 NUL 字符：via。"
