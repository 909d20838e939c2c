"""The pages read in Chinese from end to end.

The catalogue test finds a marked message without a Chinese translation; it cannot find text
that was never marked, nor a template comment that leaks onto the page (Django's ``{# #}``
comment ends at the end of its line, so one written over two lines is printed). This test
signs in as every role with Chinese chosen, renders the pages the navigation leads to and the
administration's app pages, and fails on any English word left in what a user sees — the text,
and the titles, placeholders, labels and button values a screen reader or a tooltip shows —
once the names of the test's own people, customers and teams are taken out.
"""

import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from django.apps import apps
from django.contrib import admin
from django.urls import reverse
from django.utils import translation

from guanxi.accounts.models import Department, Team, User
from guanxi.customers.models import Customer
from guanxi.service import mail, services
from guanxi.service.models import SatisfactionSurvey, SlaPolicy, Ticket
from guanxi.service.selectors import tickets_for_user

pytestmark = pytest.mark.django_db

# Words that are the same in a Chinese interface: names of formats, units and the product.
KEPT_IN_LATIN = {"API", "CRM", "CSV", "CNY", "Excel", "xlsx", "ID", "SLA", "VIP", "Guanxi"}
KEPT_IN_LATIN |= {"UTF", "GBK", "MB"}
ATTRIBUTES = ("title", "placeholder", "aria-label", "alt")
# A command or a column name quoted in a sentence ("run guanxi dedup scan", "a column named
# external_id") is typed as it is, in any language.
COMMAND = re.compile(r"\bguanxi(?: [a-z][a-z_-]*)+|\b[a-z]+(?:_[a-z0-9]+)+\b")


class _VisibleText(HTMLParser):
    """Text a user meets on a page: what is shown, and what tooltips and screen readers say.

    Left out: scripts and styles, what is hidden from everyone (``aria-hidden``, a honeypot
    field for bots), and what is deliberately in English (``lang="en"``: the language switch)."""

    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.texts: list[str] = []
        self._skipping: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if self._skipping:
            if tag not in self.VOID:
                self._skipping.append(tag)
            return
        hidden = attrs.get("aria-hidden") == "true" or (attrs.get("lang") or "").startswith("en")
        # Commands and code (``guanxi dedup scan``) are typed as they are, in any language.
        if tag in ("script", "style", "template", "code", "kbd", "pre") or hidden:
            if tag not in self.VOID:
                self._skipping.append(tag)
            return
        self.texts += [attrs[name] for name in ATTRIBUTES if attrs.get(name)]
        if tag == "input" and attrs.get("type") in ("submit", "button") and attrs.get("value"):
            self.texts.append(attrs["value"])

    def handle_endtag(self, tag):
        if self._skipping and self._skipping[-1] == tag:
            self._skipping.pop()

    def handle_data(self, data):
        if not self._skipping and data.strip():
            self.texts.append(data.strip())


def _data_names() -> list[str]:
    """The test's own data as it appears on pages, longest first so that "East Sales / A" goes
    before "East Sales"."""
    names = set()
    for user in User.objects.all():
        names |= {user.label, user.username, user.email, user.get_full_name()}
    names |= {str(team) for team in Team.objects.select_related("department")}
    names |= set(Department.objects.values_list("name", flat=True))
    names |= set(Customer.objects.values_list("name", flat=True))
    # Service-level policies are named by whoever sets them up (the seeded ones in English).
    names |= set(SlaPolicy.objects.values_list("name", flat=True))
    return sorted((name for name in names if name), key=len, reverse=True)


def _english_left(html: str, names: list[str], not_ours: tuple[str, ...] = ()) -> list[str]:
    parser = _VisibleText()
    parser.feed(html)
    found = []
    for text in parser.texts:
        for name in [*names, *not_ours]:
            text = text.replace(name, "")
        text = COMMAND.sub("", text)
        words = [w for w in re.findall(r"[A-Za-z]{2,}", text) if w not in KEPT_IN_LATIN]
        if words or re.search(r"{#|#}|{%|%}|{{|}}", text):
            found.append(text)
    return found


def _pages(client, company, role: str) -> tuple[list[str], list[str]]:
    """The pages every role opens (its navigation, a customer, its own settings), and the
    forms it may or may not be allowed to open (those it may not are left out)."""
    user = getattr(company, role)
    customer = Customer.objects.visible_to(user, "view").order_by("pk").first()
    response = client.get(reverse("customers:list"))
    pages = [item["url"] for item in response.context["nav_items"]]
    pages += [
        reverse("customers:list"),
        reverse("customers:detail", args=[customer.pk]),
        reverse("customers:history", args=[customer.pk]),
        reverse("accounts:tokens"),
        reverse("accounts:password_change"),
        reverse("service:notifications"),
        reverse("service:reports"),
        reverse("analytics:follow_ups"),
    ]
    ticket = services.ticket_create(
        actor=company.agent,
        customer_id=company.rep_customer.pk,
        data={"type": "complaint", "subject": "货物破损"},
    )
    if tickets_for_user(user).filter(pk=ticket.pk).exists():
        pages.append(reverse("service:detail", args=[ticket.pk]))
    forms = [
        reverse("customers:create"),
        reverse("customers:edit", args=[customer.pk]),
        reverse("orders:create", args=[customer.pk]),
        reverse("service:new", args=[customer.pk]),
        reverse("knowledge:new"),
        reverse("imports:new"),
    ]
    return sorted(set(pages)), forms


@pytest.mark.parametrize("role", ["admin", "manager", "rep", "agent", "analyst"])
def test_every_page_of_the_navigation_reads_in_chinese(client, company, role):
    client.force_login(getattr(company, role))
    client.cookies["django_language"] = "zh-hans"
    names = _data_names()
    pages, forms = _pages(client, company, role)
    english = {}
    for page in pages + forms:
        response = client.get(page)
        if page in forms and response.status_code in (403, 404):
            continue
        assert response.status_code == 200, page
        left = _english_left(response.content.decode(), names)
        if left:
            english[page] = left
    assert not english, f"English left on the Chinese pages of {role}: {english}"


def test_the_administration_reads_in_chinese(client, company):
    """Its index and app pages name Guanxi's apps and models; Django translates the rest."""
    company.admin.is_staff = company.admin.is_superuser = True
    company.admin.save()
    client.force_login(company.admin)
    client.cookies["django_language"] = "zh-hans"
    labels = {model._meta.app_label for model in admin.site._registry}
    pages = [reverse("admin:index")] + [
        reverse("admin:app_list", args=[label])
        for label in sorted(labels)
        if apps.get_app_config(label).name.startswith("guanxi.")
    ]
    names = _data_names()
    english = {}
    for page in pages:
        response = client.get(page)
        assert response.status_code == 200, page
        left = _english_left(response.content.decode(), names)
        if left:
            english[page] = left
    assert not english, f"English left on the Chinese administration: {english}"


def test_the_pages_for_customers_and_visitors_read_in_chinese(client, company):
    """Signing in, the public request form (and its refusal), the status link and the survey a
    customer gets by email."""
    client.cookies["django_language"] = "zh-hans"
    request = {
        "name": "王先生",
        "email": "wang@example.cn",
        "type": "complaint",
        "subject": "退款",
        "description": "我要退款",
    }
    pages = {
        "sign in": client.get(reverse("accounts:login")),
        "form": client.get(reverse("service:public_request")),
        "refused form": client.post(reverse("service:public_request"), {"email": "no"}),
        "thanks": client.post(reverse("service:public_request"), request),
    }
    ticket = Ticket.objects.get()
    SatisfactionSurvey.objects.create(ticket=ticket)
    pages["status"] = client.get(urlsplit(mail.status_url(ticket.pk)).path)
    survey = urlsplit(mail.survey_url(ticket.pk)).path
    pages["survey"] = client.get(survey)
    pages["survey thanks"] = client.post(survey, {"score": "5", "comment": "很好"})
    names = ["王先生", "wang@example.cn", ticket.number]
    english = {
        name: _english_left(response.content.decode(), names)
        for name, response in pages.items()
        if _english_left(response.content.decode(), names)
    }
    assert [r.status_code for r in pages.values()] == [200, 200, 422, 200, 200, 200, 200]
    assert not english, f"English left on the Chinese pages for customers: {english}"


def test_the_checker_finds_english_and_a_leaked_template_comment():
    """The test above only means something if the checker sees what it looks for."""
    page = (
        "<p>客户</p><button title='Save'>保存</button>\n<p>{# a comment\n over two lines #}</p>"
        "<span aria-hidden='true'>Hidden</span><button lang='en'>English</button><p>CSV</p>"
    )
    assert _english_left(page, []) == ["Save", "{# a comment\n over two lines #}"]


def test_every_app_has_a_chinese_name():
    """The administration names each app by its verbose name, in its index, its breadcrumbs and
    the list of permissions; an app that has no admin page today may get one tomorrow."""
    with translation.override("zh-hans"):
        untranslated = [
            app.label
            for app in apps.get_app_configs()
            if app.name.startswith("guanxi.")
            and set(re.findall(r"[A-Za-z]+", str(app.verbose_name))) - KEPT_IN_LATIN
        ]
    assert untranslated == []
